// The built CLI replaying a recording in a real terminal (tmux), the way the operator does it the
// morning after: record (here: the emulated demo stall, in virtual time), open it with --replay, step
// to the kernel's fake-signal round, play to the end, quit; the terminal comes back intact.
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {tempDir} from '../record/helpers.js';
import {Tmux} from './tmux.js';

const sessions: Tmux[] = [];
afterEach(() => {
	for (const tmux of sessions.splice(0)) tmux.kill();
});

describe('klptop --replay in tmux', () => {
	it('opens paused at the transition, jumps, plays to the end and quits cleanly', async () => {
		const file = path.join(tempDir(), 'demo.rec');
		const recorded = spawnSync(
			process.execPath,
			['dist/cli.js', 'record', '--emulate', 'demo', '-o', file, '-n', '40'],
			{
				encoding: 'utf8',
			},
		);
		expect(recorded.status, recorded.stderr).toBe(0);
		const tmux = new Tmux('replay');
		sessions.push(tmux);
		tmux.start(120, 36);
		tmux.type(`node dist/cli.js --replay ${file} --ascii; echo "EXIT=$?"`);
		let screen = await tmux.waitForText('REPLAY paused');
		expect(tmux.alternateOn()).toBe(true);
		expect(screen).toContain('(1/40)');
		expect(screen).toContain('host emulator:demo');
		expect(screen).toContain('read-only: a recording (replay)');
		// --ascii: the sparkline in ASCII levels.
		expect(screen).toMatch(/ pending +[_.\-~=+*#]+ +3->3 /);

		tmux.keys(']');
		screen = await tmux.waitForText('next event');
		expect(screen).toMatch(/ marks +S/);
		tmux.keys('f', 'f', 'f', 'f', 'Z');
		screen = await tmux.waitForText('(40/40)', 20_000);
		await tmux.waitForText('REPLAY paused');
		expect(screen).toMatch(/ marks +S +S/);
		tmux.keys('q');
		screen = await tmux.waitForText('EXIT=0');
		expect(tmux.alternateOn()).toBe(false);
	}, 60_000);
});
