/**
Creating tasks (kernel/fork.c): a new process, a thread of an existing one, or fork() by a task.
klp_copy_process(): a new task takes its creator's patch_state and TIF_PATCH_PENDING.
*/
import {fsError} from '../../sources/fs-port.js';
import {enter, run, updatePatchState} from './sched.js';
import type {KernelState} from './state.js';
import {allocPid, makeTask} from './tasks.js';
import {kthreadFlags, userFlags, type SpawnOptions, type Task} from './types.js';

/** Create a new process (one thread) and put it where `options.site` says. */
export function spawn(k: KernelState, options: SpawnOptions): Task {
	const pid = allocPid(k, options.pid);
	return addThread(k, pid, pid, options, null);
}

/** Add a thread to an existing process. */
export function spawnThread(k: KernelState, tgid: number, options: SpawnOptions): Task {
	const process = k.processes.get(tgid);
	if (!process) {
		throw fsError('ESRCH', `no process ${tgid}`);
	}

	const tid = allocPid(k, options.pid);
	const leader = process.threads[0]!;
	return addThread(k, tid, tgid, options, leader);
}

function addThread(
	k: KernelState,
	tid: number,
	tgid: number,
	options: SpawnOptions,
	inheritFrom: Task | null,
): Task {
	const sibling = inheritFrom !== null && inheritFrom.tgid === tgid ? inheritFrom : null;
	const kthread = sibling ? sibling.kthread : (options.kthread ?? false);
	const startedUs = options.startedUs ?? k.clock.uptimeUs();
	const task = makeTask({
		tid,
		tgid,
		comm: options.comm,
		ppid: sibling ? sibling.ppid : (options.ppid ?? (kthread ? 2 : 1)),
		uid: sibling ? sibling.uid : (options.uid ?? 0),
		kthread,
		flags: options.flags ?? (kthread ? kthreadFlags : userFlags),
		starttime: Math.floor(startedUs / 10_000),
		cmdline: sibling ? sibling.cmdline : (options.cmdline ?? (kthread ? [] : [options.comm])),
		nice: options.nice ?? 0,
		idleOf: null,
	});
	task.unreliableStack = options.unreliableStack ?? false;
	task.cpu = options.cpu ?? tid % k.cpus.length;
	// klp_copy_process(): a new task takes its creator's patch state (and, since 6.1, TIF_PATCH_PENDING).
	const parent = inheritFrom ?? (options.ppid === undefined ? undefined : k.tasks.get(options.ppid));
	if (k.transitionPatch && parent) {
		task.patchState = parent.patchState;
		task.pending = parent.pending;
	} else if (k.transitionPatch) {
		task.patchState = k.target;
	}

	let process = k.processes.get(tgid);
	if (!process) {
		process = {tgid, threads: []};
		k.processes.set(tgid, process);
	}

	process.threads.push(task);
	k.tasks.set(tid, task);
	task.program = options.program ?? (options.site ? {kind: 'static'} : {kind: 'spin'});
	if (options.site) {
		enter(k, task, options.site, {quiet: options.quiet ?? false, state: options.state});
	} else {
		run(k, task);
	}

	return task;
}

/**
fork() by thread `tid`: a new process whose only thread copies the creator's patch_state and
TIF_PATCH_PENDING (klp_copy_process). The creator then returns to user space (and switches, if
a transition waits for it).
*/
export function fork(k: KernelState, tid: number, options: Partial<SpawnOptions> = {}): Task {
	const parent = k.tasks.get(tid);
	if (!parent || parent.exited) {
		throw fsError('ESRCH', `no task ${tid}`);
	}

	const pid = allocPid(k, options.pid);
	const child = addThread(
		k,
		pid,
		pid,
		{
			comm: options.comm ?? parent.comm,
			ppid: parent.tgid,
			uid: parent.uid,
			cmdline: options.cmdline ?? parent.cmdline,
			site: options.site ?? null,
			program: options.program,
			cpu: options.cpu,
		},
		parent,
	);
	// A running creator returns to user space from clone() (and switches); a sleeping one stays put.
	if (!parent.kthread && parent.state === 'R') {
		updatePatchState(k, parent);
	}

	return child;
}
