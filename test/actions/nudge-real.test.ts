/*
Nudges against REAL processes of this machine: children that really sleep, really stop (state T)
and really continue. The host kernel has no livepatch, so `kernelOverlay` adds one transition to the
real /proc and switches a blocking child when it sees it stopped, as the kernel does.
*/
import {readFileSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {createActionContext, type ActionContext} from '../../source/actions/context.js';
import {executeNudge, activeStops} from '../../source/actions/nudge.js';
import {planNudge, targetOf} from '../../source/actions/plan.js';
import {nudgeCommand} from '../../source/actions/commands.js';
import {readAuditLog} from '../../source/state/audit.js';
import {createHostPort} from '../../source/sources/host-port.js';
import type {FsPort} from '../../source/sources/fs-port.js';
import {faultyPort} from '../helpers/tree.js';
import {
	adopt,
	kernelOverlay,
	killChildren,
	procStarttime,
	procState,
	removeTempDirs,
	spawnSleeper,
	spyControl,
	tempStateDir,
	waitFor,
} from './helpers.js';

const host = createHostPort('/');

function hostContext(port: FsPort, stateDir = tempStateDir()): ActionContext {
	return createActionContext({source: {kind: 'host', root: '/', scenario: null}, port, stateDir});
}

/** The same context with every control call recorded (still real signals). */
function spied(ctx: ActionContext) {
	const control = spyControl(ctx.control);
	return {ctx: {...ctx, control}, calls: control.calls};
}

afterEach(() => {
	killChildren();
	removeTempDirs();
});

describe('nudge a real sleeping child', () => {
	it('stops it (state T), waits for the switch, continues it (state S again)', async () => {
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host);
		overlay.blockers.add(child.pid);
		const stateDir = tempStateDir();
		const ctx = hostContext(overlay.port, stateDir);
		expect(ctx.disabledReason).toBeNull();

		const plan = planNudge(ctx, [{tid: child.pid}]);
		expect(plan.refused).toEqual([]);
		expect(plan.groups.map((group) => group.tgid)).toEqual([child.pid]);

		const journalled: number[] = [];
		const report = await executeNudge(ctx, plan, {
			onStopped() {
				journalled.push(ctx.journal.list().entries.length);
			},
		});
		// The overlay read the real /proc: sleeping at planning, stopped (T) after the SIGSTOP.
		expect(overlay.observed[0]).toBe('S');
		expect(overlay.observed.at(-1)).toBe('T');
		await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
		expect(journalled).toEqual([1]);
		expect(overlay.switched.has(child.pid)).toBe(true);
		const [group] = report.groups;
		expect(group?.stopped).toBe(true);
		expect(group?.resumed).toBe(true);
		expect(group?.error).toBeNull();
		expect(group?.threads.map((thread) => thread.result)).toEqual(['switched']);
		expect(ctx.journal.list().entries).toEqual([]);
		expect(activeStops()).toBe(0);
		expect(report.audit.stored).toBe(true);
		const [entry] = readAuditLog(stateDir);
		expect(entry).toMatchObject({action: 'nudge', target: `tid ${child.pid}`, result: 'ok', world: 'host'});
	});

	it('signals a process once for several of its threads, and resumes it when nothing switched', async () => {
		// A task that never switches: the overlay does not react to the stop.
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host, {switchWhenStopped: false});
		overlay.blockers.add(child.pid);
		const {ctx, calls} = spied(hostContext(overlay.port));
		const plan = planNudge(ctx, [{tid: child.pid}, {tid: child.pid}]);
		const started = Date.now();
		const report = await executeNudge(ctx, plan, {boundMs: 300, pollMs: 20});
		expect(Date.now() - started).toBeGreaterThanOrEqual(300);
		expect(calls).toEqual([
			{op: 'kill', pid: child.pid, signal: 'SIGSTOP'},
			{op: 'kill', pid: child.pid, signal: 'SIGCONT'},
		]);
		expect(report.groups[0]?.threads.map((thread) => thread.result)).toEqual(['not-switched']);
		expect(report.audit.entry.result).toBe('partial');
		await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
	});

	it('the subcommand prints what it did and exits 0; a nudge that did not help exits 1', async () => {
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host);
		overlay.blockers.add(child.pid);
		const ctx = hostContext(overlay.port);
		const ok = await nudgeCommand(ctx, [child.pid]);
		expect(ok.code).toBe(0);
		expect(ok.stdout[0]).toMatch(
			new RegExp(`^nudged ${child.pid} \\(sleep\\): switched after \\d\\.\\d\\d s$`),
		);
		expect(ok.stdout[1]).toMatch(new RegExp(`^resumed ${child.pid} \\(sleep\\) after`));
		expect(ok.stderr).toEqual([]);

		const stuck = await spawnSleeper();
		const never = kernelOverlay(host, {switchWhenStopped: false});
		never.blockers.add(stuck.pid);
		const failed = await nudgeCommand(hostContext(never.port), [stuck.pid], {boundMs: 200, pollMs: 20});
		expect(failed.code).toBe(1);
		expect(failed.stderr.join('\n')).toContain('did not switch while stopped');
		await waitFor(() => procState(stuck.pid) === 'S', 2000, 'the stuck child to sleep again');
	});
});

describe('guards on real tasks of this machine', () => {
	async function refusalOf(tid: number, overlayBlockers: number[] = [tid]) {
		const overlay = kernelOverlay(host);
		for (const pid of overlayBlockers) {
			overlay.blockers.add(pid);
		}

		const {ctx, calls} = spied(hostContext(overlay.port));
		const plan = planNudge(ctx, [{tid}]);
		const report = await executeNudge(ctx, plan);
		expect(calls).toEqual([]);
		expect(report.groups).toEqual([]);
		expect(report.refused).toHaveLength(1);
		return report.refused[0]!;
	}

	it('refuses klptop itself', async () => {
		expect((await refusalOf(process.pid)).code).toBe('self');
	});

	it('refuses its parent and every ancestor', async () => {
		const parent = await refusalOf(process.ppid);
		expect(parent.code).toBe('ancestor');
		expect(parent.reason).toContain('freeze your own shell or connection');
		const ctx = hostContext(host);
		const ancestors = [...ctx.self()!.ancestors.keys()];
		expect(ancestors[0]).toBe(process.ppid);
		for (const pid of ancestors) {
			expect((await refusalOf(pid)).code).toBe('ancestor');
		}
	});

	it('refuses everything when klptop’s own ancestry cannot be read (e.g. hidepid)', async () => {
		expect(hostContext(host).self()?.complete).toBe(true);
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host);
		overlay.blockers.add(child.pid);
		const blind = faultyPort(overlay.port, [
			{method: 'readFile', path: `/proc/${process.ppid}/stat`, code: 'EACCES'},
		]);
		const {ctx, calls} = spied(hostContext(blind));
		expect(ctx.self()?.complete).toBe(false);
		const report = await executeNudge(ctx, planNudge(ctx, [{tid: child.pid}]));
		expect(report.refused[0]?.reason).toMatch(/cannot read klptop.s own process tree/);
		expect(calls).toEqual([]);
	});

	it('refuses PID 1', async () => {
		const refusal = await refusalOf(1);
		expect(refusal.code).toBe('init');
	});

	it('refuses a kernel thread (kthreadd, pid 2) and says what helps instead', async () => {
		expect(readFileSync('/proc/2/comm', 'utf8').trim()).toBe('kthreadd');
		const refusal = await refusalOf(2);
		expect(refusal.code).toBe('kthread');
		expect(refusal.reason).toContain('15 s');
		expect(refusal.reason).toContain('reverse');
		expect(refusal.reason).toContain('force');
	});

	it('refuses a task in its own process group and session', async () => {
		const child = await spawnSleeper(false);
		expect((await refusalOf(child.pid)).code).toBe('own-group');
	});

	it('refuses a zombie', async () => {
		// `sleep 0` exits and its parent (now exec'd into `sleep 1000`) never reaps it.
		const parent = await spawnSleeper(true, 'sh', ['-c', 'sleep 0 & exec sleep 1000'], 'sleep');
		let zombie = 0;
		await waitFor(
			() => {
				const kids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim();
				zombie = Number(kids.split(' ')[0] ?? 0);
				return zombie > 0 && procState(zombie) === 'Z';
			},
			5000,
			'a zombie',
		);
		expect(procState(zombie)).toBe('Z');
		expect((await refusalOf(zombie)).code).toBe('zombie');
	});

	it('refuses a ptraced task', async () => {
		const tracer = await spawnSleeper(true, 'strace', ['-o', '/dev/null', 'sleep', '1000']).catch(() => null);
		// strace itself sleeps in wait4; its child is the traced sleep.
		expect(tracer).not.toBeNull();
		let traced = 0;
		// strace also forks short-lived probes: pick the traced `sleep`.
		await waitFor(() => {
			const kids = readFileSync(`/proc/${tracer!.pid}/task/${tracer!.pid}/children`, 'utf8')
				.trim()
				.split(' ');
			traced = Number(
				kids.find((kid) => {
					try {
						return (
							readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === 'sleep' &&
							procState(Number(kid)) === 'S' &&
							/TracerPid:\s+[1-9]/.test(readFileSync(`/proc/${kid}/status`, 'utf8'))
						);
					} catch {
						return false;
					}
				}) ?? 0,
			);
			return traced > 0;
		});
		adopt(traced);
		const refusal = await refusalOf(traced);
		expect(refusal.code).toBe('traced');
		expect(refusal.reason).toContain(`traced by PID ${tracer!.pid}`);
	});

	it('refuses a task that is already stopped (it would not send SIGCONT to someone else\u2019s stop)', async () => {
		const child = await spawnSleeper();
		process.kill(child.pid, 'SIGSTOP');
		await waitFor(() => procState(child.pid) === 'T');
		expect((await refusalOf(child.pid)).code).toBe('stopped');
		expect(procState(child.pid)).toBe('T');
	});

	it('refuses a running task and says why', async () => {
		const child = await spawnSleeper(true, 'sh', ['-c', 'sleep 0.05; while :; do :; done']);
		await waitFor(() => procState(child.pid) === 'R', 5000, 'a busy loop');
		const refusal = await refusalOf(child.pid);
		expect(refusal.code).toBe('running');
		expect(refusal.reason).toContain('switches by itself');
	});

	it('refuses a sleeping task that does not hold the transition back', async () => {
		const child = await spawnSleeper();
		const refusal = await refusalOf(child.pid, []);
		expect(refusal.code).toBe('not-blocking');
	});

	it('refuses everything when no transition runs', async () => {
		const child = await spawnSleeper();
		const {ctx, calls} = spied(hostContext(host));
		const report = await executeNudge(ctx, planNudge(ctx, [{tid: child.pid}]));
		expect(report.refused.map((refusal) => refusal.code)).toEqual(['no-transition']);
		expect(calls).toEqual([]);
	});

	it('warns before stopping the foreground job of another terminal', async () => {
		// `script` gives `sleep` its own pty, where it is the foreground job (`exec`: whatever $SHELL is, the
		// sleep is script's own child, as CI runs with /bin/sh, which would otherwise stay in between).
		const term = await spawnSleeper(true, 'script', ['-qc', 'exec sleep 1000', '/dev/null']);
		let sleeper = 0;
		await waitFor(() => {
			const kids = readFileSync(`/proc/${term.pid}/task/${term.pid}/children`, 'utf8').trim();
			sleeper = Number(kids.split(' ')[0] ?? 0);
			return (
				sleeper > 0 &&
				procState(sleeper) === 'S' &&
				readFileSync(`/proc/${sleeper}/comm`, 'utf8').trim() === 'sleep'
			);
		});
		adopt(sleeper);
		const overlay = kernelOverlay(host);
		overlay.blockers.add(sleeper);
		const ctx = hostContext(overlay.port);
		const plan = planNudge(ctx, [{tid: sleeper}]);
		expect(plan.refused).toEqual([]);
		expect(plan.groups[0]?.warnings.join(' ')).toContain('foreground job of a terminal');
		const out = await nudgeCommand(ctx, [sleeper]);
		expect(out.stderr[0]).toMatch(/^klptop: warning: .*foreground job/);
		expect(out.code).toBe(0);
		await waitFor(() => procState(sleeper) === 'S', 2000);
	});
});

describe('PID reuse between showing and acting', () => {
	it('does not signal a real task whose start time differs from the one shown', async () => {
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host);
		overlay.blockers.add(child.pid);
		const {ctx, calls} = spied(hostContext(overlay.port));
		const shown = {
			tid: child.pid,
			tgid: child.pid,
			starttime: procStarttime(child.pid) - 1,
			state: 'S',
			patchState: 0 as const,
		};
		const report = await executeNudge(ctx, planNudge(ctx, [shown]));
		expect(report.refused[0]?.code).toBe('changed');
		expect(report.refused[0]?.reason).toContain('the PID now names another task');
		expect(calls).toEqual([]);
		expect(procState(child.pid)).toBe('S');
	});

	it('aborts when the task changes between the plan (confirmation) and the signal', async () => {
		const child = await spawnSleeper();
		const overlay = kernelOverlay(host);
		overlay.blockers.add(child.pid);
		const {ctx, calls} = spied(hostContext(overlay.port));
		const plan = planNudge(ctx, [{tid: child.pid}]);
		expect(plan.groups).toHaveLength(1);
		// While the operator reads the confirmation, the thread stops being a blocker.
		overlay.blockers.delete(child.pid);
		const report = await executeNudge(ctx, plan);
		expect(report.refused[0]?.code).toBe('changed');
		expect(report.refused[0]?.reason).toContain('patch_state 0 -> 1');
		expect(calls).toEqual([]);
	});

	it('a record from a snapshot row carries tid, tgid, starttime, state and patch_state', () => {
		expect(
			targetOf({
				tid: 7,
				tgid: 5,
				comm: 'x',
				state: 'S',
				ppid: 1,
				flags: 0,
				kthread: false,
				starttime: 99,
				patchState: 0,
				uid: 0,
			}),
		).toEqual({tid: 7, tgid: 5, starttime: 99, state: 'S', patchState: 0});
	});
});
