import {hashString} from './prng.js';

/** A kernel function: its name and the module it lives in (null for vmlinux). */
export type Sym = {readonly name: string; readonly module: string | null};

/** One kernel stack frame as `/proc/<pid>/stack` prints it: `name+0xoff/0xsize [module]`. */
export type Frame = Sym & {readonly off: number; readonly size: number; readonly key: string};

/** `vmlinux:vfs_read`, `klp_sleeper:klp_sleeper_wait`: identity of a function for stack checks. */
export function symKey(name: string, object: string | null): string {
	return `${object ?? 'vmlinux'}:${name}`;
}

/** Offsets and sizes seen on the Debian 6.1 guest (kernel-livepatch.md §6, §8); others are derived. */
const known: Record<string, readonly [number, number]> = {
	klp_sleeper_wait: [0xb4, 0x14c],
	klp_sleeper_wait_killable: [0xb8, 0x150],
	klp_sleeper_kthread_wait: [0x4b, 0x50],
	'do_sleep_read.cold': [0x28, 0x8a],
	patched_wait: [0xcb, 0x15a],
	patched_wait_killable: [0xcf, 0x15e],
	patched_kthread_wait: [0x4f, 0x58],
	proc_reg_read: [0x56, 0xa0],
	vfs_read: [0xa5, 0x310],
	ksys_read: [0x6f, 0xf0],
	do_syscall_64: [0x55, 0xb0],
	entry_SYSCALL_64_after_hwframe: [0x63, 0xcd],
	kthread: [0xd7, 0x100],
	ret_from_fork: [0x1f, 0x30],
	do_signal_stop: [0x228, 0x230],
	get_signal: [0x97, 0x890],
	arch_do_signal_or_restart: [0x3d, 0x7b0],
	exit_to_user_mode_prepare: [0x184, 0x1e0],
	syscall_exit_to_user_mode: [0x17, 0x40],
};

const cache = new Map<string, Frame>();

export function frameOf(name: string, module: string | null): Frame {
	const key = symKey(name, module);
	let frame = cache.get(key);
	if (!frame) {
		const fixed = known[name];
		let off: number;
		let size: number;
		if (fixed) {
			[off, size] = fixed;
		} else {
			const hash = hashString(key);
			size = 0x40 + ((hash & 0x7f) << 3);
			off = 0x8 + ((hash >>> 8) % (size - 0x10));
		}

		frame = {name, module, off, size, key};
		cache.set(key, frame);
	}

	return frame;
}

/**
One `/proc/<pid>/stack` line. Since 4.19 the address is printed as `[<0>]` (hashed pointers
hidden); older kernels printed the raw address.
*/
export function renderFrame(frame: Frame, hiddenAddresses: boolean): string {
	const module = frame.module === null ? '' : ` [${frame.module}]`;
	const low = ((frame.module === null ? 0x1000000 : 0xa00000) + (hashString(frame.key) & 0xffff0) + frame.off)
		.toString(16)
		.padStart(7, '0');
	const address = hiddenAddresses ? '0' : `ffffffff${frame.module === null ? '8' : 'c'}${low}`;
	return `[<${address}>] ${frame.name}+0x${frame.off.toString(16)}/0x${frame.size.toString(16)}${module}`;
}
