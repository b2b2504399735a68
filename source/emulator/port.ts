/**
The in-process ports over a live emulated kernel: `createPort` answers reads of `/proc`, `/sys` and
`/dev` from the kernel's state with the modes, owners and errors a reader meets on a real host
(EACCES for another user's patch_state, write-only `force`, ENOENT for a vanished patch), and
`createControl` sends writes and signals through the kernel's rules. What each file says is
procfs.ts; the disk mirror (mirror.ts) writes the same texts to a directory instead.
*/
import {fsError, type ControlPort, type FsError, type FsPort, type KillSignal} from '../sources/fs-port.js';
import type {EmulatedKernel, KPatch, Task} from './kernel.js';
import {
	renderCmdline,
	renderCmdlineFile,
	renderKmsg,
	renderModules,
	renderProcStat,
	renderStack,
	renderStat,
	renderStatus,
	renderLoadavg,
	renderUptime,
} from './procfs.js';

type Node =
	| {readonly kind: 'dir'; readonly entries: () => string[]}
	| {readonly kind: 'file'; readonly read: () => string; readonly owner?: number; readonly mode: number};

function dir(entries: () => string[]): Node {
	return {kind: 'dir', entries};
}

function file(read: () => string, mode = 0o444, owner?: number): Node {
	return {kind: 'file', read, mode, owner};
}

function number(text: string | undefined): number {
	return text !== undefined && /^\d+$/.test(text) ? Number(text) : -1;
}

const taskFiles = ['patch_state', 'stat', 'status', 'cmdline', 'comm', 'wchan', 'stack'] as const;
const processFiles = [...taskFiles, 'task'] as const;

type ProcessView = {readonly leader: Task; readonly threads: readonly Task[]};

function processView(kernel: EmulatedKernel, tgid: number): ProcessView | undefined {
	const process = kernel.processes.get(tgid);
	if (!process || process.threads.length === 0) {
		return undefined;
	}

	const leader = kernel.tasks.get(tgid) ?? process.threads[0]!;
	return {leader, threads: process.threads};
}

/** Who reads, and what the port built once for them. */
type Reader = {
	readonly kernel: EmulatedKernel;
	readonly readerUid: number;
	readonly root: boolean;
	/** The fixed files of `/proc` (stat, uptime, modules, cmdline, the klp_sleeper files). */
	readonly procStatic: Record<string, Node>;
};

function patchDir(kernel: EmulatedKernel, patch: KPatch, rest: readonly string[]): Node | undefined {
	const f = kernel.features;
	const attributes: Record<string, Node> = {
		enabled: file(() => (patch.enabled ? '1\n' : '0\n'), 0o644),
		transition: file(() => (kernel.transitionPatch === patch ? '1\n' : '0\n')),
	};
	if (f.forceFile) {
		attributes['force'] = file(() => '', 0o200);
	}

	if (f.signalFile) {
		attributes['signal'] = file(() => '', 0o200);
	}

	if (f.replaceAttr) {
		attributes['replace'] = file(() => (patch.replace ? '1\n' : '0\n'));
	}

	if (f.stackOrderAttr) {
		attributes['stack_order'] = file(() => `${kernel.stackOrder(patch) ?? 0}\n`);
	}

	const [first, second, third] = rest;
	if (first === undefined) {
		return dir(() => [...Object.keys(attributes), ...patch.objects.map((object) => object.name)]);
	}

	const attribute = attributes[first];
	if (attribute) {
		return second === undefined ? attribute : undefined;
	}

	const object = patch.objects.find((candidate) => candidate.name === first);
	if (!object) {
		return undefined;
	}

	const functions = object.funcs.map((func) => `${func.oldName},${func.sympos || 1}`);
	if (second === undefined) {
		return dir(() => [...(f.patchedAttr ? ['patched'] : []), ...functions]);
	}

	if (third !== undefined) {
		return undefined;
	}

	if (second === 'patched' && f.patchedAttr) {
		return file(() => (object.patched ? '1\n' : '0\n'));
	}

	return functions.includes(second) ? dir(() => []) : undefined;
}

/** `/proc/<pid>/...` or `/proc/<pid>/task/<tid>/...` of `task`. */
function taskNode(
	reader: Reader,
	view: ProcessView,
	task: Task,
	rest: readonly string[],
	isTaskDir: boolean,
): Node | undefined {
	const {kernel, root, readerUid} = reader;
	const [name, extra] = rest;
	if (name === undefined) {
		return dir(() => [...(isTaskDir ? taskFiles : processFiles)]);
	}

	if (name === 'task' && !isTaskDir) {
		if (extra === undefined) {
			return dir(() => view.threads.map((thread) => String(thread.tid)));
		}

		const thread = kernel.tasks.get(number(extra));
		return thread && thread.tgid === task.tgid
			? taskNode(reader, view, thread, rest.slice(2), true)
			: undefined;
	}

	const owner = task.uid;
	const own = root || owner === readerUid;
	const threads = view.threads.length;
	if (extra !== undefined) {
		return undefined;
	}

	switch (name) {
		case 'patch_state': {
			return file(
				() => {
					if (!own) {
						throw fsError('EACCES', `patch_state of ${task.tid}: Permission denied`);
					}

					return `${task.patchState}\n`;
				},
				0o400,
				owner,
			);
		}

		case 'stat': {
			return file(() => renderStat(task, threads, task.tid === task.tgid), 0o444, owner);
		}

		case 'status': {
			return file(() => renderStatus(task, threads), 0o444, owner);
		}

		case 'cmdline': {
			return file(() => renderCmdline(view.leader), 0o444, owner);
		}

		case 'comm': {
			return file(() => `${task.comm}\n`, 0o644, owner);
		}

		case 'wchan': {
			return file(() => (own ? task.wchan : '0'), 0o444, owner);
		}

		case 'stack': {
			return file(
				() => {
					if (!root) {
						throw fsError('EACCES', `stack of ${task.tid}: Permission denied`);
					}

					return renderStack(task, kernel.features.hiddenStackAddresses);
				},
				0o400,
				owner,
			);
		}

		default: {
			return undefined;
		}
	}
}

function procStaticFiles(kernel: EmulatedKernel): Record<string, Node> {
	return {
		stat: file(() => renderProcStat(kernel)),
		uptime: file(() => renderUptime(kernel)),
		loadavg: file(() => renderLoadavg(kernel)),
		modules: file(() => renderModules(kernel)),
		cmdline: file(() => renderCmdlineFile(kernel)),
		klp_sleeper: file(() => ''),
		klp_sleeper_killable: file(() => ''),
		klp_sleeper_ctl: file(() => '', 0o200),
	};
}

/** The klp_sleeper module's proc files exist only while it is loaded. */
function procEntryVisible(kernel: EmulatedKernel, name: string): boolean {
	return !name.startsWith('klp_sleeper') || kernel.modules.has('klp_sleeper');
}

/** `/proc/...`: the processes (and, unlisted, every thread id), the fixed files, `/proc/sys/kernel`. */
function procNode(reader: Reader, parts: readonly string[]): Node | undefined {
	const {kernel, procStatic} = reader;
	const [, second, third, ...rest] = parts;
	if (second === undefined) {
		return dir(() => {
			const names: string[] = [];
			for (const tgid of kernel.processes.keys()) {
				names.push(String(tgid));
			}

			return [...names, ...Object.keys(procStatic).filter((name) => procEntryVisible(kernel, name)), 'sys'];
		});
	}

	const id = number(second);
	if (id > 0) {
		const task = kernel.tasks.get(id);
		if (!task) {
			return undefined;
		}

		const view = processView(kernel, task.tgid)!;
		// /proc/<tid> works for non-leader threads though readdir hides them.
		return taskNode(reader, view, task, parts.slice(2), task.tid !== task.tgid);
	}

	if (second === 'sys') {
		return procSysNode(kernel, third, rest);
	}

	const node = procStatic[second];
	return node && third === undefined && procEntryVisible(kernel, second) ? node : undefined;
}

/** `/proc/sys/kernel/{ns_last_pid,osrelease,tainted}`. */
function procSysNode(
	kernel: EmulatedKernel,
	third: string | undefined,
	rest: readonly string[],
): Node | undefined {
	if (third === undefined) {
		return dir(() => ['kernel']);
	}

	if (third !== 'kernel') {
		return undefined;
	}

	const [name, more] = rest;
	if (name === undefined) {
		return dir(() => ['ns_last_pid', 'osrelease', 'tainted']);
	}

	if (more !== undefined) {
		return undefined;
	}

	if (name === 'osrelease') {
		return file(() => `${kernel.features.release}\n`);
	}

	if (name === 'ns_last_pid') {
		return file(() => `${kernel.lastPid}\n`, 0o666);
	}

	return name === 'tainted' ? file(() => `${kernel.taintedMask}\n`, 0o644) : undefined;
}

/** `/sys/kernel/livepatch/...` and `/sys/module/<module>/refcnt`. */
function sysNode(kernel: EmulatedKernel, parts: readonly string[]): Node | undefined {
	const [, second, third, ...rest] = parts;
	if (second === undefined) {
		return dir(() => ['kernel', 'module']);
	}

	if (second === 'kernel') {
		if (third === undefined) {
			return dir(() => ['livepatch']);
		}

		if (third !== 'livepatch') {
			return undefined;
		}

		const [name, ...inner] = rest;
		if (name === undefined) {
			return dir(() => kernel.visiblePatches().map((patch) => patch.name));
		}

		const patch = kernel.visiblePatches().find((candidate) => candidate.name === name);
		return patch ? patchDir(kernel, patch, inner) : undefined;
	}

	if (second === 'module') {
		if (third === undefined) {
			return dir(() => [...kernel.modules.keys()]);
		}

		const module = kernel.modules.get(third);
		if (!module) {
			return undefined;
		}

		const [name, more] = rest;
		if (name === undefined) {
			return dir(() => ['refcnt']);
		}

		return name === 'refcnt' && more === undefined
			? file(() => `${module.refcnt + kernel.holders(module.name).length}\n`)
			: undefined;
	}

	return undefined;
}

/** `/dev/kmsg`, read whole (the port's `readKmsg` reads it as a stream). */
function devNode(kernel: EmulatedKernel, parts: readonly string[]): Node | undefined {
	const [, second, third] = parts;
	if (second === undefined) {
		return dir(() => ['kmsg']);
	}

	return second === 'kmsg' && third === undefined
		? file(
				() =>
					kernel
						.logSince(0)
						.map((record) => `${renderKmsg(record)}\n`)
						.join(''),
				0o644,
			)
		: undefined;
}

function lookup(reader: Reader, path: string): Node | undefined {
	if (!path.startsWith('/')) {
		return undefined;
	}

	const parts = path.split('/').filter((part) => part.length > 0);
	switch (parts[0]) {
		case undefined: {
			return dir(() => ['proc', 'sys', 'dev']);
		}

		case 'proc': {
			return procNode(reader, parts);
		}

		case 'sys': {
			return sysNode(reader.kernel, parts);
		}

		case 'dev': {
			return devNode(reader.kernel, parts);
		}

		default: {
			return undefined;
		}
	}
}

/**
The hot paths of a scan (`/proc/<pid>/task/<tid>/patch_state` and `stat`, `/proc/<pid>/task`)
without building lookup nodes: a 100,000-thread scan is dominated by them.
*/
function taskOf(kernel: EmulatedKernel, path: string): {task: Task; name: string} | undefined {
	const parts = path.split('/');
	if (parts.length !== 6 || parts[1] !== 'proc' || parts[3] !== 'task') {
		return undefined;
	}

	const task = kernel.tasks.get(number(parts[4]));
	return task && task.tgid === number(parts[2]) ? {task, name: parts[5]!} : undefined;
}

function fastTaskFile(reader: Reader, path: string): string | undefined {
	const found = taskOf(reader.kernel, path);
	if (!found) {
		return undefined;
	}

	const {task, name} = found;
	if (name === 'patch_state') {
		if (!reader.root && task.uid !== reader.readerUid) {
			throw fsError('EACCES', `${path}: Permission denied`);
		}

		return `${task.patchState}\n`;
	}

	if (name === 'stat') {
		const threads = reader.kernel.processes.get(task.tgid)?.threads.length ?? 1;
		return renderStat(task, threads, task.tid === task.tgid);
	}

	return undefined;
}

function fastTaskList(kernel: EmulatedKernel, path: string): string[] | undefined {
	const parts = path.split('/');
	if (parts.length !== 4 || parts[1] !== 'proc' || parts[3] !== 'task') {
		return undefined;
	}

	const process = kernel.processes.get(number(parts[2]));
	return process?.threads.map((thread) => String(thread.tid));
}

export type PortOptions = {
	/** The effective uid the world sees the reader as. @default 0 */
	readonly readerUid?: number;
	/** kernel.dmesg_restrict: non-root readers get no /dev/kmsg. @default true */
	readonly dmesgRestrict?: boolean;
};

/** Build the read side of the world: a `FsPort` over the live kernel. */
export function createPort(
	kernel: EmulatedKernel,
	options: PortOptions = {},
): FsPort & {lookup(path: string): Node | undefined} {
	const readerUid = options.readerUid ?? 0;
	const root = readerUid === 0;
	const reader: Reader = {kernel, readerUid, root, procStatic: procStaticFiles(kernel)};
	let kmsgCursor = 0;

	const need = (path: string): Node => {
		const node = lookup(reader, path);
		if (!node) {
			throw fsError('ENOENT', `${path}: No such file or directory`);
		}

		return node;
	};

	return {
		lookup: (path) => lookup(reader, path),
		readFile(path) {
			const fast = fastTaskFile(reader, path);
			if (fast !== undefined) {
				return fast;
			}

			const node = need(path);
			if (node.kind === 'dir') {
				throw fsError('EISDIR', `${path}: Is a directory`);
			}

			if ((node.mode & 0o444) === 0) {
				// Write-only attributes (force, signal): kernfs refuses the open even for root.
				throw fsError('EACCES', `${path}: Permission denied`);
			}

			if (!root && (node.mode & 0o004) === 0 && node.owner !== readerUid) {
				throw fsError('EACCES', `${path}: Permission denied`);
			}

			return node.read();
		},
		readdir(path) {
			const fast = fastTaskList(kernel, path);
			if (fast !== undefined) {
				return fast;
			}

			const node = need(path);
			if (node.kind !== 'dir') {
				throw fsError('ENOTDIR', `${path}: Not a directory`);
			}

			return node.entries();
		},
		exists(path) {
			try {
				return lookup(reader, path) !== undefined;
			} catch {
				return false;
			}
		},
		ownerUid(path) {
			const node = lookup(reader, path);
			if (!node) {
				return undefined;
			}

			if (node.kind === 'file') {
				return node.owner ?? 0;
			}

			const match = /^\/proc\/(\d+)(?:\/task\/(\d+))?\/?$/.exec(path);
			if (match) {
				return kernel.tasks.get(Number(match[2] ?? match[1]))?.uid;
			}

			return 0;
		},
		readKmsg() {
			if (!root && (options.dmesgRestrict ?? true)) {
				return undefined;
			}

			const records = kernel.logSince(kmsgCursor);
			kmsgCursor = kernel.logEndSeq;
			return records.map((record) => renderKmsg(record));
		},
		readerUid() {
			return readerUid;
		},
	};
}

/** The acting side: writes and signals go through the kernel's rules, as user `uid`. */
export function createControl(kernel: EmulatedKernel, uid = 0): ControlPort {
	return {
		async write(path: string, value: string): Promise<void> {
			return new Promise<void>((resolve, reject) => {
				try {
					const result = kernel.write(path, value, uid, (error: FsError | null) => {
						if (error) {
							reject(error);
						} else {
							resolve();
						}
					});
					if (result === 'done') {
						resolve();
					}
				} catch (error) {
					reject(error as Error);
				}
			});
		},
		async kill(pid: number, signal: KillSignal): Promise<void> {
			kernel.kill(pid, signal, uid);
		},
	};
}
