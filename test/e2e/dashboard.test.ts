// The built CLI in a real terminal (tmux): what a newcomer does with the README command. Start on
// the emulator's stuck transition, find the blocker, sort, filter, open its detail, read the help,
// resize the window (down to "too small" and back), watch the kernel's fake signal free it, quit;
// then check the exit code and that the shell's screen, echo and line editing are back. Also every
// other way out: SIGTERM, SIGHUP (a dropped ssh session) and an uncaught error.
import {execFileSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {sleep, Tmux} from './tmux.js';

const sessions: Tmux[] = [];

function terminal(name: string, width = 120, height = 40): Tmux {
	const tmux = new Tmux(name);
	sessions.push(tmux);
	tmux.start(width, height);
	return tmux;
}

afterEach(() => {
	for (const tmux of sessions.splice(0)) tmux.kill();
});

// The e2e runs what users run: the compiled CLI, built once for the whole run by test/global-setup.ts.

const command = 'node dist/cli.js --emulate stuck-interruptible; echo "EXIT=$?"';

/** The shell is back: normal screen, our command line still there, the exit code printed. */
async function expectShellBack(tmux: Tmux, code: number): Promise<void> {
	const screen = await tmux.waitForText(`EXIT=${code}`);
	expect(tmux.alternateOn()).toBe(false);
	expect(screen).toContain('$ node dist/cli.js --emulate stuck-interruptible');
	// Echo and canonical mode are back: what we type shows up, and Enter runs it.
	tmux.type('echo "terminal-ok-$((6*7))"');
	await tmux.waitForText('terminal-ok-42');
	expect(tmux.screen()).toContain('echo "terminal-ok-$((6*7))"');
}

function widest(lines: readonly string[]): number {
	return Math.max(...lines.map((line) => [...line].length));
}

describe('klptop --emulate stuck-interruptible in tmux', () => {
	it('shows the stuck transition, finds and explains the blocker, survives resizes, quits cleanly', async () => {
		const tmux = terminal('main');
		tmux.type(command);
		let screen = await tmux.waitForText(/klp_sleeper_wait \[klp_sleeper\] +cat/);
		expect(tmux.alternateOn()).toBe(true);
		expect(screen).toContain('emulator stuck-interruptible');
		expect(screen).toMatch(/▶ patching klp_sleeper_patch +\d+s +1\/\d+ pending/);
		expect(screen).toMatch(/fake signal in \d+s/);

		// Pause so the kernel's fake signal (15 s in) does not free the sleeper while we look at it.
		tmux.keys('Z');
		await tmux.waitForText('PAUSED');

		// Sort: one column to the right of STUCK is CLASS.
		tmux.keys('>');
		await tmux.waitForText('CLASS▼');

		// Filter: a match, then none, then cleared.
		tmux.literal('\\');
		tmux.literal('cat');
		tmux.keys('Enter');
		await tmux.waitForText("filter 'cat'");
		expect(tmux.screen()).toMatch(/klp_sleeper_wait \[klp_sleeper\] +cat/);
		tmux.literal('\\');
		tmux.keys('BSpace', 'BSpace', 'BSpace');
		tmux.literal('zzz');
		tmux.keys('Enter');
		await tmux.waitForText("no row matches the filter 'zzz'");
		tmux.keys('Escape');
		await tmux.waitFor(
			(s) => !s.includes('zzz') && /klp_sleeper_wait \[klp_sleeper\] +cat/.test(s),
			'filter cleared',
		);

		// Detail of the blocker: why it is stuck, the stack with the patched frame marked.
		tmux.keys('Enter');
		screen = await tmux.waitForText('Kernel stack');
		expect(screen).toMatch(/── Thread \d+ /);
		expect(screen).toContain('Why it is stuck, what can help');
		expect(screen).toContain('interruptible sleep');
		expect(screen).toMatch(
			/▶ #0 +\[<0>\] klp_sleeper_wait\+0x[0-9a-f]+\/0x[0-9a-f]+ \[klp_sleeper\] +<- patched function/,
		);
		tmux.keys('Escape');
		await tmux.waitForText('FUNCTION [object]');

		// Help lists the keys.
		tmux.keys('h');
		screen = await tmux.waitForText('Help: every key');
		expect(screen).toContain('search: jump to the next row');
		tmux.keys('Escape');
		await tmux.waitForText('FUNCTION [object]');

		// Resize: smaller, usable at 80x24, every line within the width, the footer on the last row.
		// Wait for the 80-column layout itself (short class word, no [object]): right after the resize
		// tmux shows the old frame reflowed, which must not pass for ours.
		tmux.resize(80, 24);
		await tmux.waitFor(
			(s) => /0->1 +\d+s intr +klp_sleeper_wait +cat/.test(s) && s.split('\n')[23]?.includes('Quit') === true,
			'80x24 frame',
		);
		let lines = tmux.lines();
		expect(widest(lines)).toBeLessThanOrEqual(80);
		expect(lines.filter((line) => line.startsWith('klptop')).length).toBe(1);
		expect(lines[0]).toContain('emulator stuck-interruptible');
		expect(lines.join('\n')).toMatch(/klp_sleeper_wait +cat/);
		// Too small, then back.
		tmux.resize(50, 12);
		await tmux.waitForText('terminal too small: need 60x15');
		tmux.resize(120, 40);
		await tmux.waitFor(
			(s) =>
				s.split('\n')[39]?.includes('Quit') === true &&
				/0->1 +\d+s interruptible +klp_sleeper_wait \[klp_sleeper\] +cat/.test(s),
			'120x40 frame again',
		);
		lines = tmux.lines();
		expect(lines.filter((line) => line.startsWith('klptop')).length).toBe(1);
		expect(lines).toHaveLength(40);

		// Ctrl-L repaints the same screen.
		tmux.keys('C-l');
		await tmux.waitForText('FUNCTION [object]');

		// Resume: the kernel's fake-signal round wakes the sleeper and the transition completes.
		tmux.keys('Z');
		await tmux.waitFor((s) => !s.includes('PAUSED'), 'resumed');
		screen = await tmux.waitForText(/no transition; last: patching klp_sleeper_patch completed/, 30_000);
		expect(screen).toContain('applied');
		expect(screen).toMatch(/fake-signal round/);

		tmux.keys('q');
		await expectShellBack(tmux, 0);
	}, 90_000);

	it.each([
		['TERM', 143],
		['HUP', 129],
	])(
		'gives the terminal back on SIG%s (exit %i)',
		async (signal, code) => {
			const tmux = terminal(`sig${signal}`, 100, 30);
			tmux.type(command);
			await tmux.waitForText(/klp_sleeper_wait \[klp_sleeper\] +cat/);
			const pid = tmux.programPid();
			expect(pid).not.toBeNull();
			execFileSync('kill', [`-${signal}`, String(pid)]);
			await expectShellBack(tmux, code);
		},
		60_000,
	);

	it('gives the terminal back after an uncaught error, and says what it was', async () => {
		const tmux = terminal('crash', 100, 30);
		tmux.type('node test/e2e/fixtures/crash.mjs; echo "EXIT=$?"');
		await tmux.waitForText('crash fixture');
		const screen = await tmux.waitForText('EXIT=1');
		expect(screen).toContain('klptop: Error: boom from a timer');
		expect(tmux.alternateOn()).toBe(false);
		tmux.type('echo "terminal-ok-$((6*7))"');
		await tmux.waitForText('terminal-ok-42');
	}, 60_000);

	it('ends when its terminal goes away (the ssh session dropped), instead of spinning on write errors', async () => {
		const tmux = terminal('hangup', 100, 30);
		tmux.type(command);
		await tmux.waitForText(/klp_sleeper_wait \[klp_sleeper\] +cat/);
		const pid = tmux.programPid();
		expect(pid).not.toBeNull();
		// The terminal disappears under it: SIGHUP, then every write fails with EIO.
		tmux.run('kill-server');
		const deadline = Date.now() + 10_000;
		while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await sleep(100);
		expect(existsSync(`/proc/${pid}`)).toBe(false);
	}, 60_000);

	it('starts within a reasonable time and draws its first frame from data', async () => {
		const tmux = terminal('start', 100, 30);
		const started = Date.now();
		tmux.type(command);
		await tmux.waitForText(/klp_sleeper_wait \[klp_sleeper\] +cat/);
		const elapsed = Date.now() - started;
		// Not a speed test (that is the benchmark's job): a sanity bound that catches a hang.
		expect(elapsed).toBeLessThan(15_000);
		expect(tmux.screen()).not.toContain('waiting for the first scan');
		tmux.keys('q');
		await expectShellBack(tmux, 0);
		await sleep(0);
	}, 60_000);
});
