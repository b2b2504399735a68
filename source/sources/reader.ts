/**
The reader: turns any world behind an `FsPort` (the real host, a tree on disk, the emulator) into a
`Snapshot` (issue 2 §2, kernel-livepatch.md §2, §3, §6).

Cost model (issue 2 §7): with a transition running, one readdir of /proc, one readdir per process
task dir and one open/read/close of `patch_state` per thread; `stat`, `wchan`, `stack` and the owner
only for blockers. Without a transition the kernel has reset every task to -1, so patch_state is not
read at all: threads are only counted. `threads: 'all'`/`'columns'` adds `stat` for every thread.
A reader kept from poll to poll reads incrementally during a transition (issue 12, `walk-plan.ts`).

No read may throw out of a scan: a task exiting between readdir and read (ENOENT/ESRCH), a patch
directory vanishing after unpatching, EACCES for non-root, garbage or empty values all end up as
what could be read plus concise, de-duplicated warnings.
*/
import {analysisContext, analyzeBlocker, isBlocking} from '../model/analysis.js';
import type {
	Blocker,
	FunctionInfo,
	KernelLogLine,
	ObjectInfo,
	PatchInfo,
	PatchState,
	ScanCost,
	ScanOptions,
	Snapshot,
	SourceInfo,
	StackFrame,
	ThreadInfo,
	ThreadTable,
	TransitionInfo,
} from '../model/types.js';
import {threadAt} from '../model/types.js';
import {errorCode, LIVEPATCH_DIR, type FsPort, type TaskFiles, type TaskWalk} from './fs-port.js';
import {
	isKthreadFlags,
	parseBool01,
	parseFunctionDir,
	parseInteger,
	parseKmsgRecord,
	parseLivepatchModules,
	parsePatchState,
	parseProcStatBtime,
	parseProcUptime,
	parseStack,
	parseStat,
} from './parse.js';
import {createThreadTableBuilder} from './thread-table.js';
import {portWalkIo, readTaskFiles, walkTasks} from './walk.js';
import {createTaskSetProbe, createWalkPlanner} from './walk-plan.js';

export {LIVEPATCH_DIR} from './fs-port.js';

export type ReaderOptions = {
	/** Wall clock in ms since the epoch (tests inject a fixed one). */
	readonly clock?: () => number;
	/** Read `/dev/kmsg` (default true). */
	readonly kernelLog?: boolean;
	/**
	During a transition, read only the threads not yet known at the target (see `walk-plan.ts`).
	@default true
	*/
	readonly incremental?: boolean;
	/** The safety net: a full scan at least this often (scan clock, ms). @default 10000 */
	readonly fullScanEveryMs?: number;
};

/** Per-scan options: what to collect, and optionally the clock for this scan's `time`. */
export type ReaderScanOptions = Partial<ScanOptions> & {
	readonly clock?: () => number;
	/** `scanAsync`: this thread joins the walk when it settles (`FsPort.walkTasksInBackground`). */
	readonly joinWhen?: Promise<unknown>;
	/** Read every thread this time, whatever the reader knows (benchmarks, comparisons). */
	readonly full?: boolean;
};

export type Reader = {
	readonly source: SourceInfo;
	scan(options?: ReaderScanOptions): Snapshot;
	/**
	The same scan, with the thread walk off this thread where the port can do that
	(`FsPort.walkTasksInBackground`: the host port's helper thread on a large /proc), so that this
	thread answers keys meanwhile. Elsewhere it is `scan`, settled at once.
	*/
	scanAsync(options?: ReaderScanOptions): Promise<Snapshot>;
	/**
	The `threadTable` of one of this reader's snapshots is read by nobody any more: its memory may hold
	a later scan's table (`FsPort.recycleTable`). The all-threads view gives back each table once the
	next one is on screen, so that 100,000 threads a poll do not make 4 MB of garbage (issue 12).
	*/
	recycle(table: ThreadTable): void;
};

/** Collects warnings, one line per (what, code), with a count. */
class Warnings {
	private readonly counts = new Map<string, {count: number; code: string; what: string; hint: string}>();
	private readonly plain: string[] = [];

	/** Something unreadable for `count` threads/files, aggregated by `what` and error `code`. */
	count(what: string, code: string, hint = '', by = 1): void {
		const key = `${what}\u0000${code}`;
		const entry = this.counts.get(key);
		if (entry === undefined) {
			this.counts.set(key, {count: by, code, what, hint});
		} else {
			entry.count += by;
		}
	}

	add(text: string): void {
		if (!this.plain.includes(text)) {
			this.plain.push(text);
		}
	}

	list(): string[] {
		const out = [...this.plain];
		for (const {count, code, what, hint} of this.counts.values()) {
			const subject = what.replace('{n}', String(count)).replace('{s}', count === 1 ? '' : 's');
			out.push(`${subject} (${code})${hint === '' ? '' : `: ${hint}`}`);
		}

		return out;
	}
}

function accessHint(code: string): string {
	return code === 'EACCES' || code === 'EPERM' ? 'not root?' : '';
}

/** Errors that mean "it is gone", normal for exiting tasks and vanishing patches. */
function isGone(code: string): boolean {
	return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

type PatchesResult = {
	readonly livepatch: boolean;
	readonly patches: PatchInfo[];
};

const PATCH_ATTRIBUTES = new Set(['enabled', 'transition', 'force', 'signal', 'replace', 'stack_order']);

function readPatches(port: FsPort, warnings: Warnings): PatchesResult {
	let names: string[];
	try {
		names = port.readdir(LIVEPATCH_DIR);
	} catch (error) {
		const code = errorCode(error);
		if (code !== 'ENOENT' && code !== 'ENOTDIR') {
			warnings.add(`${LIVEPATCH_DIR} unreadable (${code})`);
			return {livepatch: port.exists(LIVEPATCH_DIR), patches: []};
		}

		return {livepatch: false, patches: []};
	}

	const patches: PatchInfo[] = [];
	for (const name of names) {
		const patch = readPatch(port, name, warnings);
		if (patch !== null) {
			patches.push(patch);
		}
	}

	patches.sort((a, b) => {
		if (a.stackOrder !== null && b.stackOrder !== null && a.stackOrder !== b.stackOrder) {
			return a.stackOrder - b.stackOrder;
		}

		return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
	});
	return {livepatch: true, patches};
}

/** Reads one value file; undefined when it vanished, null (plus a warning) when unreadable or garbage. */
function readValue<T>(
	port: FsPort,
	path: string,
	parse: (text: string) => T | null,
	warnings: Warnings,
	label: string,
): T | null | undefined {
	let text: string;
	try {
		text = port.readFile(path);
	} catch (error) {
		const code = errorCode(error);
		if (isGone(code)) {
			return undefined;
		}

		warnings.count(`${label} unreadable`, code, accessHint(code));
		return null;
	}

	const value = parse(text);
	if (value === null) {
		warnings.add(`${label}: unexpected value ${JSON.stringify(text.slice(0, 40))}`);
	}

	return value;
}

function readPatch(port: FsPort, name: string, warnings: Warnings): PatchInfo | null {
	const dir = `${LIVEPATCH_DIR}/${name}`;
	let entries: string[];
	try {
		entries = port.readdir(dir);
	} catch (error) {
		const code = errorCode(error);
		if (!isGone(code)) {
			warnings.add(`patch ${name}: directory unreadable (${code})`);
		}

		return null;
	}

	const present = new Set(entries);
	const enabled = readValue(port, `${dir}/enabled`, parseBool01, warnings, `patch ${name}: enabled`);
	if (enabled === undefined || enabled === null) {
		// Vanished mid-scan (normal after unpatching) or unusable: without a target the patch says nothing.
		return null;
	}

	let transition = false;
	if (present.has('transition')) {
		const value = readValue(port, `${dir}/transition`, parseBool01, warnings, `patch ${name}: transition`);
		if (value === undefined) {
			return null;
		}

		transition = value ?? false;
	}

	let replace: boolean | null = null;
	if (present.has('replace')) {
		replace = readValue(port, `${dir}/replace`, parseBool01, warnings, `patch ${name}: replace`) ?? null;
	}

	let stackOrder: number | null = null;
	if (present.has('stack_order')) {
		const value = readValue(port, `${dir}/stack_order`, parseInteger, warnings, `patch ${name}: stack_order`);
		stackOrder = value === undefined || value === null || value < 1 ? null : value;
	}

	const objects: ObjectInfo[] = [];
	for (const entry of entries) {
		if (PATCH_ATTRIBUTES.has(entry)) {
			continue;
		}

		const object = readObject(port, dir, entry, warnings);
		if (object !== null) {
			objects.push(object);
		}
	}

	objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	return {
		name,
		enabled,
		transition,
		replace,
		stackOrder,
		// `force` is write-only (reading fails with EACCES even for root): presence only.
		hasForce: present.has('force'),
		hasSignal: present.has('signal'),
		objects,
	};
}

function readObject(port: FsPort, patchDir: string, name: string, warnings: Warnings): ObjectInfo | null {
	const dir = `${patchDir}/${name}`;
	let entries: string[];
	try {
		entries = port.readdir(dir);
	} catch {
		// A file we do not know (a future attribute: readdir gives ENOTDIR) or a vanished patch.
		return null;
	}

	let patched: boolean | null = null;
	const functions: FunctionInfo[] = [];
	for (const entry of entries) {
		if (entry === 'patched') {
			patched = readValue(port, `${dir}/patched`, parseBool01, warnings, `object ${name}: patched`) ?? null;
			continue;
		}

		const fn = parseFunctionDir(entry);
		if (fn !== null) {
			functions.push(fn);
		}
	}

	functions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.sympos - b.sympos));
	return {name, patched, functions};
}

function findTransition(
	port: FsPort,
	patches: readonly PatchInfo[],
	warnings: Warnings,
): TransitionInfo | null {
	const inTransition = patches.filter((patch) => patch.transition);
	if (inTransition.length > 1) {
		warnings.add(
			`${inTransition.length} patches report transition=1 (the kernel allows one): using ${inTransition[0]!.name}`,
		);
	}

	const patch = inTransition[0];
	if (patch === undefined) {
		return null;
	}

	if (!patch.enabled && isInitializing(port, patch)) {
		return {patch: patch.name, direction: 'patching', target: 1, initializing: true};
	}

	return {
		patch: patch.name,
		direction: patch.enabled ? 'patching' : 'unpatching',
		target: patch.enabled ? 1 : 0,
	};
}

/**
A transition patch with `enabled`=0 is either unpatching or still inside `insmod`: `klp_init_transition`
(every task set to 0, `transition` 1) runs before `__klp_enable_patch` sets `enabled` at its end
(kernel-livepatch.md §4.1; observed for ~0.3 s under TCG on 6.1). `patched` (6.1+) tells them apart: it
becomes 1 while the patch is enabled (`klp_patch_object`, before `enabled`) and stays 1 through an
unpatching transition until it completes, for every object that is loaded. So an object that is loaded
(vmlinux always, a module when `/sys/module/<name>` exists) and reads `patched`=0 means the patch is being
loaded: a patching transition, initialising. Where `patched` is absent (before 6.1) the history decides
(`history.ts`: the patch was not there a poll earlier, or the kernel log says so).
*/
function isInitializing(port: FsPort, patch: PatchInfo): boolean {
	const unpatched = patch.objects.filter((object) => object.patched === false);
	if (unpatched.length === 0) {
		return false;
	}

	if (unpatched.some((object) => object.name === 'vmlinux')) {
		return true;
	}

	if (!port.exists('/sys/module')) {
		// Module state unknown: only "every object reads 0" is conclusive enough.
		return patch.objects.every((object) => object.patched === false);
	}

	return unpatched.some((object) => port.exists(`/sys/module/${object.name}`));
}

function readText(port: FsPort, path: string): string | null {
	try {
		return port.readFile(path);
	} catch {
		return null;
	}
}

/** Livepatch-relevant kernel log lines (issue 2 §2): `livepatch:` lines, taint lines, patch module lines. */
function filterKernelLog(records: readonly string[], patchNames: Set<string>): KernelLogLine[] {
	const parsed: KernelLogLine[] = [];
	for (const record of records) {
		const line = parseKmsgRecord(record);
		if (line !== null) {
			parsed.push(line);
			// Learn patch names from the log itself: their module lines may predate this scan's patches.
			if (line.text.startsWith("livepatch: enabling patch '")) {
				const start = "livepatch: enabling patch '".length;
				const end = line.text.indexOf("'", start);
				if (end > start) {
					patchNames.add(line.text.slice(start, end));
				}
			}
		}
	}

	return parsed.filter((line) => {
		const {text} = line;
		if (text.startsWith('livepatch:') || text.endsWith(': tainting kernel with TAINT_LIVEPATCH')) {
			return true;
		}

		const colon = text.indexOf(': ');
		return colon > 0 && patchNames.has(text.slice(0, colon).replaceAll('-', '_'));
	});
}

type Candidate = {
	tgid: number;
	tid: number;
	patchState: 0 | 1;
	info: ThreadInfo | null;
	files: TaskFiles | null;
};

/** Create a reader over a world. It remembers what outlives one scan (boot time, stack readability, patch names). */
export function createReader(port: FsPort, source: SourceInfo, readerOptions: ReaderOptions = {}): Reader {
	const clock = readerOptions.clock ?? Date.now;
	const readKernelLog = readerOptions.kernelLog ?? true;
	const incremental = readerOptions.incremental ?? true;
	const fullScanEveryMs = readerOptions.fullScanEveryMs ?? 10_000;
	const planner = createWalkPlanner(port, {
		incremental,
		fullScanEveryMs,
		readLastPid() {
			const text = readText(port, '/proc/sys/kernel/ns_last_pid');
			return text === null ? null : parseInteger(text);
		},
		...(incremental ? {taskSet: createTaskSetProbe((path) => readText(port, path))} : {}),
	});
	let bootTime: number | null = null;
	let stacksProbe: boolean | null = null;
	const patchNames = new Set<string>();
	const read = (path: string) => port.readFile(path);
	const ownerUid = (path: string) => port.ownerUid(path);
	/** The last all-threads table, and when its owners were last all read. */
	let lastTable: {table: ThreadTable; at: number} | null = null;

	/** A scan up to its thread walk, which the caller makes (on this thread or off it) before `complete`. */
	function begin(options: ReaderScanOptions) {
		// A capture is dated when it was taken, whatever the clock says (stuck and elapsed times, next round).
		const time = source.capturedAt ?? (options.clock ?? clock)();
		// Every thread: as objects (`all`) or columns (`columns`); the walk makes columns either way.
		const all = options.threads === 'all' || options.threads === 'columns';
		const warnings = new Warnings();

		const releaseText = readText(port, '/proc/sys/kernel/osrelease');
		const release = releaseText === null || releaseText.trim() === '' ? null : releaseText.trim();
		if (bootTime === null) {
			const stat = readText(port, '/proc/stat');
			const btime = stat === null ? null : parseProcStatBtime(stat);
			if (btime !== null) {
				// The clock read right after uptime: the instant that uptime counts to.
				const uptime = readText(port, '/proc/uptime');
				bootTime = preciseBootTime(btime * 1000, uptime, (options.clock ?? clock)());
			}
		}

		const {livepatch, patches} = readPatches(port, warnings);
		for (const patch of patches) {
			patchNames.add(patch.name);
		}

		const transition = findTransition(port, patches, warnings);
		const root = port.readerUid() === 0;
		// No patch listed: a disabled patch's module may still be loaded (the panel must not say "none loaded").
		const leftover = livepatch && patches.length === 0 ? readText(port, '/proc/modules') : null;
		const leftoverModules = leftover === null ? null : parseLivepatchModules(leftover);

		// Kernel log: before the walk, which it may send back to every thread.
		let kernelLog: KernelLogLine[] = [];
		if (readKernelLog) {
			try {
				const records = port.readKmsg();
				if (records !== undefined) {
					kernelLog = filterKernelLog(records, patchNames);
				}
			} catch (error) {
				warnings.add(`kernel log unreadable (${errorCode(error)})`);
			}
		}

		// Threads.
		const target = transition?.target ?? null;
		// While a load initialises, every task reads 0 and none is held by anything yet: count them, list none.
		const blockTarget = transition?.initializing ? null : target;
		// Without a transition the kernel has reset every task to -1: nothing to read per thread.
		const readStates = livepatch && transition !== null;
		let pids: string[] = [];
		try {
			pids = port.readdir('/proc');
		} catch (error) {
			warnings.add(`/proc unreadable (${errorCode(error)})`);
		}

		const plan = readStates
			? planner.plan(transition, kernelLog, time, pids, options.full === true)
			: {marks: undefined, reason: null};
		if (!readStates) planner.noTransition();
		// The all-threads view reads every thread's stat each poll, and its owner once per thread (the
		// previous table knows the rest), all of them again every `fullScanEveryMs`.
		let owners: ThreadTable | undefined;
		if (all && lastTable !== null && time - lastTable.at < fullScanEveryMs) owners = lastTable.table;
		const walkOptions = {
			readStates,
			target: blockTarget ?? (target === null ? null : 0),
			collect: all ? 'all' : 'blocking',
			// The blockers' own files (stat, owner, wchan, stack), read in the walk (shared with its helper
			// thread on a big /proc, or on it alone for the dashboard).
			details: blockTarget !== null,
			...(plan.marks === undefined ? {} : {marks: plan.marks}),
			...(readStates ? {} : {unreadState: livepatch ? (-1 as const) : (2 as const)}),
			...(owners === undefined ? {} : {owners}),
		} as const;
		// No transition, the threads only counted: the last count still holds when no task came or went.
		const countKind = !readStates && !all ? `count ${walkOptions.unreadState ?? ''}` : null;
		const reuse = countKind === null ? null : planner.countWalk(countKind);
		return {
			time,
			all,
			warnings,
			release,
			countKind,
			reuse,
			livepatch,
			patches,
			transition,
			root,
			blockTarget,
			readStates,
			pids,
			walkOptions,
			leftoverModules,
			kernelLog,
			reason: plan.reason,
			columns: options.threads === 'columns',
			owners: owners !== undefined,
		};
	}

	function walkNow({pids, walkOptions}: Begun): TaskWalk {
		return port.walkTasks
			? port.walkTasks(pids, walkOptions)
			: walkTasks(portWalkIo(port, parsePatchState), pids, walkOptions);
	}

	/** The rest of a scan once its walk is in. */
	function complete(begun: Begun, walk: TaskWalk): Snapshot {
		const {time, all, warnings, release, livepatch, patches, transition, root, blockTarget, readStates} =
			begun;
		planner.settle(begun.walkOptions.marks, walk, begun.transition, begun.time);
		if (begun.countKind !== null) planner.settleCount(walk);
		let {total, minus, zero, one} = walk;
		for (const [key, count] of Object.entries(walk.errors)) {
			const colon = key.indexOf(':');
			const what = key.slice(0, colon);
			const code = key.slice(colon + 1);
			const subject =
				what === 'tasks'
					? 'task list unreadable for {n} process{s}'
					: what === 'garbage'
						? 'patch_state garbage for {n} thread{s}'
						: what === 'stat'
							? 'stat unreadable for {n} thread{s}'
							: what === 'statgarbage'
								? 'stat garbage for {n} thread{s}'
								: 'patch_state unreadable for {n} thread{s}';
			const garbage = what === 'garbage' || what === 'statgarbage';
			warnings.count(subject, code, garbage ? '' : accessHint(code), count);
		}

		if ((walk.contradicted ?? 0) > 0) {
			const n = walk.contradicted!;
			warnings.add(
				`the 10 s full scan found ${n} thread${n === 1 ? '' : 's'} not at the target that the incremental polls counted there`,
			);
		}

		// Every thread (all-threads view): the walk's columns, and objects from them when asked for.
		const table = all ? (walk.table ?? createThreadTableBuilder().finish()) : null;
		if (table !== null) lastTable = {table, at: begun.owners ? (lastTable?.at ?? time) : time};
		const threads: ThreadInfo[] | null =
			table === null || begun.columns
				? null
				: Array.from({length: table.count}, (_, i) => threadAt(table, i));
		const candidates: Candidate[] = [];
		const triples = walk.threads;
		const details = walk.details;
		for (let i = 0; i + 2 < triples.length; i += 3) {
			const tgid = triples[i]!;
			const tid = triples[i + 1]!;
			const raw = triples[i + 2]!;
			const patchState: PatchState | null = raw === -1 || raw === 0 || raw === 1 ? raw : null;
			if (blockTarget !== null && isBlocking(patchState, blockTarget)) {
				candidates.push({tgid, tid, patchState, info: null, files: details?.[i / 3] ?? null});
			}
		}

		if (livepatch && !readStates) {
			// No transition: the kernel reset every task to -1 when the last one completed.
			minus = total;
		}

		// Threads whose patch_state could not be read (0400: every other user's when not root).
		const unknown = readStates ? Math.max(0, total - minus - zero - one) : 0;

		// Blockers.
		const context = analysisContext({release}, patches, transition);
		const blockers: Blocker[] = [];
		// Threads blocked in one place print one stack text (a pool of workers in the same wait):
		// each text is parsed once. The frames are read-only, so the blockers share them.
		const parsedStacks = new Map<string, readonly StackFrame[]>();
		let stacksRead = 0;
		let stacksDenied = 0;
		for (const candidate of candidates) {
			const dir = `/proc/${candidate.tgid}/task/${candidate.tid}`;
			// All-threads scans read every thread's stat already: only wchan and stack are left.
			const files = candidate.files ?? readTaskFiles(read, ownerUid, dir, candidate.info === null, true);
			const info =
				candidate.info ?? threadFrom(files, candidate.tgid, candidate.tid, candidate.patchState, warnings);
			if (info === null) {
				// Exited after its patch_state was read.
				total--;
				if (candidate.patchState === 0) {
					zero--;
				} else {
					one--;
				}

				continue;
			}

			const wchanText = files.wchan;
			const wchan =
				wchanText === null || wchanText.trim() === '' || wchanText.trim() === '0' ? null : wchanText.trim();
			let stack: readonly StackFrame[] | null = null;
			if (files.stack !== null) {
				stack = parsedStacks.get(files.stack) ?? null;
				if (stack === null) {
					stack = parseStack(files.stack);
					parsedStacks.set(files.stack, stack);
				}

				stacksRead++;
			} else {
				const code = files.stackError ?? 'EIO';
				if (code === 'EACCES' || code === 'EPERM') {
					stacksDenied++;
				} else if (!isGone(code)) {
					warnings.count('stack unreadable for {n} blocker{s}', code);
				}
			}

			blockers.push(analyzeBlocker({...info, patchState: candidate.patchState}, wchan, stack, context));
		}

		if (stacksDenied > 0) {
			warnings.add(
				`stack unreadable for ${stacksDenied} blocker${stacksDenied === 1 ? '' : 's'} (EACCES): needs root with CAP_SYS_ADMIN; falling back to wchan`,
			);
		}

		let stacksReadable: boolean;
		if (stacksRead > 0 || stacksDenied > 0) {
			stacksReadable = stacksRead > 0;
			stacksProbe = stacksReadable;
		} else {
			stacksProbe ??= probeStack(port, walk.firstTask);
			stacksReadable = stacksProbe;
		}

		const known = walk.known ?? 0;
		const scanCost: ScanCost = {
			mode: !readStates ? 'count' : begun.walkOptions.marks?.mode === 'incremental' ? 'incremental' : 'full',
			reason: begun.reason,
			statesRead: readStates ? walk.total - known : 0,
			statesKnown: known,
			...(begun.reuse !== null || begun.walkOptions.marks?.sameTasks === true ? {sameTasks: true} : {}),
		};
		return {
			time,
			source,
			kernel: {release, livepatch, bootTime},
			privileges: {root, stacksReadable},
			patches,
			transition,
			tasks: {total, byPatchState: {'-1': minus, '0': zero, '1': one}, ...(unknown > 0 ? {unknown} : {})},
			threads,
			...(begun.columns ? {threadTable: table} : {}),
			blockers,
			...(begun.leftoverModules === null ? {} : {leftoverModules: begun.leftoverModules}),
			kernelLog: begun.kernelLog,
			warnings: warnings.list(),
			scanCost,
		};
	}

	type Begun = ReturnType<typeof begin>;

	/** A walk that threw: the planner keeps nothing of it. */
	function settleFailed(begun: Begun): void {
		planner.settle(begun.walkOptions.marks, null, begun.transition, begun.time);
		if (begun.countKind !== null) planner.settleCount(null);
	}

	return {
		source,
		scan(options = {}) {
			const begun = begin(options);
			let walk: TaskWalk | null = null;
			try {
				walk = begun.reuse ?? walkNow(begun);
			} finally {
				if (walk === null) settleFailed(begun);
			}

			return complete(begun, walk);
		},
		recycle(table) {
			// The table this reader still takes owners from is not given away (the next scan reads them).
			if (lastTable?.table !== table) port.recycleTable?.(table);
		},
		async scanAsync(options = {}) {
			const begun = begin(options);
			let walk: TaskWalk | null = null;
			try {
				const background =
					begun.reuse === null
						? (port.walkTasksInBackground?.(begun.pids, begun.walkOptions, options.joinWhen) ?? null)
						: null;
				walk = begun.reuse ?? (background === null ? walkNow(begun) : await background);
			} finally {
				if (walk === null) settleFailed(begun);
			}

			return complete(begun, walk);
		},
	};
}

/** A thread from its `stat` text (or the error that stopped its read) and owner; null when it exited. */
function threadFrom(
	files: Pick<TaskFiles, 'stat' | 'statError' | 'uid'>,
	tgid: number,
	tid: number,
	patchState: PatchState | null,
	warnings: Warnings,
): ThreadInfo | null {
	let text = files.stat;
	if (text === null) {
		const code = files.statError ?? 'EIO';
		if (isGone(code)) {
			return null;
		}

		warnings.count('stat unreadable for {n} thread{s}', code, accessHint(code));
		text = '';
	}

	const stat = text === '' ? null : parseStat(text);
	if (stat === null && text !== '') {
		warnings.count('stat garbage for {n} thread{s}', 'EINVAL');
	}

	return {
		tid,
		tgid,
		comm: stat?.comm ?? '',
		state: stat?.state ?? '?',
		ppid: stat?.ppid ?? 0,
		flags: stat?.flags ?? 0,
		kthread: stat === null ? false : isKthreadFlags(stat.flags),
		starttime: stat?.starttime ?? 0,
		patchState,
		uid: files.uid,
	};
}

/**
The boot time to the hundredth of a second where the world allows it. `btime` is whole seconds (the
boot time truncated), so every kernel log line it dates, the transition start among them, came out
up to a second early, and the next fake-signal round with it. `/proc/uptime` read now gives the
same instant to 10 ms: it is taken when it agrees with `btime` (a copied or archived tree's stale
uptime does not, nor does an emulated world, which has none), else `btime` stays.
*/
function preciseBootTime(btimeMs: number, uptimeText: string | null, now: number): number {
	const uptime = uptimeText === null ? null : parseProcUptime(uptimeText);
	if (uptime === null) {
		return btimeMs;
	}

	const boot = now - uptime * 1000;
	// Within btime's second, give or take uptime's 10 ms steps and the few ms between the reads.
	return boot >= btimeMs - 50 && boot < btimeMs + 1050 ? boot : btimeMs;
}

/** Whether `stack` files can be read here: one read of the first thread's, remembered by the reader. */
function probeStack(port: FsPort, taskDir: string | null): boolean {
	if (taskDir === null) {
		return port.readerUid() === 0;
	}

	try {
		port.readFile(taskDir + '/stack');
		return true;
	} catch (error) {
		const code = errorCode(error);
		if (code === 'EACCES' || code === 'EPERM') {
			return false;
		}

		return port.readerUid() === 0;
	}
}

/** One scan with a fresh reader (for `--once`). */
export function scan(
	port: FsPort,
	source: SourceInfo,
	options: Partial<ScanOptions> & ReaderOptions = {},
): Snapshot {
	return createReader(port, source, options).scan(options);
}
