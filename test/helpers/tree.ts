/**
Builds fake livepatch worlds on disk (`<root>/sys/kernel/livepatch/...`, `<root>/proc/...`,
`<root>/dev/kmsg`) for reader tests, with the file modes the kernel uses (test-sysfs.sh):
`enabled` 0644, `transition`/`replace`/`stack_order`/`patched` 0444, `force`/`signal` 0200,
`patch_state`/`stack` 0400. Values are written verbatim when given as strings, so tests can plant
garbage; numbers are written as the kernel prints them (`"%d\n"`).
*/
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fsError, type FsPort} from '../../source/sources/fs-port.js';

export type Value = number | string;

export type ObjectSpec = {
	readonly name: string;
	/** `patched` file (6.1+); omitted when undefined. */
	readonly patched?: Value;
	/** `<func>,<sympos>` directory names. */
	readonly functions: readonly string[];
};

export type PatchSpec = {
	readonly name: string;
	readonly enabled: Value;
	/** Omitted when null (4.0-4.11). Default 0. */
	readonly transition?: Value | null;
	/** `force` file (4.16+). Default true. */
	readonly force?: boolean;
	/** `signal` file (4.16-5.0). Default false. */
	readonly signal?: boolean;
	/** `replace` (6.11+), omitted when undefined. */
	readonly replace?: Value;
	/** `stack_order` (6.14+), omitted when undefined. */
	readonly stackOrder?: Value;
	readonly objects?: readonly ObjectSpec[];
};

export type ThreadSpec = {
	readonly pid: number;
	/** Default: pid (the group leader). */
	readonly tid?: number;
	readonly comm?: string;
	readonly state?: string;
	readonly ppid?: number;
	readonly flags?: number;
	readonly starttime?: number;
	/** `patch_state` content; omitted when null. Default -1. */
	readonly patchState?: Value | null;
	/** `wchan` content; default "0". */
	readonly wchan?: string;
	/** `stack` lines (joined with newlines) or raw content; default empty. */
	readonly stack?: readonly string[] | string;
	/** Raw `stat` content instead of a generated line. */
	readonly rawStat?: string;
};

export type TreeSpec = {
	/** `/proc/sys/kernel/osrelease`; omitted when null. Default 6.1.0-56-cloud-amd64. */
	readonly release?: string | null;
	/** `btime` of /proc/stat. Default 1700000000. */
	readonly btime?: number;
	/** Create `/sys/kernel/livepatch` (default true). */
	readonly livepatch?: boolean;
	readonly patches?: readonly PatchSpec[];
	readonly threads?: readonly ThreadSpec[];
	/** `/dev/kmsg` lines (a regular file); omitted when undefined. */
	readonly kmsg?: readonly string[];
};

export type Tree = {
	readonly root: string;
	/** Absolute host path of a world path. */
	path(worldPath: string): string;
	write(worldPath: string, content: string, mode?: number): void;
	append(worldPath: string, content: string): void;
	remove(worldPath: string): void;
	addThread(thread: ThreadSpec): void;
	addPatch(patch: PatchSpec): void;
	cleanup(): void;
};

export const PF_KTHREAD = 0x00200000;

function text(value: Value): string {
	return typeof value === 'number' ? `${value}\n` : value;
}

/** A full 52-field `stat` line as the kernel prints it. */
export function statLine(thread: ThreadSpec): string {
	const tid = thread.tid ?? thread.pid;
	const fields = [
		thread.state ?? 'S', // 3 state
		thread.ppid ?? 1, // 4 ppid
		thread.pid, // 5 pgrp
		thread.pid, // 6 session
		0, // 7 tty_nr
		-1, // 8 tpgid
		thread.flags ?? 0x400000, // 9 flags (PF_FORKNOEXEC)
		...Array.from({length: 12}, () => 0), // 10-21
		thread.starttime ?? 1000, // 22 starttime
		...Array.from({length: 30}, () => 0), // 23-52
	];
	return `${tid} (${thread.comm ?? 'task'}) ${fields.join(' ')}\n`;
}

export function makeTree(spec: TreeSpec = {}): Tree {
	const root = mkdtempSync(path.join(tmpdir(), 'klptop-tree-'));
	const hostPath = (worldPath: string) => path.join(root, worldPath);

	function write(worldPath: string, content: string, mode = 0o644): void {
		const file = hostPath(worldPath);
		mkdirSync(path.dirname(file), {recursive: true});
		writeFileSync(file, content);
		chmodSync(file, mode);
	}

	function addPatch(patch: PatchSpec): void {
		const dir = `/sys/kernel/livepatch/${patch.name}`;
		mkdirSync(hostPath(dir), {recursive: true, mode: 0o755});
		write(`${dir}/enabled`, text(patch.enabled), 0o644);
		if (patch.transition !== null) {
			write(`${dir}/transition`, text(patch.transition ?? 0), 0o444);
		}

		if (patch.force ?? true) {
			write(`${dir}/force`, '', 0o200);
		}

		if (patch.signal) {
			write(`${dir}/signal`, '', 0o200);
		}

		if (patch.replace !== undefined) {
			write(`${dir}/replace`, text(patch.replace), 0o444);
		}

		if (patch.stackOrder !== undefined) {
			write(`${dir}/stack_order`, text(patch.stackOrder), 0o444);
		}

		for (const object of patch.objects ?? []) {
			mkdirSync(hostPath(`${dir}/${object.name}`), {recursive: true, mode: 0o755});
			if (object.patched !== undefined) {
				write(`${dir}/${object.name}/patched`, text(object.patched), 0o444);
			}

			for (const fn of object.functions) {
				mkdirSync(hostPath(`${dir}/${object.name}/${fn}`), {recursive: true, mode: 0o755});
			}
		}
	}

	function addThread(thread: ThreadSpec): void {
		const tid = thread.tid ?? thread.pid;
		const dir = `/proc/${thread.pid}/task/${tid}`;
		mkdirSync(hostPath(dir), {recursive: true, mode: 0o555});
		write(`${dir}/stat`, thread.rawStat ?? statLine(thread), 0o444);
		const patchState = thread.patchState === undefined ? -1 : thread.patchState;
		if (patchState !== null) {
			write(`${dir}/patch_state`, text(patchState), 0o400);
		}

		write(`${dir}/wchan`, thread.wchan ?? '0', 0o444);
		const stack = thread.stack ?? [];
		write(
			`${dir}/stack`,
			typeof stack === 'string' ? stack : stack.map((line) => `${line}\n`).join(''),
			0o400,
		);
		if (tid === thread.pid) {
			// The process-level files mirror the leader (the reader walks task/).
			write(`/proc/${thread.pid}/stat`, thread.rawStat ?? statLine(thread), 0o444);
		}
	}

	if (spec.release !== null) {
		write('/proc/sys/kernel/osrelease', `${spec.release ?? '6.1.0-56-cloud-amd64'}\n`);
	}

	write(
		'/proc/stat',
		`cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 0\nctxt 100\nbtime ${spec.btime ?? 1_700_000_000}\nprocesses 10\n`,
		0o444,
	);
	// Non-numeric /proc entries the reader must skip.
	write('/proc/self', 'not a task dir\n');
	mkdirSync(hostPath('/proc/sys/kernel'), {recursive: true});
	if (spec.livepatch ?? true) {
		mkdirSync(hostPath('/sys/kernel/livepatch'), {recursive: true, mode: 0o755});
	}

	for (const patch of spec.patches ?? []) {
		addPatch(patch);
	}

	for (const thread of spec.threads ?? []) {
		addThread(thread);
	}

	if (spec.kmsg !== undefined) {
		write('/dev/kmsg', spec.kmsg.map((line) => `${line}\n`).join(''), 0o644);
	}

	return {
		root,
		path: hostPath,
		write,
		append(worldPath, content) {
			appendFileSync(hostPath(worldPath), content);
		},
		remove(worldPath) {
			rmSync(hostPath(worldPath), {recursive: true, force: true});
		},
		addThread,
		addPatch,
		cleanup() {
			rmSync(root, {recursive: true, force: true});
		},
	};
}

export type Fault = {
	readonly method: 'readFile' | 'readdir';
	/** Exact world path, or a predicate. */
	readonly path: string | ((path: string) => boolean);
	readonly code: string;
	/** Fail only from this call on (1-based count of matching calls); default 1. */
	readonly after?: number;
};

/** Wrap a port so chosen reads fail with chosen codes, as a racing kernel would make them. */
export function faultyPort(port: FsPort, faults: readonly Fault[], readerUid?: number): FsPort {
	const calls = new Map<Fault, number>();
	function check(method: Fault['method'], worldPath: string): void {
		for (const fault of faults) {
			const matches = typeof fault.path === 'string' ? fault.path === worldPath : fault.path(worldPath);
			if (fault.method === method && matches) {
				const count = (calls.get(fault) ?? 0) + 1;
				calls.set(fault, count);
				if (count >= (fault.after ?? 1)) {
					throw fsError(fault.code, `${method} ${worldPath}`);
				}
			}
		}
	}

	return {
		readFile(worldPath) {
			check('readFile', worldPath);
			return port.readFile(worldPath);
		},
		readdir(worldPath) {
			check('readdir', worldPath);
			return port.readdir(worldPath);
		},
		exists: (worldPath) => port.exists(worldPath),
		ownerUid: (worldPath) => port.ownerUid(worldPath),
		readKmsg: () => port.readKmsg(),
		readerUid: () => readerUid ?? port.readerUid(),
	};
}

/** Real stack lines observed on Debian 6.1.0-56 (kernel-livepatch.md §6, §8). */
export const STACKS = {
	/** S2: `cat` reading /proc sleeping interruptibly in the function being patched. */
	interruptibleReader: [
		'[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]',
		'[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]',
		'[<0>] proc_reg_read+0x56/0xa0',
		'[<0>] vfs_read+0xa5/0x310',
		'[<0>] ksys_read+0x67/0xf0',
		'[<0>] do_syscall_64+0x55/0xb0',
		'[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
	],
	/** S5: the killable (D) variant. */
	killableReader: [
		'[<0>] klp_sleeper_wait_killable+0x9c/0x130 [klp_sleeper]',
		'[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]',
		'[<0>] proc_reg_read+0x56/0xa0',
		'[<0>] vfs_read+0xa5/0x310',
		'[<0>] ksys_read+0x67/0xf0',
		'[<0>] do_syscall_64+0x55/0xb0',
		'[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
	],
	/** S4: the kthread. */
	kthread: [
		'[<0>] klp_sleeper_kthread_wait+0x4b/0x50 [klp_sleeper]',
		'[<0>] kt_main+0x2a/0x60 [klp_sleeper]',
		'[<0>] kthread+0xd7/0x100',
		'[<0>] ret_from_fork+0x1f/0x30',
	],
	/** S3: unpatching while the reader sleeps in the patch's new code. */
	newCode: [
		'[<0>] patched_wait+0xcb/0x15a [klp_sleeper_patch]',
		'[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]',
		'[<0>] proc_reg_read+0x56/0xa0',
		'[<0>] vfs_read+0xa5/0x310',
		'[<0>] ksys_read+0x67/0xf0',
		'[<0>] do_syscall_64+0x55/0xb0',
		'[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
	],
	/** S2 after SIGSTOP. */
	stopped: [
		'[<0>] do_signal_stop+0x114/0x230',
		'[<0>] get_signal+0x48c/0x8f0',
		'[<0>] arch_do_signal_or_restart+0x3e/0x250',
		'[<0>] exit_to_user_mode_prepare+0x19a/0x1f0',
		'[<0>] syscall_exit_to_user_mode+0x1b/0x40',
	],
	/** A task reading /proc/cmdline (the vmlinux patch's function). */
	cmdline: [
		'[<0>] cmdline_proc_show+0x1c/0x40',
		'[<0>] seq_read_iter+0x11f/0x4b0',
		'[<0>] proc_reg_read_iter+0x51/0xa0',
		'[<0>] vfs_read+0x201/0x350',
	],
} as const;

/** The S2-S8 patch as sysfs shows it on 6.1. */
export function sleeperPatch(overrides: Partial<PatchSpec> = {}): PatchSpec {
	return {
		name: 'klp_sleeper_patch',
		enabled: 1,
		transition: 1,
		objects: [
			{
				name: 'klp_sleeper',
				patched: 1,
				functions: ['klp_sleeper_kthread_wait,1', 'klp_sleeper_wait,1', 'klp_sleeper_wait_killable,1'],
			},
		],
		...overrides,
	};
}
