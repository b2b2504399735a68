/**
A live copy of the emulated tree on disk, so any reader (`klptop --root DIR`, a shell loop, the C
lower bound of the benchmark) can watch it. It owns only a directory it prepared itself (marker
`.klptop-emulated-tree`), and `sync()` writes only what changed. The layout, the refusal rules and
the hard-link pool are in ARCHITECTURE.md (The emulator).
*/
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {Worker} from 'node:worker_threads';
import {errorCode} from '../sources/fs-port.js';
import type {Emulation} from './emulation.js';
import type {EmulatedKernel, Task} from './kernel.js';
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
import {handleRequest, type Request} from './protocol.js';

export type DiskMirror = {
	/** Apply writes made on disk by others, then bring the tree up to date. */
	sync(): void;
	/** Stop serving (socket, state file); the tree stays. */
	close(): Promise<void>;
};

export const stateFileName = '.klptop-emulator.json';
export const socketFileName = '.klptop-emulator.sock';
const logFileName = '.klptop-emulator.log';
/** Written into a directory the mirror prepared: only such a directory (or an empty one) is cleaned. */
export const markerFileName = '.klptop-emulated-tree';
const markerText =
	'klptop emulate wrote this tree. klptop replaces proc/, sys/, dev/ and .pool/ here when it emulates\n' +
	'into this directory again; remove this file and it will refuse to.\n';

/** A directory the mirror will not write into (not empty and not its own); the message says which and why. */
export class MirrorDirError extends Error {}
const ownDirs = ['proc', 'sys', 'dev', '.pool'];
/** ext4 allows 65,000 links to one inode. */
const maxLinks = 60_000;

type TaskEntry = {
	version: number;
	threads: number;
	patchState: string;
	stat: string;
	status: string;
	wchan: string;
	stack: string;
	cmdline: string;
	isLeader: boolean;
};

type PooledName = 'wchan' | 'stack' | 'cmdline';
const pooledNames: readonly PooledName[] = ['wchan', 'stack', 'cmdline'];

class TreeWriter {
	private readonly tasks = new Map<number, TaskEntry>();
	/** tgid -> tids written under /proc/<tgid>/task. */
	private readonly processes = new Map<number, Set<number>>();
	private readonly small = new Map<string, string>();
	private readonly smallDirs = new Set<string>();
	private readonly pool = new Map<string, {file: string; links: number}>();
	private poolCount = 0;
	private kmsgSeq = 0;
	/** Values we wrote to writable files, with their mtime, to spot writes by others. */
	private readonly writable = new Map<string, {content: string; mtimeMs: number}>();

	private readonly kernel: EmulatedKernel;
	private readonly dir: string;

	constructor(kernel: EmulatedKernel, dir: string) {
		this.kernel = kernel;
		this.dir = dir;
	}

	static create(kernel: EmulatedKernel, dir: string): TreeWriter {
		// The mirror rewrites proc/, sys/ and dev/kmsg under its directory: never the host's own.
		if (path.resolve(dir) === path.parse(path.resolve(dir)).root) {
			throw new Error(`refusing to mirror an emulated kernel into ${dir}: give a directory of its own`);
		}

		return new TreeWriter(kernel, dir);
	}

	prepare(): void {
		claimDir(this.dir);
		for (const name of ownDirs) {
			fs.rmSync(path.join(this.dir, name), {recursive: true, force: true});
		}

		for (const sub of ['proc/sys/kernel', 'sys/kernel/livepatch', 'sys/module', 'dev', '.pool']) {
			fs.mkdirSync(path.join(this.dir, sub), {recursive: true});
		}

		fs.writeFileSync(path.join(this.dir, 'dev/kmsg'), '');
	}

	private poolFile(content: string, links = 1): string {
		let entry = this.pool.get(content);
		if (!entry || entry.links + links > maxLinks) {
			const file = path.join(this.dir, '.pool', String(this.poolCount++));
			fs.writeFileSync(file, content);
			entry = {file, links: 0};
			this.pool.set(content, entry);
		}

		entry.links += links;
		return entry.file;
	}

	private linkPooled(target: string, content: string, replace: boolean): void {
		if (replace) {
			fs.rmSync(target, {force: true});
		}

		this.emit('l', this.poolFile(content), target);
	}

	/**
	Ops of the first write are collected per process and run by worker threads (tmpfs and ext4
	syscalls are CPU-bound in the kernel: two cores write twice as fast); later syncs run them at once.
	*/
	private batch: string[] | null = null;

	private emit(kind: 'd' | 'w' | 'l', first: string, second = ''): void {
		if (kind === 'd' && this.batch) {
			this.batch.push('d', first);
		} else if (kind === 'd') {
			fs.mkdirSync(first);
		} else if (kind === 'w') {
			fs.writeFileSync(first, second);
		} else {
			fs.linkSync(first, second);
		}
	}

	/** Start collecting ops instead of running them. */
	collect(): void {
		this.batch = [];
	}

	/** Hand over what was collected since the last call (whole processes only). */
	get batchLength(): number {
		return this.batch?.length ?? 0;
	}

	takeBatch(): string[] {
		const batch = this.batch ?? [];
		this.batch = this.batch ? [] : null;
		return batch;
	}

	stopCollecting(): string[] {
		const batch = this.batch ?? [];
		this.batch = null;
		return batch;
	}

	/** Called between processes during the first write. */
	onProcessWritten: (() => void) | null = null;

	private render(task: Task, threads: number): TaskEntry {
		const kernel = this.kernel;
		const leader = kernel.tasks.get(task.tgid) ?? task;
		return {
			version: task.version,
			threads,
			patchState: `${task.patchState}\n`,
			stat: renderStat(task, threads, task.tid === task.tgid),
			status: renderStatus(task, threads),
			wchan: task.wchan,
			stack: renderStack(task, kernel.features.hiddenStackAddresses),
			cmdline: renderCmdline(leader),
			isLeader: task.tid === task.tgid,
		};
	}

	private writeTask(task: Task, threads: number, taskDir: string, pidDir: string | null): void {
		const entry = this.render(task, threads);
		const links = pidDir ? 2 : 1;
		const pooled = pooledNames.map((name) => this.poolFile(entry[name], links));
		const record = [taskDir, pidDir ?? '', entry.patchState, entry.stat, entry.status, ...pooled];
		if (this.batch) {
			this.batch.push('t', ...record);
		} else {
			writeTaskFiles(record);
		}

		this.tasks.set(task.tid, entry);
	}

	private updateTask(
		task: Task,
		threads: number,
		entry: TaskEntry,
		taskDir: string,
		pidDir: string | null,
	): void {
		const next = this.render(task, threads);
		for (const name of ['patch_state', 'stat', 'status'] as const) {
			const key = name === 'patch_state' ? 'patchState' : name;
			if (next[key] !== entry[key]) {
				fs.writeFileSync(`${taskDir}/${name}`, next[key]);
			}
		}

		for (const name of pooledNames) {
			if (next[name] !== entry[name]) {
				this.linkPooled(`${taskDir}/${name}`, next[name], true);
				if (pidDir) {
					this.linkPooled(`${pidDir}/${name}`, next[name], true);
				}
			}
		}

		this.tasks.set(task.tid, next);
	}

	private syncProcesses(): void {
		const kernel = this.kernel;
		const procDir = `${this.dir}/proc`;
		for (const [tgid, process] of kernel.processes) {
			const pidDir = `${procDir}/${tgid}`;
			let written = this.processes.get(tgid);
			if (!written) {
				written = new Set();
				this.processes.set(tgid, written);
				this.emit('d', pidDir);
				this.emit('d', `${pidDir}/task`);
			}

			const threads = process.threads.length;
			for (const task of process.threads) {
				const entry = this.tasks.get(task.tid);
				const isLeader = task.tid === tgid;
				const taskDir = `${pidDir}/task/${task.tid}`;
				if (!entry) {
					this.writeTask(task, threads, taskDir, isLeader ? pidDir : null);
					written.add(task.tid);
				} else if (entry.version !== task.version || entry.threads !== threads) {
					this.updateTask(task, threads, entry, taskDir, isLeader ? pidDir : null);
				}
			}

			this.onProcessWritten?.();
			if (written.size !== threads) {
				for (const tid of written) {
					const task = kernel.tasks.get(tid);
					if (!task || task.tgid !== tgid) {
						fs.rmSync(`${pidDir}/task/${tid}`, {recursive: true, force: true});
						written.delete(tid);
						this.tasks.delete(tid);
					}
				}
			}
		}

		if (this.processes.size !== kernel.processes.size) {
			for (const [tgid, tids] of this.processes) {
				if (!kernel.processes.has(tgid)) {
					fs.rmSync(`${procDir}/${tgid}`, {recursive: true, force: true});
					for (const tid of tids) {
						this.tasks.delete(tid);
					}

					this.processes.delete(tgid);
				}
			}
		}
	}

	/** The small files (sysfs, /proc/sys, ...): desired content by relative path. */
	private smallTree(): {files: Map<string, string>; dirs: Set<string>} {
		const kernel = this.kernel;
		const features = kernel.features;
		const files = new Map<string, string>();
		const dirs = new Set<string>();
		for (const patch of kernel.visiblePatches()) {
			const base = `sys/kernel/livepatch/${patch.name}`;
			dirs.add(base);
			files.set(`${base}/enabled`, patch.enabled ? '1\n' : '0\n');
			files.set(`${base}/transition`, kernel.transitionPatch === patch ? '1\n' : '0\n');
			if (features.forceFile) {
				files.set(`${base}/force`, '');
			}

			if (features.signalFile) {
				files.set(`${base}/signal`, '');
			}

			if (features.replaceAttr) {
				files.set(`${base}/replace`, patch.replace ? '1\n' : '0\n');
			}

			if (features.stackOrderAttr) {
				files.set(`${base}/stack_order`, `${kernel.stackOrder(patch) ?? 0}\n`);
			}

			for (const object of patch.objects) {
				dirs.add(`${base}/${object.name}`);
				if (features.patchedAttr) {
					files.set(`${base}/${object.name}/patched`, object.patched ? '1\n' : '0\n');
				}

				for (const func of object.funcs) {
					dirs.add(`${base}/${object.name}/${func.oldName},${func.sympos || 1}`);
				}
			}
		}

		for (const module of kernel.modules.values()) {
			dirs.add(`sys/module/${module.name}`);
			files.set(
				`sys/module/${module.name}/refcnt`,
				`${module.refcnt + kernel.holders(module.name).length}\n`,
			);
		}

		files.set('proc/sys/kernel/osrelease', `${features.release}\n`);
		files.set('proc/sys/kernel/tainted', `${kernel.taintedMask}\n`);
		files.set('proc/sys/kernel/ns_last_pid', `${kernel.lastPid}\n`);
		files.set('proc/stat', renderProcStat(kernel));
		files.set('proc/loadavg', renderLoadavg(kernel));
		files.set('proc/uptime', renderUptime(kernel));
		files.set('proc/modules', renderModules(kernel));
		files.set('proc/cmdline', renderCmdlineFile(kernel));
		if (kernel.modules.has('klp_sleeper')) {
			files.set('proc/klp_sleeper', '');
			files.set('proc/klp_sleeper_killable', '');
			files.set('proc/klp_sleeper_ctl', '');
		}

		return {files, dirs};
	}

	private isWritable(relative: string): boolean {
		return /\/(enabled|force|signal)$/.test(relative) || relative === 'proc/klp_sleeper_ctl';
	}

	private syncSmall(): void {
		const {files, dirs} = this.smallTree();
		for (const dir of dirs) {
			if (!this.smallDirs.has(dir)) {
				fs.mkdirSync(`${this.dir}/${dir}`, {recursive: true});
				this.smallDirs.add(dir);
			}
		}

		for (const [relative, content] of files) {
			const previous = this.small.get(relative);
			const file = `${this.dir}/${relative}`;
			if (previous !== content) {
				fs.writeFileSync(file, content);
				this.small.set(relative, content);
				if (this.isWritable(relative)) {
					this.writable.set(relative, {content, mtimeMs: fs.statSync(file).mtimeMs});
				}
			}
		}

		for (const relative of this.small.keys()) {
			if (!files.has(relative)) {
				fs.rmSync(`${this.dir}/${relative}`, {force: true});
				this.small.delete(relative);
				this.writable.delete(relative);
			}
		}

		const gone = [...this.smallDirs].filter((dir) => !dirs.has(dir)).sort((a, b) => b.length - a.length);
		for (const dir of gone) {
			fs.rmSync(`${this.dir}/${dir}`, {recursive: true, force: true});
			this.smallDirs.delete(dir);
		}
	}

	private syncKmsg(): void {
		const records = this.kernel.logSince(this.kmsgSeq);
		this.kmsgSeq = this.kernel.logEndSeq;
		if (records.length > 0) {
			fs.appendFileSync(`${this.dir}/dev/kmsg`, records.map((record) => `${renderKmsg(record)}\n`).join(''));
		}
	}

	/** Writes made by others to writable files since our last write: [world path, value]. */
	takeForeignWrites(): Array<[string, string]> {
		const found: Array<[string, string]> = [];
		for (const [relative, last] of this.writable) {
			const file = `${this.dir}/${relative}`;
			let stat: fs.Stats;
			let content: string;
			try {
				stat = fs.statSync(file);
				if (stat.mtimeMs === last.mtimeMs && stat.size === Buffer.byteLength(last.content)) {
					continue;
				}

				content = fs.readFileSync(file, 'utf8');
			} catch {
				continue;
			}

			if (content === last.content && stat.mtimeMs === last.mtimeMs) {
				continue;
			}

			found.push([`/${relative}`, content]);
			// Re-render it on this sync whatever the kernel says.
			this.small.delete(relative);
			this.writable.delete(relative);
		}

		return found;
	}

	writeAll(): void {
		this.syncSmall();
		this.syncProcesses();
		this.syncKmsg();
	}
}

/**
The files of one task: `[taskDir, pidDir or '', patch_state, stat, status, wchan pool file, stack
pool file, cmdline pool file]`. The same code runs in the worker threads (see `workerSource`).
*/
function writeTaskFiles(record: readonly string[]): void {
	const [taskDir, pidDir, patchState, stat, status, ...pooled] = record as [
		string,
		string,
		string,
		string,
		string,
	];
	fs.mkdirSync(taskDir);
	fs.writeFileSync(`${taskDir}/patch_state`, patchState);
	fs.writeFileSync(`${taskDir}/stat`, stat);
	fs.writeFileSync(`${taskDir}/status`, status);
	for (const [index, name] of pooledNames.entries()) {
		fs.linkSync(pooled[index]!, `${taskDir}/${name}`);
		if (pidDir) {
			fs.linkSync(pooled[index]!, `${pidDir}/${name}`);
		}
	}

	if (pidDir) {
		for (const name of ['patch_state', 'stat', 'status']) {
			fs.linkSync(`${taskDir}/${name}`, `${pidDir}/${name}`);
		}
	}
}

const workerSource = `
const {parentPort} = require('node:worker_threads');
const fs = require('node:fs');
const names = ${JSON.stringify(pooledNames)};
parentPort.on('message', (ops) => {
	try {
		let i = 0;
		while (i < ops.length) {
			if (ops[i] === 'd') {
				fs.mkdirSync(ops[i + 1]);
				i += 2;
				continue;
			}
			const taskDir = ops[i + 1], pidDir = ops[i + 2];
			fs.mkdirSync(taskDir);
			fs.writeFileSync(taskDir + '/patch_state', ops[i + 3]);
			fs.writeFileSync(taskDir + '/stat', ops[i + 4]);
			fs.writeFileSync(taskDir + '/status', ops[i + 5]);
			for (let n = 0; n < names.length; n++) {
				fs.linkSync(ops[i + 6 + n], taskDir + '/' + names[n]);
				if (pidDir) fs.linkSync(ops[i + 6 + n], pidDir + '/' + names[n]);
			}
			if (pidDir) {
				for (const name of ['patch_state', 'stat', 'status']) fs.linkSync(taskDir + '/' + name, pidDir + '/' + name);
			}
			i += 6 + names.length;
		}
		parentPort.postMessage(null);
	} catch (error) {
		parentPort.postMessage(String((error && error.message) || error));
	}
});
`;

/** Below this many files the first write runs in-line (starting workers costs more). */
const parallelThreshold = 30_000;
const chunkOps = 9 * 8000;

/** The first write of a tree: processes rendered here, written by worker threads. */
async function firstWrite(writer: TreeWriter, kernel: EmulatedKernel, requested?: number): Promise<void> {
	let threads = 0;
	for (const process of kernel.processes.values()) {
		threads += process.threads.length;
	}

	const count = requested ?? (threads * 8 < parallelThreshold ? 0 : Math.min(2, os.availableParallelism()));
	if (count < 1) {
		writer.writeAll();
		return;
	}

	const workers = Array.from({length: count}, () => new Worker(workerSource, {eval: true}));
	const waiting = workers.map(() => [] as Array<{resolve: () => void; reject: (error: Error) => void}>);
	for (const [index, worker] of workers.entries()) {
		worker.on('message', (result: string | null) => {
			const next = waiting[index]!.shift();
			if (result === null) {
				next?.resolve();
			} else {
				next?.reject(new Error(`disk mirror: ${result}`));
			}
		});
	}

	const pending: Array<Promise<void>> = [];
	let turn = 0;
	const dispatch = (ops: string[]): void => {
		if (ops.length === 0) {
			return;
		}

		const index = turn++ % count;
		pending.push(
			new Promise<void>((resolve, reject) => {
				waiting[index]!.push({resolve, reject});
				workers[index]!.postMessage(ops);
			}),
		);
	};

	try {
		writer.collect();
		writer.onProcessWritten = () => {
			if (writer.batchLength >= chunkOps) {
				dispatch(writer.takeBatch());
			}
		};
		writer.writeAll();
		writer.onProcessWritten = null;
		dispatch(writer.stopCollecting());
		await Promise.all(pending);
	} finally {
		writer.onProcessWritten = null;
		writer.stopCollecting();
		await Promise.all(workers.map(async (worker) => worker.terminate()));
	}
}

/**
Write the whole tree once (benchmarks): `DIR/proc`, `DIR/sys`, `DIR/dev/kmsg`. `dir` is new, empty or
a tree written here before (its own subdirectories are replaced, nothing else is touched); any other
directory is refused (`MirrorDirError`).
*/
export async function writeTreeOnce(
	emulation: Emulation,
	dir: string,
	options: {
		/** Worker threads for the files (0: write in-line). @default 2 for large trees */
		workers?: number;
	} = {},
): Promise<void> {
	const writer = TreeWriter.create(emulation.kernel, path.resolve(dir));
	writer.prepare();
	await firstWrite(writer, emulation.kernel, options.workers);
}

/**
Make `dir` the mirror's own: create it when missing, refuse it when it holds anything but a tree
the mirror wrote before (the marker), then leave the marker.
*/
function claimDir(dir: string): void {
	let entries: string[] = [];
	try {
		entries = fs.readdirSync(dir);
	} catch (error) {
		if (errorCode(error) !== 'ENOENT') {
			throw dirError(dir, error);
		}

		makeDir(dir);
	}

	if (entries.length > 0 && !entries.includes(markerFileName)) {
		throw new MirrorDirError(
			`refusing to emulate into ${dir}: it is not empty and klptop did not create it (its proc/, sys/ and dev/ would be replaced); give a new or empty directory`,
		);
	}

	try {
		fs.writeFileSync(path.join(dir, markerFileName), markerText);
	} catch (error) {
		throw dirError(dir, error);
	}
}

function makeDir(dir: string): void {
	try {
		fs.mkdirSync(dir, {recursive: true});
	} catch (error) {
		throw dirError(dir, error);
	}
}

/** `cannot emulate into DIR: not a directory` (a file, or a file on the way to it), or the error code. */
function dirError(dir: string, error: unknown): MirrorDirError {
	const code = errorCode(error);
	const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'not a directory' : code;
	return new MirrorDirError(`cannot emulate into ${dir}: ${why}`);
}

function socketPathFor(dir: string): string {
	const preferred = path.join(dir, socketFileName);
	// sun_path holds 107 bytes; long directories get a socket in the temp dir (named in the state file).
	if (Buffer.byteLength(preferred) < 100) {
		return preferred;
	}

	return path.join(os.tmpdir(), `klptop-emu-${process.pid}-${Date.now().toString(36)}.sock`);
}

/**
Keep `dir` a live copy of the emulated tree and serve control requests for it (see the module
comment). Call `sync()` regularly (the real-time driver's tick); `close()` stops the socket.
*/
export async function mirrorToDisk(emulation: Emulation, dir: string): Promise<DiskMirror> {
	const root = path.resolve(dir);
	const writer = TreeWriter.create(emulation.kernel, root);
	writer.prepare();
	const logFile = path.join(root, logFileName);
	const report = (text: string): void => {
		try {
			fs.appendFileSync(logFile, `${new Date(emulation.now()).toISOString()} ${text}\n`);
		} catch {
			// The log is best effort.
		}
	};

	await firstWrite(writer, emulation.kernel);
	const sync = (): void => {
		for (const [worldPath, value] of writer.takeForeignWrites()) {
			if (value === '') {
				continue;
			}

			emulation.control.write(worldPath, value).then(
				() => {
					report(`write ${worldPath} ${JSON.stringify(value)}: ok`);
				},
				(error: unknown) => {
					report(`write ${worldPath} ${JSON.stringify(value)}: ${errorCode(error)}`);
				},
			);
		}

		writer.writeAll();
	};

	sync();
	const socketPath = socketPathFor(root);
	fs.rmSync(socketPath, {force: true});
	const connections = new Set<net.Socket>();
	const server = net.createServer((socket) => {
		connections.add(socket);
		socket.setEncoding('utf8');
		let buffer = '';
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			let newline = buffer.indexOf('\n');
			while (newline >= 0) {
				const line = buffer.slice(0, newline).trim();
				buffer = buffer.slice(newline + 1);
				newline = buffer.indexOf('\n');
				if (line.length === 0) {
					continue;
				}

				let request: Request;
				try {
					request = JSON.parse(line) as Request;
				} catch {
					socket.write(`${JSON.stringify({ok: false, code: 'EINVAL', message: 'bad JSON'})}\n`);
					continue;
				}

				void handleRequest(emulation, request, root).then((response) => {
					try {
						sync();
					} catch (error) {
						report(`sync after request failed: ${String(error)}`);
					}

					if (!socket.destroyed) {
						socket.write(`${JSON.stringify(response)}\n`);
					}
				});
			}
		});
		socket.on('error', () => {
			socket.destroy();
		});
		socket.on('close', () => {
			connections.delete(socket);
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(socketPath, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const stateFile = path.join(root, stateFileName);
	fs.writeFileSync(
		stateFile,
		`${JSON.stringify(
			{
				scenario: emulation.scenario,
				pid: process.pid,
				socket: socketPath,
				kernel: emulation.kernel.generation,
				release: emulation.kernel.features.release,
			},
			null,
			2,
		)}\n`,
	);
	let closed = false;
	return {
		sync() {
			if (!closed) {
				sync();
			}
		},
		async close() {
			if (closed) {
				return;
			}

			closed = true;
			for (const socket of connections) {
				socket.destroy();
			}

			await new Promise<void>((resolve) => {
				server.close(() => {
					resolve();
				});
			});
			fs.rmSync(stateFile, {force: true});
			fs.rmSync(socketPath, {force: true});
		},
	};
}
