import {spawnSync} from 'node:child_process';
import {describe, expect, it} from 'vitest';

describe('klptop --once into a pipe that closes early', () => {
	it('ends quietly with status 0 when the reader stops reading (`| head`)', () => {
		// 20,000 emulated threads, 1% blocking: a JSON document far larger than a pipe's buffer, so
		// the write is still going when `head` has taken its line and gone.
		const run = spawnSync(
			'bash',
			[
				'-c',
				'node dist/cli.js --emulate many --threads 20000 --once --json | head -c 20 >/dev/null; echo "status=${PIPESTATUS[0]}"',
			],
			{encoding: 'utf8', timeout: 60_000},
		);
		expect(run.stdout.trim()).toBe('status=0');
		expect(run.stderr).toBe('');
	});
});
