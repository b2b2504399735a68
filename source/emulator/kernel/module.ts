/**
Module loading (kernel/module): insmod of a target module (klp_module_coming applies waiting
patches) or of a livepatch module (its init calls klp_enable_patch, core.ts), the taints an
out-of-tree module sets, lsmod's "Used by", and rmmod (delete_module with O_NONBLOCK: EAGAIN while
anything holds the module; klp_module_going reverts patches of its object).
*/
import {fsError, type FsError} from '../../sources/fs-port.js';
import {enablePatch, refuseLoad} from './core.js';
import {newPatch} from './patches.js';
import type {KernelState} from './state.js';
import type {Module, PatchSpec} from './types.js';

/** An unsigned out-of-tree module taints O (4096) and E (8192), each logged once per boot. */
function taintOutOfTree(k: KernelState, name: string): void {
	k.printk.taint(name, 'O', 4096, 'loading out-of-tree module taints kernel.');
	k.printk.taint(
		name,
		'E',
		8192,
		'module verification failed: signature and/or required key missing - tainting kernel',
	);
}

/** Load a plain (target) module. */
export function loadModule(
	k: KernelState,
	name: string,
	options: {outOfTree?: boolean; sizeBytes?: number} = {},
): Module {
	if (k.modules.has(name)) {
		throw fsError('EEXIST', `module ${name} already loaded`);
	}

	if (options.outOfTree ?? true) {
		taintOutOfTree(k, name);
	}

	const module: Module = {
		name,
		refcnt: 0,
		livepatch: false,
		uses: [],
		sizeBytes: options.sizeBytes ?? 16_384,
	};
	k.modules.set(name, module);
	// klp_module_coming(): patches waiting for this object apply now.
	for (const patch of k.patches) {
		for (const object of patch.objects) {
			if (object.name === name && !object.patched) {
				k.printk.log(5, `livepatch: applying patch '${patch.name}' to loading module '${name}'`);
				k.ftrace.patchObject(object);
			}
		}
	}

	return module;
}

/** Users of a module (lsmod "Used by"). */
export function holders(k: KernelState, name: string): string[] {
	return [...k.modules.values()].filter((module) => module.uses.includes(name)).map((module) => module.name);
}

/** delete_module(2) with O_NONBLOCK, as rmmod does. */
export function rmmod(k: KernelState, name: string): void {
	const module = k.modules.get(name);
	if (!module) {
		throw fsError('ENOENT', `rmmod ${name}: No such file or directory`);
	}

	if (holders(k, name).length > 0 || module.refcnt > 0 || inUse(k, name)) {
		throw fsError('EAGAIN', `can't unload module '${name}': Resource temporarily unavailable`);
	}

	if (module.livepatch) {
		// < 5.1: the module exit unregisters its (disabled) patch.
		const index = k.registered.findIndex((patch) => patch.module === name);
		if (index >= 0) {
			k.registered[index]!.freed = true;
			k.registered.splice(index, 1);
		}
	} else {
		// klp_module_going(): patches of this object are reverted.
		for (const patch of k.patches) {
			for (const object of patch.objects) {
				if (object.name === name && object.patched) {
					k.printk.log(5, `livepatch: reverting patch '${patch.name}' on unloading module '${name}'`);
					k.ftrace.unpatchObject(object);
				}
			}
		}
	}

	k.modules.delete(name);
}

/** A task runs or sleeps in the module's code (its proc files are open). */
function inUse(k: KernelState, name: string): boolean {
	for (const task of k.tasks.values()) {
		if (task.site && (task.site.object === name || task.site.voice === name)) {
			return true;
		}
	}

	return false;
}

/**
insmod of a livepatch module: klp_enable_patch() from its init. Throws EEXIST, EINVAL or EBUSY
(another transition runs: "Device or resource busy"); while a completion holds klp_mutex the
load waits for it.
*/
export function insmod(
	k: KernelState,
	spec: PatchSpec,
	options: {cpu?: number; onQueued?: (error: FsError | null) => void} = {},
): 'done' | 'queued' {
	const name = spec.name.replaceAll('-', '_');
	if (k.modules.has(name)) {
		throw fsError('EEXIST', `insmod ${name}: File exists`);
	}

	if (spec.objects.length === 0 || spec.objects.some((object) => object.funcs.length === 0)) {
		throw fsError('EINVAL', `insmod ${name}: Invalid argument`);
	}

	if (spec.replace && !k.features.atomicReplace) {
		throw fsError('EINVAL', `insmod ${name}: atomic replace needs kernel >= 5.1`);
	}

	if (k.transitionPatch && !k.mutex.busy) {
		refuseLoad(k, name, spec);
	}

	return k.mutex.run(() => {
		if (k.transitionPatch) {
			refuseLoad(k, name, spec);
		}

		const module: Module = {
			name,
			refcnt: 0,
			livepatch: true,
			uses: spec.uses ?? [],
			sizeBytes: 16_384,
		};
		k.modules.set(name, module);
		taintOutOfTree(k, name);
		k.printk.taint(name, 'K', 32_768, 'tainting kernel with TAINT_LIVEPATCH');
		const patch = newPatch(name, spec);
		k.patches.push(patch);
		enablePatch(k, patch, options.cpu ?? 1, k.clock.rand(k.insmodInitUs));
	}, options.onQueued);
}
