/**
kill(2) (kernel/signal.c) for the four signals the dashboard and the scenarios send: SIGSTOP stops a
thread group (at once when it can act on it, else when it would return to user space), SIGCONT
resumes it, SIGKILL and SIGTERM end it. Kernel threads ignore signals; a D sleeper is not stopped
until it wakes, and only a killable one is woken by a fatal signal (kernel-livepatch.md §4.5).
*/
import {fsError, type KillSignal} from '../../sources/fs-port.js';
import {delays} from './delays.js';
import {enter, run, stop, updatePatchState, wake} from './sched.js';
import type {KernelState} from './state.js';
import {exitGroup} from './tasks.js';
import type {Task} from './types.js';

/** Deliver a signal to the thread group of `pid` (kill(2)). `uid` is the sender's. */
export function kill(k: KernelState, pid: number, signal: KillSignal, uid = 0): void {
	const target = k.tasks.get(pid);
	if (!target || pid <= 0) {
		throw fsError('ESRCH', `kill ${pid}: No such process`);
	}

	if (uid !== 0 && uid !== target.uid) {
		throw fsError('EPERM', `kill ${pid}: Operation not permitted`);
	}

	if (signal === 0 || target.kthread) {
		// Kernel threads ignore signals; kill(2) still succeeds.
		return;
	}

	const threads = [...(k.processes.get(target.tgid)?.threads ?? [])];
	switch (signal) {
		case 'SIGSTOP': {
			for (const task of threads) {
				signalStop(k, task);
			}

			break;
		}

		case 'SIGCONT': {
			for (const task of threads) {
				task.stopPending = false;
				if (task.state === 'T') {
					if (task.site) {
						enter(k, task, task.site);
					} else {
						run(k, task);
					}
				}
			}

			break;
		}

		case 'SIGKILL':
		case 'SIGTERM': {
			if (target.tgid === 1) {
				return;
			}

			for (const task of threads) {
				signalFatal(k, task);
			}

			break;
		}
	}
}

function signalStop(k: KernelState, task: Task): void {
	if (task.state === 'T' || task.state === 'Z') {
		return;
	}

	if (task.state === 'S' && task.site) {
		wake(k, task, 'signal');
		task.stopPending = true;
		return;
	}

	if (task.state === 'R' && task.onCpu) {
		updatePatchState(k, task);
		stop(task, task.site);
		return;
	}

	// D (killable or not), I: the stop waits until the task would return to user space.
	task.stopPending = true;
}

function signalFatal(k: KernelState, task: Task): void {
	task.fatal = true;
	if (task.state === 'Z') {
		return;
	}

	const wakeable =
		task.state === 'S' || task.state === 'T' || (task.state === 'D' && task.site?.mode === 'killable');
	if (wakeable && task.site && task.state !== 'T') {
		wake(k, task, 'signal');
	} else if (wakeable || task.state === 'R') {
		const {generation} = task;
		k.clock.after(k.clock.rand(delays.exit), () => {
			if (task.generation === generation && !task.exited) {
				exitGroup(k, task.tgid);
			}
		});
	}

	// D (uninterruptible) and I: the fatal signal waits until the task wakes up.
}
