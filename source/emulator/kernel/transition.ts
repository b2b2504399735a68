/**
The consistency model (kernel/livepatch/transition.c): klp_init_transition() and
klp_start_transition() set every task's patch_state and TIF_PATCH_PENDING; the ~1 s work retries
klp_try_switch_task() on every task and idle CPU (stack checks, "is running", "is sleeping on
function"); every 15 failed tries the fake signal (5.1+); completion, reversal and force. Nothing
completes on a timer: only the rules of kernel-livepatch.md §4 let a task switch.
*/
import type {PatchState} from '../../model/types.js';
import {symKey, type Sym} from '../symbols.js';
import {delays} from './delays.js';
import {freePatchLater} from './patches.js';
import {schedulePendingRunner, updatePatchState, wake} from './sched.js';
import type {KernelState} from './state.js';
import {touch} from './tasks.js';
import type {Cpu, KPatch, Task} from './types.js';

/** SIGNALS_TIMEOUT: a fake-signal round every 15 failed tries (~15 s). */
const SIGNALS_TIMEOUT = 15;

function direction(k: KernelState, state: PatchState = k.target): string {
	return state === 1 ? 'patching' : 'unpatching';
}

/** klp_init_transition(): every task (idle ones too) starts from the opposite state. */
export function initTransition(k: KernelState, patch: KPatch, state: 0 | 1): void {
	k.transitionPatch = patch;
	k.target = state;
	if (k.features.modernMessages) {
		k.printk.lp(7, `'${patch.name}': initializing ${direction(k, state)} transition`);
	}

	const initial: PatchState = state === 1 ? 0 : 1;
	for (const task of k.tasks.values()) {
		task.patchState = initial;
		touch(task);
	}

	for (const cpu of k.cpus) {
		cpu.idle.patchState = initial;
	}

	for (const object of patch.objects) {
		for (const func of object.funcs) {
			func.transition = true;
		}
	}

	k.ftrace.invalidate();
}

/** klp_start_transition(): mark the tasks that must move; reset the fake-signal counter. */
export function startTransition(k: KernelState): void {
	const patch = k.transitionPatch!;
	k.printk.lp(
		5,
		k.features.modernMessages
			? `'${patch.name}': starting ${direction(k)} transition`
			: `'${patch.name}': ${direction(k)}...`,
	);
	for (const task of k.tasks.values()) {
		if (task.patchState !== k.target) {
			task.pending = true;
			if (task.onCpu) {
				schedulePendingRunner(k, task);
			}
		}
	}

	for (const cpu of k.cpus) {
		if (cpu.idle.patchState !== k.target) {
			cpu.idle.pending = true;
		}
	}

	k.signalsCnt = 0;
}

/**
The end of klp_start_transition() on 6.4-6.15: sched_dynamic_klp_enable() points cond_resched() at the
livepatch hook (a static call rewritten at every call site), still under klp_mutex, before the caller
sets `enabled` and makes the first try; `then` is that. Tasks already pending may switch meanwhile.
Seconds under QEMU TCG on a busy host (`KernelOptions.condReschedEnableUs`); a reversal rewrites
nothing (the hook is already in place).
*/
export function afterStartRewrite(k: KernelState, then: () => void): void {
	const each = k.eachTransition;
	const counted = k.clock.uptimeUs() >= each.fromUs;
	const givenUs = counted ? each.enableUs.shift() : undefined;
	each.endUs = counted ? (each.disableUs.shift() ?? null) : null;
	const rewriteUs = staticCallRewriteUs(k, givenUs ?? null, k.condReschedEnableUs);
	if (rewriteUs === 0) {
		then();
		return;
	}

	k.mutex.holdFor(k.clock, rewriteUs, () => {
		idleLoopsPassed(k);
		then();
	});
}

/**
How long a start's or an end's rewrite of the preemption static calls takes (µs): none before 6.4 or
after 6.15, the time given for this transition (`eachTransition`), else a draw from `range` (the default
[0, 0] draws nothing: a seed's run stays what it was before the delay existed).
*/
function staticCallRewriteUs(
	k: KernelState,
	givenUs: number | null,
	range: readonly [number, number],
): number {
	if (!k.features.kthreadCondResched) return 0;
	if (givenUs !== null) return givenUs;
	return range[1] > 0 ? k.clock.rand(range) : 0;
}

/**
While the start's rewrite runs (its IPIs, and whatever else a busy machine schedules meanwhile), every
online CPU leaves its idle loop at least once, and do_idle() switches its idle task on the way out: on
Debian's 6.12 under TCG the first try after a long rewrite found nobody running when no task blocked (a
load with nothing to wait for returned with its transition complete), where 6.1's immediate first try
meets `swapper/0:0 is running`. A CPU deaf to kicks stays idle.
*/
function idleLoopsPassed(k: KernelState): void {
	const nowUs = k.clock.uptimeUs();
	for (const cpu of k.cpus) {
		if (cpu.idle.pending && cpu.kickIgnoredUntilUs <= nowUs && k.transitionPatch) {
			cpu.idle.pending = false;
			cpu.idle.patchState = k.target;
			touch(cpu.idle);
		}
	}
}

/** Functions whose presence on a stack refuses the switch, with the name the log prints. */
function checkedFunctions(k: KernelState): Map<string, string> {
	const checked = new Map<string, string>();
	const patch = k.transitionPatch;
	if (!patch) {
		return checked;
	}

	for (const object of patch.objects) {
		if (!object.patched) {
			continue;
		}

		for (const func of object.funcs) {
			let sym: Sym;
			if (k.target === 0) {
				sym = func.nop ? func.oldSym : func.newSym;
			} else {
				const previous = k.ftrace.below(func);
				sym = previous === undefined || previous.nop ? func.oldSym : previous.newSym;
			}

			checked.set(symKey(sym.name, sym.module), func.oldName);
		}
	}

	return checked;
}

/** klp_try_switch_task(). `callerCpu` is where the caller itself runs (its CPU's idle task is not running). */
function trySwitch(k: KernelState, task: Task, checked: Map<string, string>, callerCpu: number): boolean {
	if (task.patchState === k.target) {
		return true;
	}

	const running =
		task.idleOf === null
			? task.onCpu && task.cpu !== callerCpu
			: task.idleOf !== callerCpu && cpuIdle(k, task.idleOf);
	const who = `${task.comm}:${task.tid}`;
	if (running) {
		k.printk.lp(7, `klp_try_switch_task: ${who} is running`);
		return false;
	}

	const origin = k.features.switchTaskMessages ? 'klp_try_switch_task' : 'klp_check_stack';
	if (task.unreliableStack) {
		k.printk.lp(7, `${origin}: ${who} has an unreliable stack`);
		return false;
	}

	for (const frame of task.frames) {
		const oldName = checked.get(frame.key);
		if (oldName !== undefined) {
			k.printk.lp(7, `${origin}: ${who} is sleeping on function ${oldName}`);
			return false;
		}
	}

	task.patchState = k.target;
	task.pending = false;
	touch(task);
	return true;
}

/** A CPU runs its idle task when no task of ours is on it. */
function cpuIdle(k: KernelState, cpu: number): boolean {
	for (const task of k.tasks.values()) {
		if (task.onCpu && task.cpu === cpu && task.state === 'R') {
			return false;
		}
	}

	return true;
}

/** klp_try_complete_transition(). */
export function tryComplete(k: KernelState, callerCpu: number): boolean {
	if (!k.transitionPatch) {
		return true;
	}

	let complete = true;
	const checked = checkedFunctions(k);
	for (const process of k.processes.values()) {
		for (const task of process.threads) {
			if (!trySwitch(k, task, checked, callerCpu)) {
				complete = false;
			}
		}
	}

	for (const cpu of k.cpus) {
		if (!trySwitch(k, cpu.idle, checked, callerCpu)) {
			complete = false;
			kickIdle(k, cpu);
		}
	}

	if (!complete) {
		if (k.features.fakeSignals && k.signalsCnt > 0 && k.signalsCnt % SIGNALS_TIMEOUT === 0) {
			sendSignals(k);
		}

		k.signalsCnt++;
		scheduleWork(k);
		return false;
	}

	const givenUs = k.eachTransition.endUs;
	k.eachTransition.endUs = null;
	const rewriteUs = staticCallRewriteUs(k, givenUs, k.condReschedDisableUs);
	if (rewriteUs > 0) {
		// 6.4-6.15: sched_dynamic_klp_disable() rewrites the preemption static calls first, under
		// klp_mutex, before 'completing' (kernel-livepatch.md §8).
		k.mutex.hold(k.clock.uptimeUs() + rewriteUs);
		k.clock.after(rewriteUs, () => {
			completeTransition(k);
		});
		return true;
	}

	completeTransition(k);
	return true;
}

/** The idle task leaves its idle state and passes klp_update_patch_state() in do_idle(). */
function kickIdle(k: KernelState, cpu: Cpu): void {
	const idle = cpu.idle;
	const delay = k.features.idleKick ? k.clock.rand(delays.idleKick) : k.clock.rand(delays.idleWake);
	const at = Math.max(k.clock.uptimeUs() + delay, cpu.kickIgnoredUntilUs);
	if (cpu.kickIgnoredUntilUs > k.clock.uptimeUs() + delay) {
		// Deaf to kicks (a halted vCPU, a deep idle state): it stays on the old state for now.
		return;
	}

	k.clock.at(at, () => {
		if (idle.pending && k.transitionPatch) {
			idle.pending = false;
			idle.patchState = k.target;
		}
	});
}

function scheduleWork(k: KernelState): void {
	if (k.workPending) {
		return;
	}

	k.workPending = true;
	k.clock.at(k.clock.nextTickUs(), () => {
		k.workPending = false;
		if (k.transitionPatch && !k.mutex.busy) {
			tryComplete(k, 0);
		}
	});
}

/** klp_send_signals(). */
function sendSignals(k: KernelState): void {
	if (k.signalsCnt === SIGNALS_TIMEOUT) {
		k.printk.lp(5, 'signaling remaining tasks');
	}

	for (const process of k.processes.values()) {
		for (const task of [...process.threads]) {
			if (!task.pending) {
				continue;
			}

			if (task.kthread) {
				// wake_up_state(task, TASK_INTERRUPTIBLE): only interruptible sleeps.
				if (task.state === 'S' && task.site) {
					wakeLater(k, task);
				}
			} else if (task.state === 'S' && task.site) {
				// set_notify_signal(): an interruptible sleep returns -ERESTARTSYS.
				wakeLater(k, task);
			}
		}
	}
}

export function sendSignalsNow(k: KernelState): void {
	const saved = k.signalsCnt;
	k.signalsCnt = SIGNALS_TIMEOUT;
	sendSignals(k);
	k.signalsCnt = saved;
}

function wakeLater(k: KernelState, task: Task): void {
	const {generation} = task;
	k.clock.after(k.clock.rand(delays.wake), () => {
		if (task.generation === generation && !task.exited && task.pending) {
			wake(k, task, 'signal');
		}
	});
}

/** klp_complete_transition(), first half: under klp_mutex until the synchronisation is done. */
function completeTransition(k: KernelState): void {
	const patch = k.transitionPatch!;
	const target = k.target;
	if (k.features.modernMessages) {
		k.printk.lp(7, `'${patch.name}': completing ${direction(k)} transition`);
	}

	// An atomic replace drops the patches it replaced first (`enabled` 0 on them while `transition` still
	// reads 1 on the new one: 0.14 s on Debian's 6.12 under QEMU TCG), then synchronises.
	const replaced = patch.replace && target === 1 ? unpatchReplaced(k, patch) : [];
	if (target === 0) {
		for (const object of patch.objects) {
			if (object.patched) {
				k.ftrace.unpatchObject(object);
			}
		}
	}

	const wait = k.clock.rand(target === 0 ? delays.unpatchComplete : k.patchCompleteUs);
	k.mutex.hold(k.clock.uptimeUs() + wait);
	k.clock.after(wait, () => {
		finishTransition(k, patch, target, replaced);
	});
}

/**
klp_complete_transition(), second half, once the synchronisation is done: an atomic replace drops
the patches it replaced, every task goes back to -1, and the patches done with are freed.
*/
function finishTransition(
	k: KernelState,
	patch: KPatch,
	target: PatchState,
	replaced: readonly KPatch[],
): void {
	for (const object of patch.objects) {
		for (const func of object.funcs) {
			func.transition = false;
		}
	}

	k.ftrace.invalidate();

	for (const task of k.tasks.values()) {
		task.patchState = -1;
		task.pending = false;
		touch(task);
	}

	for (const cpu of k.cpus) {
		cpu.idle.patchState = -1;
		cpu.idle.pending = false;
	}

	k.printk.lp(5, `'${patch.name}': ${direction(k, target)} complete`);
	k.transitionPatch = null;
	k.target = -1;
	k.workPending = false;
	if (!patch.enabled) {
		freePatchLater(k, patch);
	}

	for (const older of replaced) {
		freePatchLater(k, older);
	}

	k.mutex.release();
}

/**
klp_unpatch_replaced_patches() + klp_discard_nops(): once an atomic replace completed, the older
patches leave ftrace and are disabled, and the replacing patch drops its nops and the objects it
made for them. Returns the replaced patches (to be freed).
*/
function unpatchReplaced(k: KernelState, patch: KPatch): KPatch[] {
	const replaced: KPatch[] = [];
	for (const older of k.patches) {
		if (older === patch) {
			continue;
		}

		for (const object of older.objects) {
			if (object.patched) {
				k.ftrace.unpatchObject(object);
			}
		}

		older.enabled = false;
		replaced.push(older);
	}

	for (const object of patch.objects) {
		for (let index = object.funcs.length - 1; index >= 0; index--) {
			const func = object.funcs[index]!;
			if (func.nop) {
				k.ftrace.discardNop(func);
				object.funcs.splice(index, 1);
			}
		}
	}

	for (let index = patch.objects.length - 1; index >= 0; index--) {
		if (patch.objects[index]!.dynamic) {
			patch.objects.splice(index, 1);
		}
	}

	return replaced;
}

/** klp_reverse_transition(). */
export function reverseTransition(k: KernelState): void {
	const patch = k.transitionPatch!;
	if (k.features.modernMessages) {
		k.printk.lp(
			7,
			`'${patch.name}': reversing transition from ${k.target === 1 ? 'patching to unpatching' : 'unpatching to patching'}`,
		);
	}

	for (const task of k.tasks.values()) {
		task.pending = false;
	}

	for (const cpu of k.cpus) {
		cpu.idle.pending = false;
	}

	patch.enabled = !patch.enabled;
	k.target = k.target === 1 ? 0 : 1;
	startTransition(k);
}

/** klp_force_transition(). */
export function forceTransition(k: KernelState): void {
	const patch = k.transitionPatch!;
	k.printk.lp(4, 'forcing remaining tasks to the patched state');
	for (const process of k.processes.values()) {
		for (const task of process.threads) {
			updatePatchState(k, task);
		}
	}

	for (const cpu of k.cpus) {
		if (cpu.idle.pending) {
			cpu.idle.pending = false;
			cpu.idle.patchState = k.target;
		}
	}

	if (!k.features.forceMarksRemovedOnly) {
		for (const other of k.patches) {
			other.forced = true;
		}

		if (k.features.legacyRegistration) {
			k.globalForced = true;
		}
	} else if (k.target === 0) {
		patch.forced = true;
	} else if (patch.replace) {
		for (const other of k.patches) {
			if (other !== patch) {
				other.forced = true;
			}
		}
	}
}
