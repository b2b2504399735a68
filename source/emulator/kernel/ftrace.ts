/**
The ftrace side of livepatch (kernel/livepatch/patch.c): for every patched function a stack of
klp_funcs, newest first (`klp_ops.func_stack`), and klp_ftrace_handler(), which picks the
implementation a caller runs from the task's patch_state. A task resolves every frame of the site it
enters once, on entry, so it keeps sleeping in the code it entered.
*/
import type {PatchState} from '../../model/types.js';
import {frameOf, symKey, type Frame, type Sym} from '../symbols.js';
import type {KFunc, KObject, Site} from './types.js';

/** What a caller of a function runs: the symbol, and the klp_func that redirected it (null: original). */
export type Resolved = {readonly sym: Sym; readonly func: KFunc | null};

/** A site's resolved top function and stack frames, for one patch state. */
export type SiteEntry = {readonly top: Resolved; readonly frames: readonly Frame[]};

function opsKey(func: KFunc): string {
	return symKey(func.oldName, func.object === 'vmlinux' ? null : func.object);
}

export class Ftrace {
	private readonly ops = new Map<string, KFunc[]>();
	/** Bumped whenever what the handler resolves to may change. */
	private version = 0;
	private readonly siteCache = new WeakMap<Site, {version: number; byState: Map<PatchState, SiteEntry>}>();

	/** klp_ftrace_handler(): which implementation of `fn` a task with `patchState` runs. */
	resolve(fn: string, object: string, patchState: PatchState): Resolved {
		const stack = this.ops.get(symKey(fn, object === 'vmlinux' ? null : object));
		let func = stack?.[0];
		if (func?.transition && patchState === 0) {
			func = stack?.[1];
		}

		if (!func || func.nop) {
			return {sym: {name: fn, module: object === 'vmlinux' ? null : object}, func: null};
		}

		return {sym: func.newSym, func};
	}

	/**
	Resolved frames of a site for a patch state, shared by every task that enters it until the
	handler's view changes: 100,000 sleepers share a few dozen arrays.
	*/
	siteEntry(site: Site, patchState: PatchState): SiteEntry {
		let cached = this.siteCache.get(site);
		if (!cached || cached.version !== this.version) {
			cached = {version: this.version, byState: new Map()};
			this.siteCache.set(site, cached);
		}

		let entry = cached.byState.get(patchState);
		if (!entry) {
			const top = this.resolve(site.fn, site.object, patchState);
			const frames: Frame[] = [frameOf(top.sym.name, top.sym.module)];
			for (const caller of site.callers) {
				const resolved = this.resolve(caller.fn, caller.object, patchState);
				frames.push(frameOf(resolved.sym.name, resolved.sym.module));
			}

			entry = {top, frames};
			cached.byState.set(patchState, entry);
		}

		return entry;
	}

	/** The implementation below `func` on its function's stack (an older patch's), if any. */
	below(func: KFunc): KFunc | undefined {
		const stack = this.ops.get(symKey(func.oldName, func.oldSym.module)) ?? [];
		return stack[stack.indexOf(func) + 1];
	}

	/** klp_patch_object(): the object's functions go on top of their stacks (`patched` 1). */
	patchObject(object: KObject): void {
		for (const func of object.funcs) {
			const key = opsKey(func);
			const stack = this.ops.get(key) ?? [];
			stack.unshift(func);
			this.ops.set(key, stack);
		}

		object.patched = true;
		this.version++;
	}

	/** klp_unpatch_object(): the object's functions leave their stacks (`patched` 0). */
	unpatchObject(object: KObject): void {
		for (const func of object.funcs) {
			const key = opsKey(func);
			const stack = this.ops.get(key);
			if (stack) {
				const index = stack.indexOf(func);
				if (index >= 0) {
					stack.splice(index, 1);
				}

				if (stack.length === 0) {
					this.ops.delete(key);
				}
			}
		}

		object.patched = false;
		this.version++;
	}

	/** klp_discard_nops(), one function: a nop leaves its stack once the replacement completed. */
	discardNop(func: KFunc): void {
		const key = symKey(func.oldName, func.oldSym.module);
		const stack = this.ops.get(key);
		stack?.splice(stack.indexOf(func), 1);
		if (stack?.length === 0) {
			this.ops.delete(key);
		}
	}

	/** `func->transition` or the stacks changed: resolved sites are stale. */
	invalidate(): void {
		this.version++;
	}
}
