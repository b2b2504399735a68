/**
Enabling and disabling a patch (kernel/livepatch/core.c): __klp_enable_patch() with its init window
under klp_mutex, the EBUSY of a load during a transition (its directory lingers), the sysfs stores
(enabled_store: reverse, disable, or < 5.1 re-enable; force_store; signal_store of 4.16-5.0) and
__klp_disable_patch() with the stacking rules of < 5.1. sysfs.ts parses the write that gets here.
*/
import {fsError} from '../../sources/fs-port.js';
import {delays} from './delays.js';
import {addNops, newPatch, visiblePatches} from './patches.js';
import type {KernelState} from './state.js';
import {
	afterStartRewrite,
	forceTransition,
	initTransition,
	reverseTransition,
	sendSignalsNow,
	startTransition,
	tryComplete,
} from './transition.js';
import type {KPatch, PatchSpec} from './types.js';

/**
klp_enable_patch() refused with EBUSY: klp_init_patch() had created the sysfs directory (`enabled` 0,
`transition` 0) before __klp_enable_patch() saw the running transition; it stays until the failed
load has torn it down (observed ~0.8 s under TCG). The error is thrown at once; the directory lingers.
*/
export function refuseLoad(k: KernelState, name: string, spec: PatchSpec): never {
	const lingerUs = k.clock.rand(k.refusedLoadUs);
	if (lingerUs > 0 && !visiblePatches(k).some((patch) => patch.name === name)) {
		const patch = newPatch(name, spec);
		k.refused.push(patch);
		k.clock.after(lingerUs, () => {
			k.refused.splice(k.refused.indexOf(patch), 1);
			patch.freed = true;
		});
	}

	throw fsError('EBUSY', `insmod ${name}: Device or resource busy`);
}

/**
__klp_enable_patch(). With an init window (`KernelOptions.insmodInitUs`) the load holds klp_mutex
from klp_init_transition() (transition 1, every task 0, `enabled` still 0) until ftrace is registered
(`patched` 1), the transition started and `enabled` set; then the first try runs. On 6.4-6.15 the start
rewrites the preemption static calls first (`afterStartRewrite`): `patched` 1 while `enabled` is still 0.
*/
export function enablePatch(k: KernelState, patch: KPatch, cpu: number, windowUs: number): void {
	k.printk.lp(5, `enabling patch '${patch.name}'`);
	if (!patch.holdsModule) {
		patch.holdsModule = true;
		k.modules.get(patch.module)!.refcnt++;
	}

	if (patch.replace) {
		addNops(k, patch);
	}

	initTransition(k, patch, 1);
	const finish = () => {
		for (const object of patch.objects) {
			if (objectLoaded(k, object.name)) {
				k.ftrace.patchObject(object);
			}
		}

		startTransition(k);
		afterStartRewrite(k, () => {
			patch.enabled = true;
			tryComplete(k, cpu);
		});
	};

	if (windowUs === 0) {
		k.clock.spend(k.clock.rand(delays.register));
		finish();
		return;
	}

	k.mutex.holdFor(k.clock, windowUs, finish);
}

function objectLoaded(k: KernelState, name: string): boolean {
	return name === 'vmlinux' || k.modules.has(name);
}

/** __klp_disable_patch(). */
function disablePatch(k: KernelState, patch: KPatch, cpu: number): void {
	if (k.transitionPatch) {
		throw fsError('EBUSY', 'Device or resource busy');
	}

	if (k.features.legacyRegistration) {
		// Stacking: only the last enabled patch may be disabled.
		const index = k.patches.indexOf(patch);
		if (k.patches.slice(index + 1).some((other) => other.enabled)) {
			throw fsError('EBUSY', 'Device or resource busy');
		}
	}

	initTransition(k, patch, 0);
	startTransition(k);
	afterStartRewrite(k, () => {
		patch.enabled = false;
		tryComplete(k, cpu);
	});
}

/** enabled_store(). */
export function enabledStore(k: KernelState, patch: KPatch, enabled: boolean): void {
	if (patch.enabled === enabled) {
		throw fsError('EINVAL', 'Invalid argument');
	}

	if (patch === k.transitionPatch) {
		reverseTransition(k);
	} else if (!enabled) {
		disablePatch(k, patch, 1);
	} else if (k.features.legacyRegistration) {
		reenablePatch(k, patch);
	} else {
		throw fsError('EINVAL', 'Invalid argument');
	}
}

/** force_store() with `1`: only the transition patch can be forced. */
export function forceStore(k: KernelState, patch: KPatch): void {
	if (patch !== k.transitionPatch) {
		throw fsError('EINVAL', 'Invalid argument');
	}

	forceTransition(k);
}

/** signal_store() with `1` (4.16-5.0): klp_send_signals() on demand, for the transition patch only. */
export function signalStore(k: KernelState, patch: KPatch): void {
	if (patch !== k.transitionPatch) {
		throw fsError('EINVAL', 'Invalid argument');
	}

	sendSignalsNow(k);
}

/** < 5.1: a registered, disabled patch can be enabled again (stacking rules apply). */
function reenablePatch(k: KernelState, patch: KPatch): void {
	if (k.transitionPatch) {
		throw fsError('EBUSY', 'Device or resource busy');
	}

	const last = k.patches.at(-1);
	if (last && !last.enabled) {
		throw fsError('EBUSY', 'Device or resource busy');
	}

	k.registered.splice(k.registered.indexOf(patch), 1);
	k.patches.push(patch);
	// The writer of `enabled` (< 5.1) waits for __klp_enable_patch: no window seen from its side.
	enablePatch(k, patch, 1, 0);
}
