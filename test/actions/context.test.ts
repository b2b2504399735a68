/*
Who gets to act on what: the host's own `/` gets real signals and sysfs writes, a tree gets its
emulator's control port or nothing, `--readonly` and non-root disable actions with the reason. Plus
the host control's own narrow limits, and PID reuse simulated in a tree.
*/
import {mkdtempSync, readFileSync, writeFileSync, chmodSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createActionContext, type Clock} from '../../source/actions/context.js';
import {createHostControl} from '../../source/actions/host-control.js';
import {executeNudge} from '../../source/actions/nudge.js';
import {planNudge} from '../../source/actions/plan.js';
import {planPatchAction} from '../../source/actions/sysfs-actions.js';
import {guardTarget} from '../../source/actions/guards.js';
import {parseProcStat} from '../../source/actions/proc.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {errorCode, type FsPort} from '../../source/sources/fs-port.js';
import {makeTree, statLine, type Tree} from '../helpers/tree.js';
import {
	killChildren,
	removeTempDirs,
	spawnSleeper,
	spyControl,
	tempStateDir,
	waitFor,
	procState,
} from './helpers.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}

	killChildren();
	removeTempDirs();
});

function stuckTree(): Tree {
	const tree = makeTree({
		patches: [{name: 'klp_sleeper_patch', enabled: 1, transition: 1}],
		threads: [
			{pid: 1, comm: 'init', ppid: 0, patchState: 1, starttime: 1},
			{pid: 182, comm: 'cat', state: 'S', patchState: 0, starttime: 4000},
			{pid: 183, comm: 'cat', state: 'D', patchState: 0, starttime: 4100},
			{
				pid: 398,
				comm: 'klp_sleeper_kt',
				state: 'S',
				ppid: 2,
				flags: 0x00208040,
				patchState: 0,
				starttime: 300,
			},
		],
	});
	trees.push(tree);
	return tree;
}

/** A virtual clock: sleeping advances it at once. */
function virtualClock(): Clock & {slept: number} {
	let now = 1_000_000;
	const clock = {
		slept: 0,
		now: () => now,
		async sleep(ms: number) {
			now += ms;
			clock.slept += ms;
		},
	};
	return clock;
}

describe('which control port a source gets', () => {
	it('the host\u2019s own / gets the real one, enabled for root', () => {
		const ctx = createActionContext({
			source: {kind: 'host', root: '/', scenario: null},
			port: createHostPort('/'),
			stateDir: tempStateDir(),
		});
		expect(ctx.control).not.toBeNull();
		expect(ctx.disabledReason).toBeNull();
		expect(ctx.world).toBe('host');
		expect(ctx.self()?.pid).toBe(process.pid);
	});

	it('a tree without an emulator gets none, and every action says why', () => {
		const tree = stuckTree();
		const ctx = createActionContext({
			source: {kind: 'tree', root: tree.root, scenario: null},
			port: createHostPort(tree.root),
			stateDir: tempStateDir(),
		});
		expect(ctx.control).toBeNull();
		expect(ctx.disabledReason).toBe('this tree is not served by an emulator; actions need a live kernel');
		const plan = planNudge(ctx, [{tid: 182}]);
		expect(plan.groups).toEqual([]);
		expect(plan.refused[0]?.reason).toBe(
			'this tree is not served by an emulator; actions need a live kernel',
		);
		expect(planPatchAction(ctx, 'reverse')).toEqual({
			ok: false,
			reason: 'this tree is not served by an emulator; actions need a live kernel',
		});
		expect(ctx.self()).toBeNull();
	});

	it('a "host" source whose root is not / is a tree: never real signals', () => {
		const tree = stuckTree();
		const ctx = createActionContext({
			source: {kind: 'host', root: tree.root, scenario: null},
			port: createHostPort(tree.root),
			control: createHostControl(),
			stateDir: tempStateDir(),
		});
		expect(ctx.control).toBeNull();
		expect(ctx.disabledReason).toMatch(/not served by an emulator/);
	});

	it('a tree served by an emulator gets that emulator\u2019s control port', () => {
		const tree = stuckTree();
		const control = spyControl();
		const ctx = createActionContext({
			source: {kind: 'tree', root: tree.root, scenario: null},
			port: createHostPort(tree.root),
			control,
			stateDir: tempStateDir(),
		});
		expect(ctx.control).toBe(control);
		expect(ctx.disabledReason).toBeNull();
		expect(ctx.world).toBe(`tree:${tree.root}`);
	});

	it('--readonly disables actions with the reason', () => {
		const ctx = createActionContext({
			source: {kind: 'host', root: '/', scenario: null},
			port: createHostPort('/'),
			readonly: true,
			stateDir: tempStateDir(),
		});
		expect(ctx.disabledReason).toBe('read-only mode (--readonly): actions are disabled');
	});

	it('not root: disabled, and the reason says root is needed', () => {
		const host = createHostPort('/');
		const asUser: FsPort = {
			...host,
			readFile: (file) => host.readFile(file),
			readdir: (dir) => host.readdir(dir),
			readerUid: () => 1000,
		};
		const ctx = createActionContext({
			source: {kind: 'host', root: '/', scenario: null},
			port: asUser,
			stateDir: tempStateDir(),
		});
		expect(ctx.disabledReason).toMatch(/^actions need root \(you are uid 1000\)/);
	});

	it('an unsafe state directory disables actions (no journal, no SIGSTOP)', () => {
		const dir = tempStateDir();
		chmodSync(dir, 0o777);
		const ctx = createActionContext({
			source: {kind: 'host', root: '/', scenario: null},
			port: createHostPort('/'),
			stateDir: dir,
		});
		expect(ctx.disabledReason).toMatch(/writable by others/);
	});

	it('the in-process emulator keeps its stops in memory (its tasks die with us)', () => {
		const ctx = createActionContext({
			source: {kind: 'emulator', root: null, scenario: 'x'},
			port: createHostPort('/'),
			control: spyControl(),
			stateDir: tempStateDir(),
		});
		expect(ctx.journal.location).toBeNull();
		expect(ctx.audit.location).not.toBeNull();
		expect(ctx.world).toBe('emulator:x');
	});
});

describe('the host control port refuses anything but one PID and two sysfs attributes', () => {
	const control = createHostControl();

	it('no process groups, no "every process"', async () => {
		// Signal 0 only checks existence: harmless even if the guard were missing.
		for (const pid of [0, -1, -process.pid, 1.5, Number.NaN]) {
			await expect(control.kill(pid, 0)).rejects.toMatchObject({code: 'EINVAL'});
		}
	});

	it('reports ESRCH for a task that exited', async () => {
		const child = await spawnSleeper();
		child.kill('SIGKILL');
		await waitFor(() => procState(child.pid) === null);
		const error = await control.kill(child.pid, 0).catch((error_: unknown) => error_);
		expect(errorCode(error)).toBe('ESRCH');
	});

	it('writes nothing outside /sys/kernel/livepatch/<patch>/{enabled,force}', async () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'klptop-hc-'));
		const file = path.join(dir, 'enabled');
		writeFileSync(file, 'untouched');
		for (const target of [
			file,
			'/sys/kernel/livepatch/../../..' + file,
			'/sys/kernel/livepatch/p/transition',
			'sys/kernel/livepatch/p/enabled',
		]) {
			await expect(control.write(target, '1')).rejects.toMatchObject({code: 'EINVAL'});
		}

		expect(readFileSync(file, 'utf8')).toBe('untouched');
	});

	it('a patch that is not there is ENOENT (no file is created)', async () => {
		await expect(control.write('/sys/kernel/livepatch/klp_absent/enabled', '0')).rejects.toMatchObject({
			code: 'ENOENT',
		});
	});
});

describe('nudge in a tree served by an emulator (a recording control port, virtual time)', () => {
	function treeContext(tree: Tree) {
		const control = spyControl();
		const clock = virtualClock();
		const ctx = createActionContext({
			source: {kind: 'tree', root: tree.root, scenario: null},
			port: createHostPort(tree.root),
			control,
			clock,
			stateDir: tempStateDir(),
		});
		return {ctx, control, clock};
	}

	it('signals the blocker through the emulator\u2019s port and waits in virtual time', async () => {
		const tree = stuckTree();
		const {ctx, control, clock} = treeContext(tree);
		const report = await executeNudge(ctx, planNudge(ctx, [{tid: 182}]), {boundMs: 1500, pollMs: 100});
		expect(control.calls).toEqual([
			{op: 'kill', pid: 182, signal: 'SIGSTOP'},
			{op: 'kill', pid: 182, signal: 'SIGCONT'},
		]);
		expect(clock.slept).toBe(1500);
		expect(report.groups[0]?.threads[0]?.result).toBe('not-switched');
		expect(ctx.journal.list().entries).toEqual([]);
	});

	it('a recycled PID is not signalled: the start time changed between showing and acting', async () => {
		const tree = stuckTree();
		const {ctx, control} = treeContext(tree);
		const plan = planNudge(ctx, [{tid: 182, tgid: 182, starttime: 4000, state: 'S', patchState: 0}]);
		expect(plan.groups).toHaveLength(1);
		// cat 182 exits; a new task gets PID 182.
		tree.write(
			'/proc/182/task/182/stat',
			statLine({pid: 182, comm: 'bash', state: 'S', starttime: 9999}),
			0o444,
		);
		tree.write('/proc/182/stat', statLine({pid: 182, comm: 'bash', state: 'S', starttime: 9999}), 0o444);
		const report = await executeNudge(ctx, plan);
		expect(report.groups).toEqual([]);
		expect(report.refused[0]).toMatchObject({tid: 182, code: 'changed'});
		expect(report.refused[0]?.reason).toContain('start time 4000 -> 9999');
		expect(control.calls).toEqual([]);
		expect(report.audit.entry.result).toBe('refused');
	});

	it('refuses the D sleeper and the kernel thread, saying what helps', async () => {
		const tree = stuckTree();
		const {ctx, control} = treeContext(tree);
		const report = await executeNudge(ctx, planNudge(ctx, [{tid: 183}, {tid: 398}, {tid: 1}]));
		expect(report.refused.map((refusal) => refusal.code)).toEqual(['uninterruptible', 'kthread', 'init']);
		expect(report.refused[0]?.reason).toMatch(/cannot wake it.*reverse the transition, or force it/);
		expect(control.calls).toEqual([]);
	});

	it('a SIGSTOP the emulator refuses is reported, journal cleared, nothing left to resume', async () => {
		const tree = stuckTree();
		const {ctx} = treeContext(tree);
		const failing = {
			...ctx,
			control: {
				async write() {},
				async kill() {
					throw Object.assign(new Error('ESRCH: gone'), {code: 'ESRCH'});
				},
			},
		};
		const report = await executeNudge(failing, planNudge(failing, [{tid: 182}]));
		expect(report.groups[0]).toMatchObject({
			stopped: false,
			error: 'SIGSTOP failed: ESRCH: the task has exited',
		});
		expect(ctx.journal.list().entries).toEqual([]);
	});

	it('a SIGCONT that fails keeps the journal record for the next start', async () => {
		const tree = stuckTree();
		const {ctx} = treeContext(tree);
		const failing = {
			...ctx,
			control: {
				async write() {},
				async kill(_pid: number, signal: unknown) {
					if (signal === 'SIGCONT') {
						throw Object.assign(new Error('EPERM: no'), {code: 'EPERM'});
					}
				},
			},
		};
		const report = await executeNudge(failing, planNudge(failing, [{tid: 182}]), {boundMs: 100});
		expect(report.groups[0]?.error).toMatch(/could not send SIGCONT .*kill -CONT 182/);
		expect(ctx.journal.list().entries).toHaveLength(1);
	});
});

describe('guards as pure functions', () => {
	const facts = (state: string, extra: Partial<{tty: number; tpgid: number; tracer: number | null}> = {}) => {
		const stat = parseProcStat(
			`500 (a) b) ${state} 1 500 500 ${extra.tty ?? 0} ${extra.tpgid ?? -1} 4194304 ${'0 '.repeat(12)}777 0 0`,
		)!;
		return {
			tid: 500,
			tgid: 500,
			stat,
			group: stat,
			tracerPid: extra.tracer === undefined ? 0 : extra.tracer,
			patchState: 0 as const,
		};
	};

	it('parses comm with spaces and parentheses', () => {
		expect(facts('S').stat).toMatchObject({
			pid: 500,
			comm: 'a) b',
			state: 'S',
			pgrp: 500,
			session: 500,
			starttime: 777,
		});
	});

	it('only an interruptible sleeper that blocks the transition passes', () => {
		const transition = {patch: 'p', target: 1 as const};
		expect(guardTarget(facts('S'), null, transition)).toBeNull();
		expect(guardTarget(facts('R'), null, transition)?.code).toBe('running');
		expect(guardTarget(facts('D'), null, transition)?.code).toBe('uninterruptible');
		expect(guardTarget(facts('T'), null, transition)?.code).toBe('stopped');
		expect(guardTarget(facts('t'), null, transition)?.code).toBe('traced');
		expect(guardTarget(facts('Z'), null, transition)?.code).toBe('zombie');
		expect(guardTarget(facts('I'), null, transition)?.code).toBe('not-sleeping');
		expect(guardTarget(facts('S', {tracer: null}), null, transition)?.code).toBe('trace-unknown');
		expect(guardTarget(facts('S'), null, null)?.code).toBe('no-transition');
		expect(guardTarget(facts('S'), null, {patch: 'p', target: 0})?.code).toBe('not-blocking');
	});

	it('own session and own process group, as recorded for klptop', () => {
		const transition = {patch: 'p', target: 1 as const};
		const self = {pid: 9, pgrp: 77, session: 500, ancestors: new Map<number, string>(), complete: true};
		expect(guardTarget(facts('S'), self, transition)?.code).toBe('own-session');
		expect(guardTarget(facts('S'), {...self, pgrp: 500, session: 0}, transition)?.code).toBe('own-group');
		expect(guardTarget(facts('S'), {...self, session: 0}, transition)).toBeNull();
		expect(guardTarget(facts('S'), {...self, session: 0, complete: false}, transition)?.reason).toMatch(
			/cannot read klptop.s own process tree/,
		);
	});
});
