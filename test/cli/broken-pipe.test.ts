import {spawnSync} from 'node:child_process';
import {EventEmitter} from 'node:events';
import {afterEach, describe, expect, it} from 'vitest';
import {quietOnBrokenPipe} from '../../source/cli/broken-pipe.js';

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

describe('a write error on the output', () => {
	/** A stream whose every write fails the way a terminal that went away fails (EIO), on the next tick. */
	function deadTerminal() {
		const stream = new EventEmitter() as EventEmitter & {writes: number; write(text: string): boolean};
		stream.writes = 0;
		stream.write = () => {
			stream.writes++;
			process.nextTick(() => stream.emit('error', Object.assign(new Error('write EIO'), {code: 'EIO'})));
			return false;
		};
		return stream;
	}

	const exitCode = process.exitCode;
	afterEach(() => {
		process.exitCode = exitCode;
	});

	it('never writes to a stream from its own error handler (a gone terminal used to spin forever)', async () => {
		const stdout = deadTerminal();
		const stderr = deadTerminal();
		quietOnBrokenPipe([stdout, stderr], stderr);
		stdout.write('frame');
		stderr.write('warning');
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect([stdout.writes, stderr.writes]).toEqual([1, 1]);
		expect(process.exitCode).toBe(1);
	});

	it('says any other write error once, on stderr', async () => {
		const stdout = new EventEmitter();
		const said: string[] = [];
		quietOnBrokenPipe([stdout], {write: (text: string) => said.push(text) > 0});
		for (let i = 0; i < 3; i++)
			stdout.emit('error', Object.assign(new Error('write ENOSPC'), {code: 'ENOSPC'}));
		expect(said).toEqual(['klptop: cannot write the output: write ENOSPC\n']);
		expect(process.exitCode).toBe(1);
	});
});
