// The dashboard's actions through the whole App, against a real in-process emulator running on the
// real clock (as `klptop --emulate` runs it): the same engine and guards as the subcommands. Each
// test presses the keys an operator would and reads the screen; the emulator's own files say
// whether the kernel's state really changed.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createActionContext, realClock} from '../../source/actions/index.js';
import {readLivePatch, readLiveTransition, readStat} from '../../source/actions/proc.js';
import {createEmulation, startRealtime} from '../../source/emulator/index.js';
import type {Emulation} from '../../source/emulator/index.js';
import {createReader} from '../../source/sources/reader.js';
import {readAuditLog} from '../../source/state/audit.js';
import type {Feed} from '../../source/ui/feed.js';
import {keys, renderApp, waitForFrame} from './helpers.js';

const shiftTab = '\u001B[Z';
const cleanups: Array<() => void> = [];

afterEach(() => {
	for (const cleanup of cleanups.splice(0)) cleanup();
});

type World = {feed: Feed; emulation: Emulation; stateDir: string};

/** An emulated kernel on the real clock, with its action context, as `run` in main.ts builds it. */
function world(scenario: string, options: {readonly?: boolean} = {}): World {
	const emulation = createEmulation(scenario, {seed: 1, startTime: Date.now()});
	const driver = startRealtime(emulation);
	const stateDir = mkdtempSync(path.join(tmpdir(), 'klptop-ui-state-'));
	cleanups.push(() => {
		driver.stop();
		rmSync(stateDir, {recursive: true, force: true});
	});
	const source = {kind: 'emulator', root: null, scenario} as const;
	const reader = createReader(emulation.port, source);
	const actions = createActionContext({
		source,
		port: emulation.port,
		control: emulation.control,
		readonly: options.readonly ?? false,
		clock: realClock,
		stateDir,
	});
	const feed: Feed = {
		source,
		poll: (scan) => reader.scan({...scan, clock: emulation.now}),
		close: () => driver.stop(),
		actions,
	};
	return {feed, emulation, stateDir};
}

function open(w: World) {
	return renderApp({feed: w.feed, delayS: 0.2});
}

const has = (text: string | RegExp) => (frame: string) =>
	typeof text === 'string' ? frame.includes(text) : text.test(frame);

describe('nudge from the dashboard', () => {
	it('stuck-interruptible: k on the blocker, one confirmation, y: the sleeper switches and the transition completes', async () => {
		const w = world('stuck-interruptible');
		const app = open(w);
		await waitForFrame(app.frame, has(/182 .*cat/));
		await app.press('k');
		const dialog = await waitForFrame(app.frame, has('Confirm: nudge'));
		expect(dialog).toMatch(/signal pid 182 cat +threads: 182 cat \(S\)/);
		expect(dialog).toMatch(/1 process, 1 blocking\s+thread/);
		// Nothing is signalled before `y`.
		expect(readLiveTransition(w.emulation.port)).toEqual({patch: 'klp_sleeper_patch', target: 1});
		await app.press('y');
		await waitForFrame(app.frame, has(/nudged 182 \(cat\): (switched|the transition ended)/), 8000);
		await waitForFrame(app.frame, has('no transition'), 8000);
		expect(readLiveTransition(w.emulation.port)).toBeNull();
		// The result is in the event log (the audit entry) and in the audit log on disk.
		expect(app.frame()).toMatch(/nudge tid 182: ok/);
		expect(readAuditLog(w.stateDir)).toMatchObject([{action: 'nudge', target: 'tid 182', result: 'ok'}]);
	});

	it('stuck-killable: the D sleeper is refused as useless with the reason; nothing is signalled', async () => {
		const w = world('stuck-killable');
		const app = open(w);
		await waitForFrame(app.frame, has(/539 +539 root +D .*uninterruptible/));
		await app.press('k');
		const dialog = await waitForFrame(app.frame, has('Nothing to signal'));
		expect(dialog).toContain('Refused (not signalled):');
		expect(dialog).toMatch(/tid \d+: .*(uninterruptible|D state)/i);
		// `y` does nothing here: there is nothing to confirm.
		expect(dialog).not.toMatch(/^y nudge/m);
		await app.press(keys.escape);
		await waitForFrame(app.frame, has('FUNCTION [object]'));
		// The refusal is the action's result: in the event log with its reason.
		await waitForFrame(app.frame, has(/nudge tid 539: refused, 539 refused: in uninterruptible sleep/));
		expect(readLiveTransition(w.emulation.port)).toEqual({patch: 'klp_sleeper_patch', target: 1});
		expect(readAuditLog(w.stateDir)).toMatchObject([{action: 'nudge', result: 'refused'}]);
	});

	it('A nudges all nudgeable blockers of the demo, refusing the others with reasons', async () => {
		const w = world('demo');
		const app = open(w);
		await waitForFrame(app.frame, has('FUNCTION [object]'));
		await waitForFrame(app.frame, has(/pending/));
		await app.press('A');
		const dialog = await waitForFrame(app.frame, has('Confirm: nudge'));
		// Only interruptible sleepers are listed: no D sleeper, no kernel thread.
		expect(dialog).toMatch(/signal pid \d+/);
		expect(dialog).not.toMatch(/\(D\)/);
		expect(dialog).toMatch(/2 other blockers left out: a nudge cannot help/);
		await app.press('n');
		await waitForFrame(app.frame, has('cancelled: nothing was done'));
		expect(readAuditLog(w.stateDir)).toEqual([]);
	});
});

describe('patch actions from the dashboard', () => {
	it('R reverses: the direction flips, and once unpatched the patch disappears', async () => {
		const w = world('stuck-killable');
		const app = open(w);
		await waitForFrame(app.frame, has(/patching klp_sleeper_patch/));
		await app.press('R');
		const dialog = await waitForFrame(app.frame, has('Confirm: reverse klp_sleeper_patch'));
		expect(dialog).toMatch(/y reverse/);
		await app.press('y');
		await waitForFrame(app.frame, has(/reversed the patching transition of 'klp_sleeper_patch'/), 5000);
		expect(readLivePatch(w.emulation.port, 'klp_sleeper_patch')).toMatchObject({enabled: false});
		await waitForFrame(app.frame, has('klp_sleeper_patch: patch disappeared'), 8000);
		expect(app.frame()).toContain('Patches 0');
		expect(readAuditLog(w.stateDir)).toMatchObject([
			{action: 'reverse', target: 'klp_sleeper_patch', result: 'ok'},
		]);
	});

	it('F on the force scenario: y alone never forces; the typed name does, after the plain-words warning', async () => {
		const w = world('force');
		const app = open(w);
		await waitForFrame(app.frame, has(/patching klp_sleeper_patch/));
		await app.press('F');
		const dialog = await waitForFrame(app.frame, has('Confirm: force klp_sleeper_patch (FORCE)'));
		expect(dialog).toMatch(/consistency/);
		expect(dialog).toMatch(/no longer\s+assured/);
		expect(dialog).toContain('Type the patch name (klp_sleeper_patch) to confirm');
		await app.press('y');
		await app.press(keys.enter);
		await waitForFrame(app.frame, has("does not match 'klp_sleeper_patch'"));
		expect(readLiveTransition(w.emulation.port)?.patch).toBe('klp_sleeper_patch');
		await app.press(keys.backspace);
		await app.type('klp_sleeper_patch');
		await waitForFrame(app.frame, has('> klp_sleeper_patch_'));
		await app.press(keys.enter);
		await waitForFrame(app.frame, has(/forced the patching transition of 'klp_sleeper_patch'/), 5000);
		await waitForFrame(app.frame, has('no transition'), 8000);
		expect(readLivePatch(w.emulation.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: true,
			transition: false,
		});
		expect(readAuditLog(w.stateDir)).toMatchObject([{action: 'force', result: 'ok'}]);
	});

	it('Enter on a patch opens its menu; disabling during another transition shows EBUSY in plain words', async () => {
		const w = world('replace');
		const app = open(w);
		await waitForFrame(app.frame, has(/patching klp_sleeper_patch_v2/));
		await app.press(shiftTab);
		// The old patch (not in transition) is listed first.
		await app.press(keys.home);
		await app.press(keys.enter);
		await waitForFrame(app.frame, has('Patch klp_sleeper_patch:'));
		await app.press('D');
		await waitForFrame(app.frame, has('Confirm: disable klp_sleeper_patch'));
		await app.press('y');
		const failed = await waitForFrame(app.frame, has('EBUSY: another transition is running'), 5000);
		expect(failed).toMatch(/disable 'klp_sleeper_patch' failed: EBUSY/);
		expect(readAuditLog(w.stateDir)).toMatchObject([{action: 'disable', result: 'failed'}]);
		await app.press(keys.escape);
		await waitForFrame(
			app.frame,
			has(/disable klp_sleeper_patch: failed, disable 'klp_sleeper_patch' failed: EBUSY/),
		);
	});

	it('E on an applied patch: the kernel answers EINVAL, shown in plain words', async () => {
		const w = world('quick');
		const app = open(w);
		await waitForFrame(app.frame, has('no transition'), 10_000);
		await app.press(shiftTab);
		await app.press('E');
		await waitForFrame(app.frame, has('Confirm: enable'));
		await app.press('y');
		await waitForFrame(app.frame, has('EINVAL: the patch is already in that state'), 5000);
	});
});

describe('friction found by a new user (issue 16)', () => {
	it('k on a D sleeper offers no Yes: nothing can be signalled, only Esc/n dismiss', async () => {
		const w = world('stuck-killable');
		const app = open(w);
		await waitForFrame(app.frame, has(/539 +539 root +D .*uninterruptible/));
		await app.press('k');
		const dialog = await waitForFrame(app.frame, has('Nothing to signal'));
		expect(dialog).not.toMatch(/\by Yes\b/);
		await app.press('y');
		expect(app.frame()).toContain('Nothing to signal');
		await app.press(keys.escape);
		await waitForFrame(app.frame, has('FUNCTION [object]'));
	});

	it('D and E from the threads pane act on the patch the selected thread holds back, or say why not', async () => {
		const w = world('stuck-killable');
		const app = open(w);
		await waitForFrame(app.frame, has(/539 +539 root +D .*uninterruptible/));
		await app.press('D');
		// The engine's answer for the blocker's patch (here: it is still patching, use reverse).
		await waitForFrame(app.frame, has(/disable klp_sleeper_patch: .*use reverse/));
		// From the event log pane no patch is meant: the status line says how to choose one.
		await app.press(keys.tab);
		await app.press('E');
		await waitForFrame(app.frame, has('enable: select a patch in the patches pane (Tab)'));
	});

	it('the force dialog says Esc cancels: n is a letter of the name there', async () => {
		const w = world('force');
		const app = open(w);
		await waitForFrame(app.frame, has(/patching klp_sleeper_patch/));
		await app.press('F');
		const dialog = await waitForFrame(app.frame, has('Confirm: force klp_sleeper_patch (FORCE)'));
		expect(dialog).toMatch(/Enter confirm +Esc cancel/);
		expect(dialog).not.toContain('n/Esc');
		await app.press('n');
		await waitForFrame(app.frame, has('> n_'));
		await app.press(keys.escape);
		await waitForFrame(app.frame, has('cancelled: nothing was done'));
	});

	it("A's results go to the event log, one line each; the status line says so", async () => {
		const w = world('demo');
		const app = open(w);
		await waitForFrame(app.frame, has(/pending/));
		await app.press('A');
		await waitForFrame(app.frame, has('Confirm: nudge'));
		await app.press('y');
		const done = await waitForFrame(app.frame, has(/more in the event log\)/), 15_000);
		const count = Number(/\(\+(\d+) more in the event log\)/.exec(done)![1]);
		expect(count).toBeGreaterThan(0);
		// Each result on its own event-log line (the status line holds the first).
		expect(done.match(/^.*(nudged|resumed) \d+ \(/gm)!.length).toBeGreaterThan(count);
	});
});

describe('recovery at start', () => {
	it('resumes what a crashed run left stopped and says so in the event log', async () => {
		const w = world('stuck-interruptible');
		const ctx = w.feed.actions!;
		const stat = readStat(w.emulation.port, '/proc/182/stat')!;
		await w.emulation.control.kill(182, 'SIGSTOP');
		// The emulated kernel stops it on its way out of the sleep, as the real one does.
		for (let i = 0; i < 100 && readStat(w.emulation.port, '/proc/182/stat')?.state !== 'T'; i++) {
			await new Promise((resolve) => setTimeout(resolve, 20));
		}

		expect(readStat(w.emulation.port, '/proc/182/stat')?.state).toBe('T');
		// As a klptop killed between SIGSTOP and SIGCONT leaves it (its owner is long gone).
		ctx.journal.record({
			world: ctx.world,
			tid: 182,
			tgid: 182,
			starttime: stat.starttime,
			tgidStarttime: stat.starttime,
			time: Date.now() - 5000,
			owner: {pid: 4_194_000, starttime: 1},
		});
		const app = open(w);
		await waitForFrame(app.frame, has(/182 cat: left stopped by a previous run.*resumed/));
		expect(readStat(w.emulation.port, '/proc/182/stat')?.state).not.toBe('T');
		expect(ctx.journal.list().entries).toEqual([]);
		expect(readAuditLog(w.stateDir)).toMatchObject([{action: 'recover', result: 'ok'}]);
	});
});

describe('read-only', () => {
	it('--readonly: action keys do nothing and say why (status line, footer, help)', async () => {
		const w = world('stuck-interruptible', {readonly: true});
		const app = open(w);
		const frame = await waitForFrame(app.frame, has(/182 .*cat/));
		expect(frame).toMatch(/read-only: read-only mode \(--readonly\)/);
		await app.press('k');
		await waitForFrame(app.frame, has(/read-only: read-only mode \(--readonly\): actions are disabled\s*\n/));
		expect(app.frame()).not.toContain('Confirm');
		await app.press('R');
		expect(app.frame()).not.toContain('Confirm');
		await app.press('h');
		await waitForFrame(app.frame, has('Help: every key'));
		await app.press(keys.pageDown);
		await waitForFrame(app.frame, has(/nudge the selected .*\(read-only: read-only m/));
		expect(readAuditLog(w.stateDir)).toEqual([]);
		expect(readLiveTransition(w.emulation.port)).toEqual({patch: 'klp_sleeper_patch', target: 1});
	});
});
