/**
How a task sleeps, wakes and returns to user space (kernel/sched, kernel/entry/common.c): it enters a
site through the ftrace handler and sleeps there; a signal or a wakeup makes it run out of the
function; on the way back to user space it switches its patch_state if TIF_PATCH_PENDING
(klp_update_patch_state, transition.c) and acts on a pending stop or fatal signal. Kthreads never
return to user space.
*/
import {frameOf} from '../symbols.js';
import {delays} from './delays.js';
import type {KernelState} from './state.js';
import {exit, exitGroup, mustTask, setSleep, touch} from './tasks.js';
import type {Program, Site, Task, TaskStateLetter} from './types.js';

/** The task calls into `site` and sleeps there (or, for `spin`, runs). */
export function enter(
	k: KernelState,
	task: Task,
	site: Site,
	options: {quiet?: boolean; state?: TaskStateLetter} = {},
): void {
	const entry = k.ftrace.siteEntry(site, task.patchState);
	const {top, frames} = entry;
	task.implPatch = top.func?.patch.module ?? null;
	task.onCpu = false;
	const state = options.state ?? (site.mode === 'interruptible' ? 'S' : site.mode === 'idle' ? 'I' : 'D');
	setSleep(task, site, state, frames, site.wchan ?? top.sym.name);
	if (site.voice && !options.quiet) {
		const who = task.kthread ? 'kthread' : `pid ${task.tid} (${task.comm})`;
		k.printk.log(6, `${voiceOf(task, site)} ${site.fn}: ${who} going to sleep (${site.mode})`);
	}

	if (task.program.kind === 'timed') {
		const {generation} = task;
		k.clock.at(task.program.exitAtUs, () => {
			if (task.generation === generation && !task.exited) {
				exit(k, task.tid);
			}
		});
	}
}

/** Who logs the module's sleep and wake lines: the original module, or the patch the task entered. */
function voiceOf(task: Task, site: Site): string {
	return task.implPatch === null ? `${site.voice}: ORIGINAL` : `${task.implPatch}: PATCHED`;
}

/** The task runs (on a CPU): user space for user tasks. */
export function run(k: KernelState, task: Task): void {
	task.onCpu = true;
	setSleep(task, task.site, 'R', [], '0');
	if (task.pending) {
		schedulePendingRunner(k, task);
	}
}

/**
A running task with TIF_PATCH_PENDING: a user task switches at its next kernel exit; a kthread
only where the generation has a scheduler hook (cond_resched(), 6.4-6.15).
*/
export function schedulePendingRunner(k: KernelState, task: Task): void {
	if (task.kthread && !k.features.kthreadCondResched) {
		return;
	}

	const {generation} = task;
	k.clock.after(k.clock.rand(delays.userExit), () => {
		if (task.generation === generation && task.onCpu && !task.exited) {
			updatePatchState(k, task);
		}
	});
}

/** klp_update_patch_state(): switch if TIF_PATCH_PENDING (no stack check: nothing on the stack). */
export function updatePatchState(k: KernelState, task: Task): void {
	if (task.pending && k.transitionPatch) {
		task.pending = false;
		task.patchState = k.target;
		touch(task);
	}
}

/**
Wake a sleeping task out of its site. `reason` decides what the code returns: a signal makes the
wait return -ERESTARTSYS, a release or timeout returns normally.
*/
export function wake(k: KernelState, task: Task, reason: 'signal' | 'release'): void {
	const site = task.site;
	if (!site || task.exited) {
		return;
	}

	if (site.voice) {
		if (task.kthread) {
			k.printk.log(6, `${voiceOf(task, site)} ${site.fn}: kthread woke up`);
		} else if (reason === 'signal') {
			const extra = task.implPatch === null ? ' sigpending=1' : '';
			k.printk.log(6, `${voiceOf(task, site)} ${site.fn}: pid ${task.tid} woke, ret=-512${extra}`);
		} else {
			k.printk.log(6, `${voiceOf(task, site)} ${site.fn}: pid ${task.tid} released`);
		}
	}

	// Running again, on the way out of the function.
	task.onCpu = true;
	task.implPatch = null;
	setSleep(task, site, 'R', [], '0');
	const {generation} = task;
	k.clock.after(k.clock.rand(delays.restart), () => {
		if (task.generation === generation && !task.exited) {
			afterWake(k, task, reason, site);
		}
	});
}

/**
A woken task has left the function. A kthread goes back to its wait (after a nap for `kloop`); a
user task returns to user space (exit_to_user_mode_loop): it switches if TIF_PATCH_PENDING, then
acts on a fatal signal or a stop, exits if its read returned data, or restarts the syscall.
*/
function afterWake(k: KernelState, task: Task, reason: 'signal' | 'release', site: Site): void {
	const program = task.program;
	if (task.kthread) {
		// Kthreads never return to user space: they switch only through a later stack check.
		task.onCpu = false;
		if (program.kind === 'kloop') {
			enter(k, task, program.napSite, {quiet: true});
			const {generation} = task;
			k.clock.after(program.napMs * 1000, () => {
				if (task.generation === generation && !task.exited) {
					enter(k, task, site);
				}
			});
		} else {
			enter(k, task, site, {quiet: true});
		}

		return;
	}

	// exit_to_user_mode_loop(): klp_update_patch_state() before signal handling.
	updatePatchState(k, task);
	if (task.fatal) {
		exitGroup(k, task.tgid);
		return;
	}

	if (task.stopPending) {
		stop(task, site);
		return;
	}

	if (reason === 'release' || program.kind === 'timed') {
		if (program.kind === 'reader' || program.kind === 'timed') {
			// Back in user space: print what was read, read EOF, exit.
			setSleep(task, site, 'R', [], '0');
			const {generation} = task;
			k.clock.after(k.clock.rand(delays.exit), () => {
				if (task.generation === generation) {
					exitGroup(k, task.tgid);
				}
			});
			return;
		}
	}

	// The syscall restarts (-ERESTARTSYS) in whatever implementation the task's state selects now.
	enter(k, task, site);
}

/** do_signal_stop(): the task stops (`T`) on its way to user space; SIGCONT restarts its syscall. */
export function stop(task: Task, restartSite: Site | null): void {
	task.stopPending = false;
	task.onCpu = false;
	setSleep(
		task,
		restartSite,
		'T',
		[
			'do_signal_stop',
			'get_signal',
			'arch_do_signal_or_restart',
			'exit_to_user_mode_prepare',
			'syscall_exit_to_user_mode',
			'do_syscall_64',
			'entry_SYSCALL_64_after_hwframe',
		].map((name) => frameOf(name, null)),
		'do_signal_stop',
	);
}

/**
The klp_sleeper module's control file: wake every task waiting on `voice`'s wait queues
(`echo release > /proc/klp_sleeper_ctl`). Returns how many were woken.
*/
export function release(k: KernelState, voice = 'klp_sleeper'): number {
	let woken = 0;
	for (const task of k.tasks.values()) {
		if (task.site?.voice === voice && (task.state === 'S' || task.state === 'D')) {
			wake(k, task, 'release');
			woken++;
		}
	}

	return woken;
}

/** Wake one sleeping task as its wait condition came true. */
export function wakeUp(k: KernelState, tid: number): void {
	const task = mustTask(k, tid);
	if (task.state === 'S' || task.state === 'D' || task.state === 'I') {
		wake(k, task, 'release');
	}
}

/** Make an existing task sleep in `site` (it enters through the ftrace handler now). */
export function sleepIn(k: KernelState, tid: number, site: Site, program?: Program): void {
	const task = mustTask(k, tid);
	if (program) {
		task.program = program;
	}

	task.stopPending = false;
	updatePatchState(k, task);
	enter(k, task, site);
}

/** Keep CPU `cpu`'s idle task deaf to wake_up_if_idle() kicks until `untilUs`. */
export function holdIdle(k: KernelState, cpu: number, untilUs: number): void {
	const entry = k.cpus[cpu];
	if (entry) {
		entry.kickIgnoredUntilUs = untilUs;
	}
}
