/**
The livepatch patches themselves (kernel/livepatch/core.c, the data side): klp_init_patch() builds
a patch, its objects and functions; klp_add_nops() covers what an atomic replace leaves out; the
lists a patch moves through (klp_patches, registered, freeing, refused) and where sysfs finds it;
klp_free_patch_async() when a transition is done with it.
*/
import {delays} from './delays.js';
import type {KernelState} from './state.js';
import type {FuncSpec, KFunc, KObject, KPatch, PatchSpec} from './types.js';

/** The patch with this name that still has a sysfs directory. */
export function findPatch(k: KernelState, name: string): KPatch | undefined {
	return k.patches.find((patch) => patch.name === name) ?? k.registered.find((patch) => patch.name === name);
}

/** Patches with a sysfs directory, in `klp_patches` order. */
export function visiblePatches(k: KernelState): KPatch[] {
	return [...k.patches, ...k.registered, ...k.freeing, ...k.refused];
}

/** `stack_order`: 1-based position in `klp_patches`, null off the list. */
export function stackOrder(k: KernelState, patch: KPatch): number | null {
	const index = k.patches.indexOf(patch);
	return index >= 0 ? index + 1 : null;
}

/** klp_init_patch(): the patch, its objects and functions as the sysfs directory shows them. */
export function newPatch(name: string, spec: PatchSpec): KPatch {
	const patch: KPatch = {
		name,
		module: name,
		replace: Boolean(spec.replace),
		enabled: false,
		forced: false,
		objects: [],
		freed: false,
		holdsModule: false,
	};
	for (const objectSpec of spec.objects) {
		const object: KObject = {name: objectSpec.name, patched: false, funcs: [], dynamic: false};
		for (const funcSpec of objectSpec.funcs) {
			object.funcs.push(makeFunc(patch, object.name, funcSpec, false));
		}

		patch.objects.push(object);
	}

	return patch;
}

function makeFunc(patch: KPatch, object: string, spec: FuncSpec, nop: boolean): KFunc {
	const module = object === 'vmlinux' ? null : object;
	return {
		oldName: spec.old,
		newName: nop ? spec.old : spec.new,
		object,
		sympos: spec.sympos ?? 0,
		nop,
		output: spec.output,
		transition: false,
		patch,
		newSym: nop ? {name: spec.old, module} : {name: spec.new, module: patch.module},
		oldSym: {name: spec.old, module},
	};
}

/** klp_add_nops(): cover every function of older patches the replacing patch does not change. */
export function addNops(k: KernelState, patch: KPatch): void {
	for (const older of k.patches) {
		if (older === patch) {
			continue;
		}

		for (const olderObject of older.objects) {
			let object = patch.objects.find((candidate) => candidate.name === olderObject.name);
			for (const olderFunc of olderObject.funcs) {
				if (
					object?.funcs.some((func) => func.oldName === olderFunc.oldName && func.sympos === olderFunc.sympos)
				) {
					continue;
				}

				if (!object) {
					object = {name: olderObject.name, patched: false, funcs: [], dynamic: true};
					patch.objects.push(object);
				}

				object.funcs.push(
					makeFunc(
						patch,
						object.name,
						{old: olderFunc.oldName, new: olderFunc.oldName, sympos: olderFunc.sympos},
						true,
					),
				);
			}
		}
	}
}

/** klp_free_patch_async(): the kobject goes (the sysfs directory disappears), then module_put unless forced. */
export function freePatchLater(k: KernelState, patch: KPatch): void {
	const index = k.patches.indexOf(patch);
	if (index >= 0) {
		k.patches.splice(index, 1);
	}

	if (k.features.legacyRegistration) {
		// < 5.1: the patch stays registered (sysfs remains) until its module is removed.
		if (patch.holdsModule && !k.globalForced) {
			patch.holdsModule = false;
			k.modules.get(patch.module)!.refcnt--;
		}

		k.registered.push(patch);
		return;
	}

	k.freeing.push(patch);
	k.clock.after(k.clock.rand(delays.free), () => {
		k.freeing.splice(k.freeing.indexOf(patch), 1);
		patch.freed = true;
		if (patch.holdsModule && !patch.forced) {
			patch.holdsModule = false;
			const module = k.modules.get(patch.module);
			if (module) {
				module.refcnt--;
			}
		}
	});
}
