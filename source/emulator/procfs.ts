/**
The emulated kernel seen through files: the same paths, formats, modes and errors a reader meets
on a real host (`/sys/kernel/livepatch/...`, `/proc/<pid>/task/<tid>/...`, `/dev/kmsg`).
The renderers are shared by the in-process port and the disk mirror.
*/
import {fsError, type ControlPort, type FsError, type FsPort, type KillSignal} from '../sources/fs-port.js';
import type {EmulatedKernel, KPatch, LogRecord, Task} from './kernel.js';
import {renderFrame, type Frame} from './symbols.js';

const stateNames: Record<string, string> = {
	R: 'R (running)',
	S: 'S (sleeping)',
	D: 'D (disk sleep)',
	T: 'T (stopped)',
	Z: 'Z (zombie)',
	I: 'I (idle)',
};

const taskFiles = ['patch_state', 'stat', 'status', 'cmdline', 'comm', 'wchan', 'stack'] as const;
const processFiles = [...taskFiles, 'task'] as const;

export type ProcessView = {readonly leader: Task; readonly threads: readonly Task[]};

const userStatMiddle = '18446744073709551615 94558229168128 94558229190225 140725544893184 0 0 0 0 0 0';
const kthreadStatMiddle = '18446744073709551615 0 0 0 0 0 0 0 2147483647 0';
const userStatTail =
	'0 0 0 94558229200000 94558229201000 94558230000000 140725544895000 140725544895020 140725544895020 140725544896000 0';
const kthreadStatTail = '0 0 0 0 0 0 0 0 0 0 0';

/**
`/proc/<pid>/task/<tid>/stat` (fs/proc/array.c do_task_stat), 52 fields: comm in parentheses
(it may hold spaces and `)`), 3 state, 4 ppid, 9 flags, 20 num_threads, 22 starttime.
*/
export function renderStat(task: Task, numThreads: number, isLeader: boolean): string {
	const salt = Math.imul(task.tid, 0x9e3779b1) >>> 0;
	const stime = (salt >>> 11) % 60;
	const sleeping = task.state === 'R' || task.state === 'Z' ? 0 : 1;
	if (task.kthread) {
		return `${task.tid} (${task.comm}) ${task.state} ${task.ppid} 0 0 0 -1 ${task.flags} 0 0 0 0 ${(salt >>> 9) % 12} ${stime} 0 0 ${20 + task.nice} ${task.nice} ${numThreads} 0 ${task.starttime} 0 0 ${kthreadStatMiddle} ${sleeping} 0 0 17 ${task.cpu} 0 0 ${kthreadStatTail}\n`;
	}

	return `${task.tid} (${task.comm}) ${task.state} ${task.ppid} ${task.tgid} ${task.tgid} 0 -1 ${task.flags} ${90 + ((salt >>> 5) % 400)} 0 0 0 ${(salt >>> 7) % 40} ${stime} 0 0 ${20 + task.nice} ${task.nice} ${numThreads} 0 ${task.starttime} ${2_412_544 + ((salt >>> 3) % 64) * 4096} ${200 + ((salt >>> 13) % 300)} ${userStatMiddle} ${sleeping} 0 0 ${isLeader ? 17 : -1} ${task.cpu} 0 0 ${userStatTail}\n`;
}

/** `Name:` escapes like seq_escape_str(ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\"). */
function escapeName(comm: string): string {
	return comm.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t');
}

const statusTail = [
	'SigQ:\t0/7664',
	'SigPnd:\t0000000000000000',
	'ShdPnd:\t0000000000000000',
	'SigBlk:\t0000000000000000',
].join('\n');
const capsRoot = 'CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff';
const capsUser = 'CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000';
const statusEnd = [
	'CapBnd:\t000001ffffffffff',
	'CapAmb:\t0000000000000000',
	'NoNewPrivs:\t0',
	'Seccomp:\t0',
	'Cpus_allowed:\t3',
	'Cpus_allowed_list:\t0-1',
	'voluntary_ctxt_switches:\t12',
	'nonvoluntary_ctxt_switches:\t1',
].join('\n');
const vmLines = 'VmPeak:\t    2412 kB\nVmSize:\t    2412 kB\nVmLck:\t       0 kB\nVmRSS:\t     800 kB\n';

/** `/proc/<pid>/status` (fs/proc/array.c proc_pid_status), the common lines. */
export function renderStatus(task: Task, numThreads: number): string {
	const uid = task.uid;
	const ids = `${uid}\t${uid}\t${uid}\t${uid}`;
	const session = task.kthread ? 0 : task.tgid;
	return `Name:\t${escapeName(task.comm)}
Umask:\t0022
State:\t${stateNames[task.state] ?? task.state}
Tgid:\t${task.tgid}
Ngid:\t0
Pid:\t${task.tid}
PPid:\t${task.ppid}
TracerPid:\t0
Uid:\t${ids}
Gid:\t${ids}
FDSize:\t${task.kthread ? 64 : 256}
Groups:\t${uid} 
NStgid:\t${task.tgid}
NSpid:\t${task.tid}
NSpgid:\t${session}
NSsid:\t${session}
${task.kthread ? '' : vmLines}Threads:\t${numThreads}
${statusTail}
SigIgn:\t${task.kthread ? 'ffffffffffffffff' : '0000000000000000'}
SigCgt:\t0000000000000000
${uid === 0 ? capsRoot : capsUser}
${statusEnd}
`;
}

export function renderCmdline(task: Task): string {
	return task.cmdline.length === 0 ? '' : `${task.cmdline.join('\0')}\0`;
}

const stackCache = new WeakMap<readonly Frame[], string>();
const oldStackCache = new WeakMap<readonly Frame[], string>();

/** `/proc/<pid>/stack`; frame arrays are shared between tasks, so is their text. */
export function renderStack(task: Task, hiddenAddresses: boolean): string {
	const cache = hiddenAddresses ? stackCache : oldStackCache;
	let text = cache.get(task.frames);
	if (text === undefined) {
		text = '';
		for (const frame of task.frames) {
			text += `${renderFrame(frame, hiddenAddresses)}\n`;
		}

		cache.set(task.frames, text);
	}

	return text;
}

/** A `/dev/kmsg` record: `level,seq,usec,flags;text` with the kernel's escaping of odd bytes. */
export function renderKmsg(record: LogRecord): string {
	let text = '';
	for (const char of record.text) {
		const code = char.charCodeAt(0);
		text += code < 0x20 || code === 0x7f || char === '\\' ? `\\x${code.toString(16).padStart(2, '0')}` : char;
	}

	return `${record.level},${record.seq},${record.us},-;${text}`;
}

export function renderUptime(kernel: EmulatedKernel): string {
	const uptime = kernel.uptimeUs() / 1e6;
	return `${uptime.toFixed(2)} ${(uptime * kernel.cpus.length * 0.93).toFixed(2)}\n`;
}

export function renderProcStat(kernel: EmulatedKernel): string {
	const btime = Math.floor(kernel.bootEpochMs / 1000);
	const ticks = Math.floor(kernel.uptimeUs() / 10_000);
	const cpuLines = kernel.cpus.map(
		(cpu) =>
			`cpu${cpu.index} ${Math.floor(ticks * 0.02)} 0 ${Math.floor(ticks * 0.03)} ${Math.floor(ticks * 0.95)} 3 0 1 0 0 0`,
	);
	let running = 0;
	let blocked = 0;
	for (const task of kernel.tasks.values()) {
		if (task.state === 'R') {
			running++;
		} else if (task.state === 'D') {
			blocked++;
		}
	}

	return [
		`cpu  ${Math.floor(ticks * 0.04)} 0 ${Math.floor(ticks * 0.06)} ${Math.floor(ticks * 1.9)} 6 0 2 0 0 0`,
		...cpuLines,
		'intr 0',
		`ctxt ${ticks * 37}`,
		`btime ${btime}`,
		`processes ${kernel.tasks.size + 400}`,
		`procs_running ${Math.max(1, running)}`,
		`procs_blocked ${blocked}`,
		'softirq 0 0 0 0 0 0 0 0 0 0 0',
		'',
	].join('\n');
}

export function renderModules(kernel: EmulatedKernel): string {
	let text = '';
	let address = 0xc0a00000;
	for (const module of [...kernel.modules.values()].reverse()) {
		const holders = kernel.holders(module.name);
		const taint = module.livepatch ? 'OEK' : 'OE';
		text += `${module.name} ${module.sizeBytes} ${module.refcnt + holders.length} ${holders.length > 0 ? `${holders.join(',')},` : '-'} Live 0xffffffff${address.toString(16)} (${taint})\n`;
		address += 0x10000;
	}

	return text;
}

/** What `/proc/cmdline` prints: `cmdline_proc_show` may be live patched. */
export function renderCmdlineFile(kernel: EmulatedKernel): string {
	const state = kernel.target === -1 ? -1 : kernel.target;
	const resolved = kernel.resolve('cmdline_proc_show', 'vmlinux', state);
	if (resolved.func?.output !== undefined) {
		return resolved.func.output;
	}

	return `BOOT_IMAGE=/boot/vmlinuz-${kernel.features.release} root=/dev/vda1 ro console=ttyS0 quiet\n`;
}

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

export function processView(kernel: EmulatedKernel, tgid: number): ProcessView | undefined {
	const process = kernel.processes.get(tgid);
	if (!process || process.threads.length === 0) {
		return undefined;
	}

	const leader = kernel.tasks.get(tgid) ?? process.threads[0]!;
	return {leader, threads: process.threads};
}

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
	let kmsgCursor = 0;

	const taskNode = (
		view: ProcessView,
		task: Task,
		rest: readonly string[],
		isTaskDir: boolean,
	): Node | undefined => {
		const [name, extra] = rest;
		if (name === undefined) {
			return dir(() => [...(isTaskDir ? taskFiles : processFiles)]);
		}

		if (name === 'task' && !isTaskDir) {
			if (extra === undefined) {
				return dir(() => view.threads.map((thread) => String(thread.tid)));
			}

			const thread = kernel.tasks.get(number(extra));
			return thread && thread.tgid === task.tgid ? taskNode(view, thread, rest.slice(2), true) : undefined;
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
	};

	const procStatic: Record<string, Node> = {
		stat: file(() => renderProcStat(kernel)),
		uptime: file(() => renderUptime(kernel)),
		modules: file(() => renderModules(kernel)),
		cmdline: file(() => renderCmdlineFile(kernel)),
		klp_sleeper: file(() => ''),
		klp_sleeper_killable: file(() => ''),
		klp_sleeper_ctl: file(() => '', 0o200),
	};

	const lookup = (path: string): Node | undefined => {
		if (!path.startsWith('/')) {
			return undefined;
		}

		const parts = path.split('/').filter((part) => part.length > 0);
		const [top, second, third, ...rest] = parts;
		if (top === undefined) {
			return dir(() => ['proc', 'sys', 'dev']);
		}

		if (top === 'proc') {
			if (second === undefined) {
				return dir(() => {
					const names: string[] = [];
					for (const tgid of kernel.processes.keys()) {
						names.push(String(tgid));
					}

					return [...names, ...Object.keys(procStatic).filter((name) => procEntryVisible(name)), 'sys'];
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
				return taskNode(view, task, parts.slice(2), task.tid !== task.tgid);
			}

			if (second === 'sys') {
				if (third === undefined) {
					return dir(() => ['kernel']);
				}

				if (third !== 'kernel') {
					return undefined;
				}

				const [name, more] = rest;
				if (name === undefined) {
					return dir(() => ['osrelease', 'tainted']);
				}

				if (more !== undefined) {
					return undefined;
				}

				if (name === 'osrelease') {
					return file(() => `${kernel.features.release}\n`);
				}

				return name === 'tainted' ? file(() => `${kernel.taintedMask}\n`, 0o644) : undefined;
			}

			const node = second === undefined ? undefined : procStatic[second];
			return node && third === undefined && procEntryVisible(second!) ? node : undefined;
		}

		if (top === 'sys') {
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

		if (top === 'dev') {
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

		return undefined;
	};

	const procEntryVisible = (name: string): boolean =>
		!name.startsWith('klp_sleeper') || kernel.modules.has('klp_sleeper');

	/**
	The hot paths of a scan (`/proc/<pid>/task/<tid>/patch_state` and `stat`, `/proc/<pid>/task`)
	without building lookup nodes: a 100,000-thread scan is dominated by them.
	*/
	const taskOf = (path: string): {task: Task; name: string} | undefined => {
		const parts = path.split('/');
		if (parts.length !== 6 || parts[1] !== 'proc' || parts[3] !== 'task') {
			return undefined;
		}

		const task = kernel.tasks.get(number(parts[4]));
		return task && task.tgid === number(parts[2]) ? {task, name: parts[5]!} : undefined;
	};

	const fastTaskFile = (path: string): string | undefined => {
		const found = taskOf(path);
		if (!found) {
			return undefined;
		}

		const {task, name} = found;
		if (name === 'patch_state') {
			if (!root && task.uid !== readerUid) {
				throw fsError('EACCES', `${path}: Permission denied`);
			}

			return `${task.patchState}\n`;
		}

		if (name === 'stat') {
			const threads = kernel.processes.get(task.tgid)?.threads.length ?? 1;
			return renderStat(task, threads, task.tid === task.tgid);
		}

		return undefined;
	};

	const fastTaskList = (path: string): string[] | undefined => {
		const parts = path.split('/');
		if (parts.length !== 4 || parts[1] !== 'proc' || parts[3] !== 'task') {
			return undefined;
		}

		const process = kernel.processes.get(number(parts[2]));
		return process?.threads.map((thread) => String(thread.tid));
	};

	const need = (path: string): Node => {
		const node = lookup(path);
		if (!node) {
			throw fsError('ENOENT', `${path}: No such file or directory`);
		}

		return node;
	};

	return {
		lookup,
		readFile(path) {
			const fast = fastTaskFile(path);
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
			const fast = fastTaskList(path);
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
				return lookup(path) !== undefined;
			} catch {
				return false;
			}
		},
		ownerUid(path) {
			const node = lookup(path);
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
