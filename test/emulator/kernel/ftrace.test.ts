/**
The ftrace side of livepatch (source/emulator/kernel/ftrace.ts, patch.c): a caller runs the newest
patch's function; during a transition a task still at 0 runs the one below it; a nop means the
original; a site's frames are resolved once per patch state until the stacks change.
*/
import {describe, expect, it} from 'vitest';
import {Ftrace} from '../../../source/emulator/kernel/ftrace.js';
import {newPatch} from '../../../source/emulator/kernel/patches.js';
import type {KPatch, Site} from '../../../source/emulator/kernel/types.js';

function patchOf(name: string, newName: string, nop = false): KPatch {
	const patch = newPatch(name, {
		name,
		objects: [{name: 'klp_sleeper', funcs: [{old: 'klp_sleeper_wait', new: newName}]}],
	});
	if (nop) {
		const object = patch.objects[0]!;
		object.funcs[0] = {...object.funcs[0]!, nop: true, newName: 'klp_sleeper_wait'};
	}

	return patch;
}

const resolvedName = (ftrace: Ftrace, state: -1 | 0 | 1) =>
	ftrace.resolve('klp_sleeper_wait', 'klp_sleeper', state).sym.name;

describe('Ftrace', () => {
	it('runs the original where nothing is patched', () => {
		const ftrace = new Ftrace();
		expect(ftrace.resolve('vfs_read', 'vmlinux', -1)).toEqual({
			sym: {name: 'vfs_read', module: null},
			func: null,
		});
		expect(ftrace.resolve('klp_sleeper_wait', 'klp_sleeper', 1).sym).toEqual({
			name: 'klp_sleeper_wait',
			module: 'klp_sleeper',
		});
	});

	it('runs the newest patch, and the one below it for a task at 0 while the newest is in transition', () => {
		const ftrace = new Ftrace();
		const first = patchOf('p1', 'patched_wait');
		const second = patchOf('p2', 'patched_wait_v2');
		ftrace.patchObject(first.objects[0]!);
		ftrace.patchObject(second.objects[0]!);
		expect(first.objects[0]!.patched).toBe(true);
		expect(resolvedName(ftrace, -1)).toBe('patched_wait_v2');
		const newest = second.objects[0]!.funcs[0]!;
		newest.transition = true;
		expect(resolvedName(ftrace, 0)).toBe('patched_wait');
		expect(resolvedName(ftrace, 1)).toBe('patched_wait_v2');
		expect(ftrace.resolve('klp_sleeper_wait', 'klp_sleeper', 1).sym.module).toBe('p2');
		expect(ftrace.below(newest)).toBe(first.objects[0]!.funcs[0]);
		ftrace.unpatchObject(second.objects[0]!);
		expect(second.objects[0]!.patched).toBe(false);
		expect(resolvedName(ftrace, 1)).toBe('patched_wait');
		ftrace.unpatchObject(first.objects[0]!);
		expect(resolvedName(ftrace, 1)).toBe('klp_sleeper_wait');
	});

	it('treats a nop of an atomic replace as the original, until it is discarded', () => {
		const ftrace = new Ftrace();
		const older = patchOf('p1', 'patched_wait');
		const replacing = patchOf('p2', 'unused', true);
		ftrace.patchObject(older.objects[0]!);
		ftrace.patchObject(replacing.objects[0]!);
		expect(resolvedName(ftrace, 1)).toBe('klp_sleeper_wait');
		ftrace.discardNop(replacing.objects[0]!.funcs[0]!);
		expect(resolvedName(ftrace, 1)).toBe('patched_wait');
	});

	it('shares a site’s resolved frames per patch state until the stacks change', () => {
		const ftrace = new Ftrace();
		const site: Site = {
			fn: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			mode: 'interruptible',
			callers: [{fn: 'vfs_read', object: 'vmlinux'}],
		};
		const before = ftrace.siteEntry(site, 1);
		expect(before.frames.map((frame) => frame.key)).toEqual([
			'klp_sleeper:klp_sleeper_wait',
			'vmlinux:vfs_read',
		]);
		expect(ftrace.siteEntry(site, 1)).toBe(before);
		ftrace.patchObject(patchOf('p1', 'patched_wait').objects[0]!);
		const after = ftrace.siteEntry(site, 1);
		expect(after).not.toBe(before);
		expect(after.frames[0]!.key).toBe('p1:patched_wait');
		expect(after.top.func?.patch.name).toBe('p1');
		expect(ftrace.siteEntry(site, 1)).toBe(after);
		ftrace.invalidate();
		expect(ftrace.siteEntry(site, 1)).not.toBe(after);
	});
});
