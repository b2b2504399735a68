/**
The task list (kernel/pid.c, kernel/exit.c): task_struct records, pid allocation, a task's state
changes, exit and zombies. Creating tasks is fork.ts; what a task does once it exists (sleep, wake,
run) is sched.ts.
*/
import {fsError} from '../../sources/fs-port.js';
import {frameOf, type Frame} from '../symbols.js';
import type {KernelState} from './state.js';
import type {Program, Site, Task, TaskStateLetter} from './types.js';

const staticProgram: Program = {kind: 'static'};

/** A new task_struct: sleeping nowhere, patch_state -1. */
export function makeTask(fields: {
	tid: number;
	tgid: number;
	comm: string;
	ppid: number;
	uid: number;
	kthread: boolean;
	flags: number;
	starttime: number;
	cmdline: readonly string[];
	nice: number;
	idleOf: number | null;
}): Task {
	// One literal with every field in a fixed order: 100,000 tasks share one hidden class.
	return {
		tid: fields.tid,
		tgid: fields.tgid,
		comm: fields.comm.slice(0, 15),
		ppid: fields.ppid,
		uid: fields.uid,
		kthread: fields.kthread,
		flags: fields.flags,
		starttime: fields.starttime,
		cmdline: fields.cmdline,
		nice: fields.nice,
		state: 'S',
		patchState: -1,
		pending: false,
		onCpu: false,
		cpu: 0,
		frames: [],
		wchan: '0',
		site: null,
		implPatch: null,
		program: staticProgram,
		stopPending: false,
		fatal: false,
		unreliableStack: false,
		exited: false,
		version: 0,
		generation: 0,
		idleOf: fields.idleOf,
	};
}

/** The idle task of CPU `index` (`swapper/N`, pid 0): always running, in do_idle(). */
export function makeIdleTask(index: number): Task {
	const idle = makeTask({
		tid: 0,
		tgid: 0,
		comm: `swapper/${index}`,
		ppid: 0,
		uid: 0,
		kthread: true,
		flags: 0x00208042,
		starttime: 0,
		cmdline: [],
		nice: 0,
		idleOf: index,
	});
	idle.state = 'R';
	idle.onCpu = true;
	idle.cpu = index;
	idle.frames = ['do_idle', 'cpu_startup_entry', index === 0 ? 'rest_init' : 'start_secondary'].map((name) =>
		frameOf(name, null),
	);
	return idle;
}

/** The requested pid (EEXIST if taken), or the next free one. */
export function allocPid(k: KernelState, requested?: number): number {
	if (requested !== undefined) {
		if (k.tasks.has(requested) || requested <= 0) {
			throw fsError('EEXIST', `pid ${requested} is in use`);
		}

		k.nextPid = Math.max(k.nextPid, requested + 1);
		k.lastPid = requested;
		k.forks++;
		return requested;
	}

	while (k.tasks.has(k.nextPid)) {
		k.nextPid++;
	}

	k.lastPid = k.nextPid;
	k.forks++;
	return k.nextPid++;
}

/** The task with this tid, or ESRCH. */
export function mustTask(k: KernelState, tid: number): Task {
	const task = k.tasks.get(tid);
	if (!task) {
		throw fsError('ESRCH', `no task ${tid}`);
	}

	return task;
}

/** A visible change: the disk mirror rewrites the task. */
export function touch(task: Task): void {
	task.version++;
}

/** A new state, stack and wchan; timers of the previous state are void (`generation`). */
export function setSleep(
	task: Task,
	site: Site | null,
	state: TaskStateLetter,
	frames: readonly Frame[],
	wchan: string,
): void {
	task.site = site;
	task.state = state;
	task.frames = frames;
	task.wchan = wchan;
	task.generation++;
	touch(task);
}

/** The thread exits (the whole process when it is the last). */
export function exit(k: KernelState, tid: number): void {
	const task = k.tasks.get(tid);
	if (!task || task.exited) {
		return;
	}

	task.exited = true;
	task.generation++;
	task.onCpu = false;
	k.tasks.delete(tid);
	const process = k.processes.get(task.tgid);
	if (process) {
		const index = process.threads.indexOf(task);
		if (index >= 0) {
			process.threads.splice(index, 1);
		}

		if (process.threads.length === 0) {
			k.processes.delete(task.tgid);
		}
	}
}

/** exit_group(): every thread of the process exits. */
export function exitGroup(k: KernelState, tgid: number): void {
	const process = k.processes.get(tgid);
	for (const thread of [...(process?.threads ?? [])]) {
		exit(k, thread.tid);
	}
}

/** The task becomes a zombie: it stays in the task list (and /proc) until reaped. */
export function zombie(k: KernelState, tid: number): void {
	const task = mustTask(k, tid);
	setSleep(task, null, 'Z', [], '0');
	task.onCpu = false;
	task.program = {kind: 'static'};
}
