// Actions from the dashboard in a real terminal (tmux), with the built CLI as users run it: on the
// emulator's stuck interruptible sleeper, select the blocker, press k, confirm, and watch the
// transition complete with the nudge in the event log; on the stuck D sleeper, force with the
// patch name typed (y alone does not). The audit log lands in a state dir of the test's own.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {Tmux} from './tmux.js';

const sessions: Tmux[] = [];
const dirs: string[] = [];

afterEach(() => {
	for (const tmux of sessions.splice(0)) tmux.kill();
	for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true});
});

function terminal(name: string): {tmux: Tmux; stateDir: string} {
	const tmux = new Tmux(name);
	sessions.push(tmux);
	tmux.start(120, 40);
	const stateDir = mkdtempSync(path.join(tmpdir(), 'klptop-e2e-state-'));
	dirs.push(stateDir);
	return {tmux, stateDir};
}

function audit(stateDir: string): Array<Record<string, unknown>> {
	return readFileSync(path.join(stateDir, 'audit.log'), 'utf8')
		.trim()
		.split('\n')
		.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('dashboard actions in tmux', () => {
	it('stuck-interruptible: k on the blocker, y, the transition completes and the nudge is in the event log', async () => {
		const {tmux, stateDir} = terminal('nudge');
		tmux.type(`KLPTOP_STATE_DIR=${stateDir} node dist/cli.js --emulate stuck-interruptible; echo "EXIT=$?"`);
		let screen = await tmux.waitForText(/klp_sleeper_wait \[klp_sleeper\] +cat/);
		expect(screen).toMatch(/▶ patching klp_sleeper_patch/);
		// The blocker is the selected row: Home makes sure of it.
		tmux.keys('Home');
		tmux.literal('k');
		screen = await tmux.waitForText('Confirm: nudge');
		expect(screen).toMatch(/signal pid 182 cat +threads: 182 cat \(S\)/);
		expect(screen).toMatch(/y nudge +n\/Esc cancel/);
		tmux.literal('y');
		screen = await tmux.waitForText(/no transition; last: patching klp_sleeper_patch completed/, 10_000);
		expect(screen).toMatch(/nudge tid 182: ok/);
		expect(screen).toMatch(/nudged 182 \(cat\): (switched|the transition ended)/);
		tmux.literal('q');
		await tmux.waitForText('EXIT=0');
		expect(audit(stateDir)).toMatchObject([{action: 'nudge', target: 'tid 182', result: 'ok'}]);
	}, 60_000);

	it('stuck-killable: F, the warning, y does not force, the typed name does', async () => {
		const {tmux, stateDir} = terminal('force');
		tmux.type(`KLPTOP_STATE_DIR=${stateDir} node dist/cli.js --emulate stuck-killable; echo "EXIT=$?"`);
		await tmux.waitForText(/klp_sleeper_wait_killable \[klp_sleeper\] +cat/);
		tmux.literal('F');
		let screen = await tmux.waitForText('Confirm: force klp_sleeper_patch (FORCE)');
		expect(screen).toMatch(/consistency/);
		expect(screen).toContain('Type the patch name (klp_sleeper_patch) to confirm');
		tmux.literal('y');
		tmux.keys('Enter');
		await tmux.waitForText("does not match 'klp_sleeper_patch'");
		tmux.keys('BSpace');
		tmux.literal('klp_sleeper_patch');
		await tmux.waitForText('> klp_sleeper_patch_');
		tmux.keys('Enter');
		screen = await tmux.waitForText(/no transition; last: patching klp_sleeper_patch/, 10_000);
		expect(screen).toMatch(/force klp_sleeper_patch: ok/);
		tmux.literal('q');
		await tmux.waitForText('EXIT=0');
		expect(audit(stateDir)).toMatchObject([{action: 'force', target: 'klp_sleeper_patch', result: 'ok'}]);
	}, 60_000);
});
