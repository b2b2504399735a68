import {spawnSync} from 'node:child_process';
import {describe, expect, it} from 'vitest';

/** Run `command` in bash with klptop's stdout piped into `reader`; the writer's status and stderr. */
function pipeInto(klptopArgs: string, reader: string): {status: string; stderr: string} {
	const run = spawnSync(
		'bash',
		['-c', `node dist/cli.js ${klptopArgs} | ${reader} >/dev/null; echo "status=\${PIPESTATUS[0]}"`],
		{encoding: 'utf8', timeout: 60_000},
	);
	return {status: run.stdout.trim(), stderr: run.stderr};
}

describe('klptop into a pipe that closes early', () => {
	it('ends quietly with status 0 when the reader stops reading (`| head`)', () => {
		// 20,000 emulated threads, 1% blocking: a JSON document far larger than a pipe's buffer, so
		// the write is still going when `head` has taken its line and gone.
		expect(pipeInto('--emulate many --threads 20000 --once --json', 'head -c 20')).toEqual({
			status: 'status=0',
			stderr: '',
		});
	});

	// The EPIPE arrives after the last write has returned (or not, when the reader is quicker): it
	// was intermittent (9 runs of 10), hence a few runs of each.
	it.each([
		['-b -n 3 -d 1 --emulate demo', 'head -60'],
		['emulate --list', 'head -2'],
		['-b -n 40 -d 1 --emulate demo', 'head -1'],
	])('`klptop %s | %s` ends quietly with status 0, every time', (args, reader) => {
		for (let run = 0; run < 4; run++) {
			expect(pipeInto(args, reader)).toEqual({status: 'status=0', stderr: ''});
		}
	});
});
