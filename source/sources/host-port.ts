/**
The FsPort over a real directory tree: the host itself (`root` = `/`) or a captured/emulated tree
on disk (`--root DIR`). Synchronous and allocation-light (a scan of 100,000 threads is a few hundred
thousand open/read/close calls, and Node's synchronous fs is the cheapest it has). The thread walk
is the hot loop; when and how the walk helper thread shares it: ARCHITECTURE.md (The poll loop and
the walk helper).
*/
import * as fs from 'node:fs';
import {
	closeSync,
	constants,
	existsSync,
	fstatSync,
	openSync,
	readSync,
	readdirSync,
	statSync,
} from 'node:fs';
import {availableParallelism, loadavg} from 'node:os';
import {MessageChannel, receiveMessageOnPort, Worker, type MessagePort} from 'node:worker_threads';
import {errorCode, type FsPort, type TaskWalk, type TaskWalkOptions} from './fs-port.js';
import {
	CANCELLED,
	DONE,
	NOT_STARTED,
	RUNNING,
	type HelperAssignment,
	type HelperResult,
} from './walk-protocol.js';
import {createThreadTableBuilder, soleBuffer} from './thread-table.js';
import {
	addWalk,
	emptyWalk,
	makeFsWalkIo,
	readTaskFiles,
	unpackTaskFiles,
	walkTasks,
	type WalkIo,
} from './walk.js';

export type HostPort = FsPort & {
	/** The root this port reads, as given. */
	readonly root: string;
	/**
	How often a helper thread walked part of /proc, was cancelled (it had not started when the work
	ran out) or failed (its share was then walked here).
	*/
	readonly stats: {
		readonly helperRuns: number;
		readonly helperCancelled: number;
		readonly helperFailures: number;
		/** Helper threads this port started (or took prewarmed): one is kept from walk to walk. */
		readonly helperStarts: number;
		/** Background walks the calling thread joined (`walkTasksInBackground`'s `join`). */
		readonly helperJoins: number;
		/** Tables a helper made in the buffer of one given back (`recycleTable`), not in a new one. */
		readonly tablesRefilled: number;
	};
	/**
	Close the kept `/dev/kmsg` descriptor and end the kept helper thread (the port stays usable: a
	later readKmsg reopens it, a later big walk starts a helper).
	*/
	close(): void;
};

/** A /dev/kmsg record is at most 8 KiB (a read with a smaller buffer fails with EINVAL). */
const KMSG_BUFFER = 64 * 1024;

/**
Below this many /proc entries a second thread costs more (its start, ~30 ms of CPU) than it saves:
with patch_state reads (a transition runs), and with readdirs only (no transition: counting).
*/
const PARALLEL_MIN_PIDS = 1000;
const PARALLEL_MIN_PIDS_COUNTING = 8000;
/**
/proc entries per claim: both threads take chunks from a shared counter until none is left. Small,
because one entry can hold hundreds of threads (a JVM) and the last chunk decides who waits.
*/
const CHUNK = 32;
/** Safety net: a helper that claimed work but has not finished after this long is given up on. */
const HELPER_FINISH_MS = 120_000;
/** The helper's young generation (two semi-spaces and the new large objects), MB. */
const HELPER_YOUNG_MB = 6;

/** Set by scripts/bundle.mjs to the helper's bundled source; undeclared everywhere else. */
declare const __KLPTOP_WALK_HELPER_SOURCE__: string | undefined;

/**
Where the helper thread's program (`walk-helper.ts`) is: in the single-file bundle and the
standalone executable, its bundled source (scripts/bundle.mjs defines it); from `dist/`, the
compiled module beside this one; `KLPTOP_WALK_HELPER` names a compiled one elsewhere (the test
runner runs these sources as TypeScript, which a worker cannot load; test/setup.ts points it at
dist/). None found: no helper, the walk stays on one thread.
*/
function helperProgram(): {readonly code: string} | {readonly file: URL | string} | null {
	if (typeof __KLPTOP_WALK_HELPER_SOURCE__ === 'string') {
		return {code: __KLPTOP_WALK_HELPER_SOURCE__};
	}

	const named = process.env['KLPTOP_WALK_HELPER'];
	if (named !== undefined && named !== '') {
		return {file: named};
	}

	const beside = new URL('walk-helper.js', import.meta.url);
	return existsSync(beside) ? {file: beside} : null;
}

type Helper = {
	/**
	Called once the main thread finds no chunk left: 'cancelled' when the helper never started (it
	then does nothing), its walk when it finished, or null when it failed (its chunks must be redone).
	A helper that finished is handed to `keep` for the next walk; any other is ended.
	*/
	finish(keep: (idle: IdleHelper) => void): TaskWalk | 'cancelled' | null;
};

type SharedWalkSettings = {
	readonly prefix: string;
	readonly chunk: number;
	readonly waitForHelperMs: number;
	readonly helperFaultAfter: number | null;
	readonly helperChunkDelayMs: number;
	/** How long a thread that joined a background walk walks before it lets its event loop turn (keys). */
	readonly joinSliceMs: number;
};

/** A helper thread that has been started and waits for its (next) assignment. */
type IdleHelper = {
	readonly worker: Worker;
	readonly port: MessagePort;
	readonly control: Int32Array;
	/** False once the thread ended (it gives up after HELPER_IDLE_MS without work). */
	alive: boolean;
};

function spawnHelper(): IdleHelper | null {
	const program = helperProgram();
	if (program === null) {
		return null;
	}

	const {port1, port2} = new MessageChannel();
	const control = new Int32Array(new SharedArrayBuffer(4));
	let worker: Worker;
	try {
		worker = new Worker('code' in program ? program.code : program.file, {
			eval: 'code' in program,
			workerData: {control: control.buffer, port: port2},
			transferList: [port2],
			stdout: true,
			stderr: true,
			// The walk closes every descriptor it opens: no per-thread set of open ones to keep (an
			// insert and a removal on each of 100,000 opens and closes).
			trackUnmanagedFds: false,
			// Not the process's flags: `node --input-type=module -e ...` would make the bundled
			// CommonJS source an ES module (no `require`), and the helper would die at once.
			execArgv: [],
			// Its garbage (a string per file read) dies at once: a small young generation holds it as
			// well as V8's default 16 MB semi-spaces, which a dashboard's helper grew to and kept (issue 12).
			resourceLimits: {maxYoungGenerationSizeMb: HELPER_YOUNG_MB},
		});
	} catch {
		port1.close();
		return null;
	}

	worker.unref();
	const idle: IdleHelper = {worker, port: port1, control, alive: true};
	worker.on('error', () => {
		// A helper that dies before starting is cancelled; one that dies later is redone (finish()).
	});
	worker.on('exit', () => {
		idle.alive = false;
	});
	return idle;
}

/** End a helper thread (idle or not). */
function endHelper(idle: IdleHelper): void {
	idle.alive = false;
	Atomics.store(idle.control, 0, 2);
	Atomics.notify(idle.control, 0);
	idle.port.close();
	void idle.worker.terminate().catch(() => undefined);
}

/** The helper that made a table, and its serial there: that helper kept the table's owners. */
const madeBy = new WeakMap<object, {readonly worker: Worker; readonly serial: number}>();

/** Hand `idle` its walk; it claims chunks from `shared` as soon as it wakes. */
function assignHelper(
	idle: IdleHelper,
	{settings, slot, stats}: PortWalker,
	pids: readonly string[],
	options: TaskWalkOptions,
	shared: Int32Array,
): Helper {
	const {port, control} = idle;
	const {prefix, chunk, helperFaultAfter, helperChunkDelayMs} = settings;
	// Owners from a table this very helper made: it kept them, so 100,000 rows need not be copied to it.
	const made = options.owners === undefined ? undefined : madeBy.get(options.owners);
	const ownersSerial = made?.worker === idle.worker ? made.serial : null;
	const {owners: _owners, ...withoutOwners} = options;
	const work: HelperAssignment = {
		prefix,
		pids,
		options: ownersSerial === null ? options : withoutOwners,
		chunk,
		faultAfter: helperFaultAfter,
		...(helperChunkDelayMs > 0 ? {chunkDelayMs: helperChunkDelayMs} : {}),
		shared: shared.buffer as SharedArrayBuffer,
		ownersSerial,
	};
	// A walk that makes a table takes a buffer given back, if any, to make it in (moved, not copied).
	const spare = options.collect === 'all' ? slot.spares.pop() : undefined;
	port.postMessage(spare === undefined ? work : {...work, spare}, spare === undefined ? [] : [spare]);
	Atomics.store(control, 0, 1);
	Atomics.notify(control, 0);
	return {
		finish(keep) {
			let result: TaskWalk | 'cancelled' | null = null;
			if (Atomics.compareExchange(shared, 1, NOT_STARTED, CANCELLED) === NOT_STARTED) {
				// Never woke for it: perhaps it had ended idle. Start afresh next time.
				result = 'cancelled';
			} else {
				Atomics.wait(shared, 1, RUNNING, HELPER_FINISH_MS);
				if (Atomics.load(shared, 1) === DONE) {
					const received = receiveMessageOnPort(port) as {message: HelperResult} | undefined;
					const answer = received?.message;
					if (answer?.ok === true) {
						const {walk, packed} = answer;
						if (answer.refilled) stats.tablesRefilled++;
						if (walk.table !== undefined)
							madeBy.set(walk.table, {worker: idle.worker, serial: answer.serial});
						result = packed === undefined ? walk : {...walk, details: unpackTaskFiles(packed)};
					}
				}
			}

			if (result !== null && result !== 'cancelled' && idle.alive) {
				keep(idle);
			} else {
				endHelper(idle);
			}

			return result;
		},
	};
}

/** The helper started by `prewarmWalkHelper`, until a walk takes it. */
let prewarmed: IdleHelper | null = null;

/**
Start a walk helper now, for a one-shot scan (`--once`, batch) of `<root>/proc` that will come a
little later, if that /proc is large enough for one: the thread boots (tens of ms) on another core while this one is still loading the
program, instead of after the walk has begun. The next host-port walk big enough for a helper takes
it, whatever the load average (the caller decided); an unused one ends by itself. Does nothing with
fewer than two CPUs or `KLPTOP_WORKERS=0`. Returns whether a helper was started.
*/
export function prewarmWalkHelper(root: string): boolean {
	if (prewarmed !== null || availableParallelism() < 2 || process.env['KLPTOP_WORKERS'] === '0') {
		return false;
	}

	const prefix = rootPrefix(root);
	try {
		// Without a patch loaded no transition can run: the walk only counts, and takes a helper from
		// a larger /proc on (the thresholds of `walkTasks` below).
		const patches = existsSync(`${prefix}/sys/kernel/livepatch`)
			? readdirSync(`${prefix}/sys/kernel/livepatch`).length
			: 0;
		const threshold = patches > 0 ? PARALLEL_MIN_PIDS : PARALLEL_MIN_PIDS_COUNTING;
		if (roughEntryCount(`${prefix}/proc`) < threshold) {
			return false;
		}
	} catch {
		return false; // No /proc there (an archive, a typo): the reader will say so.
	}

	prewarmed = spawnHelper();
	return prewarmed !== null;
}

/**
About how many entries the directory `dir` holds, from one stat rather than a listing (thousands of
names, milliseconds before the walk can begin): procfs counts its processes in the link count of
`/proc`, and most disk filesystems count a directory's subdirectories there (plus 2). A count of 1
(btrfs and others) says nothing, so such a directory is listed.
*/
function roughEntryCount(dir: string): number {
	const links = statSync(dir).nlink;
	return links > 1 ? links : readdirSync(dir).length;
}

/** Give back the prewarmed helper (unused): it ends at once. For tests and early exits. */
export function releasePrewarmedHelper(): void {
	if (prewarmed !== null) {
		endHelper(prewarmed);
		prewarmed = null;
	}
}

/**
Walk with a helper thread, both claiming chunks of `pids` until none is left. The helper comes from
`slot` (the port's, kept from its previous walk: the dashboard polls every second or two and a
thread's start costs tens of ms of CPU each time), else the prewarmed one, else a new one; it goes
back to `slot` when it finished.
*/
function walkShared(walker: PortWalker, pids: readonly string[], options: TaskWalkOptions): TaskWalk {
	const {io, settings, stats, slot} = walker;
	const shared = new Int32Array(new SharedArrayBuffer(8));
	const idle = takeHelper(slot, stats);
	const helper = idle === null ? null : assignHelper(idle, walker, pids, options, shared);
	if (helper !== null && settings.waitForHelperMs > 0) {
		Atomics.wait(shared, 1, NOT_STARTED, settings.waitForHelperMs);
	}

	const share = ownShare(io, settings, pids, options, shared);
	while (share.next());
	return share.settle(helper, (kept) => keepHelper(slot, kept, slot.closes), stats);
}

/**
This thread's part of a shared walk: `next` claims one chunk of `pids` and walks it, false once none is
left (the helper, if any, claims from the same counter); `settle` then takes the helper's part, redone
here if the helper failed.
*/
function ownShare(
	io: WalkIo,
	settings: SharedWalkSettings,
	pids: readonly string[],
	options: TaskWalkOptions,
	shared: Int32Array,
) {
	const {chunk} = settings;
	const chunks = Math.ceil(pids.length / chunk);
	const into = emptyWalk();
	const mine = new Set<number>();
	// This thread's chunks fill one table (collect 'all'); the helper's comes in one piece.
	const table = options.collect === 'all' ? createThreadTableBuilder() : null;
	const walkChunk = (index: number) => {
		addWalk(into, walkTasks(io, pids.slice(index * chunk, (index + 1) * chunk), options, table));
	};

	let redoFrom: number | null = null;
	const share = {
		next(): boolean {
			const index = Atomics.add(shared, 0, 1);
			if (index >= chunks) return false;
			mine.add(index);
			walkChunk(index);
			return true;
		},
		/** The helper's part (`finish` waits for a running helper): its walk, or what it claimed to redo. */
		takeHelper(helper: Helper | null, keep: (idle: IdleHelper) => void, stats: HelperStats): void {
			const helped = helper === null ? null : helper.finish(keep);
			if (helped === 'cancelled') {
				stats.helperCancelled++;
			} else if (helped === null) {
				stats.helperFailures++;
				redoFrom = 0;
			} else {
				stats.helperRuns++;
				addWalk(into, helped);
			}
		},
		/** After a failed helper: walk one chunk it claimed, false once none is left. */
		redoNext(): boolean {
			while (redoFrom !== null && redoFrom < chunks) {
				const index = redoFrom++;
				if (mine.has(index)) continue;
				walkChunk(index);
				return true;
			}

			return false;
		},
		result(): TaskWalk {
			if (table !== null) addWalk(into, {...emptyWalk(), table: table.finish()});
			return into;
		},
		settle(helper: Helper | null, keep: (idle: IdleHelper) => void, stats: HelperStats): TaskWalk {
			share.takeHelper(helper, keep, stats);
			while (share.redoNext());
			return share.result();
		},
	};
	return share;
}

/**
The rest of a background walk, joined by this thread (`walkTasksInBackground`'s `join`): it claims the chunks
the helper has not reached, in slices of `joinSliceMs` (its event loop turns between them: keys), then waits
for the helper's last chunk without blocking. A close of the port meanwhile ends the helper and rejects; a
helper that dies or hangs is ended and what it claimed is walked here, in slices too.
*/
async function joinWalk(
	{io, settings, stats, slot}: PortWalker,
	pids: readonly string[],
	options: TaskWalkOptions,
	shared: Int32Array,
	idle: IdleHelper,
	helper: Helper,
	closes: number,
	deadline: number,
): Promise<TaskWalk> {
	stats.helperJoins++;
	const closed = () => {
		endHelper(idle);
		return Object.assign(new Error('the port was closed during the walk'), {code: 'ECANCELED'});
	};

	const share = ownShare(io, settings, pids, options, shared);
	let slice = performance.now();
	const breathe = async () => {
		if (performance.now() - slice < settings.joinSliceMs) return;
		await new Promise((resolve) => {
			setImmediate(resolve);
		});
		slice = performance.now();
		if (slot.closes !== closes) throw closed();
	};

	while (share.next()) await breathe();
	for (;;) {
		const state = Atomics.load(shared, 1);
		if (state !== RUNNING || !idle.alive || slot.closes !== closes || Date.now() > deadline) break;
		const waiting = Atomics.waitAsync(shared, 1, state, 250);
		if (waiting.async) await waiting.value;
	}

	if (slot.closes !== closes) throw closed();
	if (Atomics.load(shared, 1) === RUNNING) {
		// Died or hung in its last chunk: ended, and what it claimed is walked here (counted as a failure).
		endHelper(idle);
		share.takeHelper(null, () => undefined, stats);
	} else {
		// Done (its result waits on the port) or never started (cancelled): no wait.
		share.takeHelper(helper, (kept) => keepHelper(slot, kept, closes), stats);
	}

	while (share.redoNext()) await breathe();
	return share.result();
}

/**
The whole walk on a helper thread while this thread stays free (the dashboard answers keys during a
long scan): this thread claims no chunk and waits without blocking, the process kept alive meanwhile
(a pending `Atomics.waitAsync` alone would let it exit). A helper that never took the walk (it was
leaving after its idle time) is replaced once; one that fails, dies or hangs leaves the walk to this
thread, as in `walkShared`. Closing the port during the walk ends its helper and rejects (whoever
closed it no longer wants the result).
*/
async function walkInBackground(
	walker: PortWalker,
	pids: readonly string[],
	options: TaskWalkOptions,
	join?: Promise<unknown>,
): Promise<TaskWalk> {
	const {io, stats, slot} = walker;
	const closes = slot.closes;
	const keepAlive = setInterval(() => undefined, 60_000);
	let joined = false;
	// Settled either way, the caller is free (a rejection too: else every wait below would end at once).
	const free = () => {
		joined = true;
	};
	const joining = join?.then(free, free);
	try {
		for (let attempt = 0; attempt < 2; attempt++) {
			const idle = takeHelper(slot, stats);
			if (idle === null) {
				return walkTasks(io, pids, options); // No thread could be started.
			}

			const shared = new Int32Array(new SharedArrayBuffer(8));
			const helper = assignHelper(idle, walker, pids, options, shared);
			const deadline = Date.now() + HELPER_FINISH_MS;
			for (;;) {
				const state = Atomics.load(shared, 1);
				// A dead helper (its 'exit' came) or a closed port is noticed within the wait's 250 ms.
				if (state === DONE || !idle.alive || slot.closes !== closes || Date.now() > deadline) {
					break;
				}

				if (joined) {
					// This thread has nothing else to do now: it walks what the helper has not claimed yet.
					return await joinWalk(walker, pids, options, shared, idle, helper, closes, deadline);
				}

				const waiting = Atomics.waitAsync(shared, 1, state, 250);
				if (waiting.async) {
					await (joining === undefined ? waiting.value : Promise.race([waiting.value, joining]));
				}
			}

			if (slot.closes !== closes) {
				endHelper(idle);
				throw Object.assign(new Error('the port was closed during the walk'), {code: 'ECANCELED'});
			}

			if (Atomics.load(shared, 1) === DONE) {
				const helped = helper.finish((kept) => keepHelper(slot, kept, closes));
				if (helped !== null && helped !== 'cancelled') {
					stats.helperRuns++;
					return helped;
				}

				break;
			}

			// Never started (cancelled here: try a new helper), or died or hung mid-walk.
			const neverStarted = Atomics.compareExchange(shared, 1, NOT_STARTED, CANCELLED) === NOT_STARTED;
			endHelper(idle);
			if (!neverStarted) {
				break;
			}

			stats.helperCancelled++;
		}
	} finally {
		clearInterval(keepAlive);
	}

	stats.helperFailures++;
	return walkTasks(io, pids, options);
}

/** What a host port's walks share: its io, settings, counters and kept helper. */
type PortWalker = {
	readonly io: WalkIo;
	readonly settings: SharedWalkSettings;
	readonly stats: HelperStats;
	readonly slot: HelperSlot;
};

type HelperSlot = {
	kept: IdleHelper | null;
	/**
	Buffers of tables nobody reads any more (`recycleTable`), for the next walks' tables: the
	all-threads view's 4 MB table a poll is then not a new allocation each time, which the main
	thread's garbage collector would free only at its next full collection (issue 12).
	*/
	readonly spares: ArrayBuffer[];
	/** How many times the port was closed: a helper whose walk began before a close is not kept. */
	closes: number;
};

/** A helper for the next walk: the one kept in `slot`, else the prewarmed one, else a new one. */
function takeHelper(slot: HelperSlot, stats: HelperStats): IdleHelper | null {
	let idle = slot.kept;
	slot.kept = null;
	if (idle !== null && !idle.alive) {
		endHelper(idle);
		idle = null;
	}

	if (idle === null) {
		idle = takePrewarmed() ?? spawnHelper();
		if (idle !== null) stats.helperStarts++;
	}

	return idle;
}

/**
Keep a helper that finished for the port's next walk: one is enough, and none from a walk that began
before the port was closed (`closes`: the slot's count when it began).
*/
function keepHelper(slot: HelperSlot, idle: IdleHelper, closes: number): void {
	if (slot.closes !== closes || slot.kept !== null) {
		endHelper(idle);
	} else {
		slot.kept = idle;
	}
}

/** `root` as the prefix of world paths: `/` -> ``, `/tmp/t/` -> `/tmp/t`. */
function rootPrefix(root: string): string {
	return root.replace(/\/+$/, '');
}

function takePrewarmed(): IdleHelper | null {
	const idle = prewarmed;
	prewarmed = null;
	return idle;
}

function coreLooksFree(checkLoad: boolean): boolean {
	const cpus = availableParallelism();
	if (cpus < 2) {
		return false;
	}

	return !checkLoad || cpus - (loadavg()[0] ?? 0) >= 0.75;
}

type HelperStats = {
	helperRuns: number;
	helperCancelled: number;
	helperFailures: number;
	helperStarts: number;
	helperJoins: number;
	tablesRefilled: number;
};

/**
Create a port reading `<root>/...`. Paths passed to the port are absolute inside the world
(`/proc/1/stat`); they are joined to `root` by plain concatenation.
*/
export type HostPortOptions = {
	/**
	Walk /proc with a helper thread from this many entries on (default 1000 when patch_state is
	read, 8000 when threads are only counted); `Infinity` never.
	The environment variable `KLPTOP_WORKERS=0` also turns the helper off.
	*/
	readonly parallelMinPids?: number;
	/**
	Use the helper only when a core looks free (1-minute load average at least 0.75 below the CPU
	count): on a saturated machine a second thread only adds contention. Default true.
	*/
	readonly loadCheck?: boolean;
	/** For tests: /proc entries per claim (default 32). */
	readonly chunk?: number;
	/** For tests: wait up to this many ms for the helper to start before walking (so it gets work). */
	readonly waitForHelperMs?: number;
	/** For tests: the helper throws after this many chunks (its claimed chunks are redone here). */
	readonly helperFaultAfter?: number;
	/** For tests: the helper sleeps this long after each chunk. */
	readonly helperChunkDelayMs?: number;
	/** A thread that joined a background walk lets its event loop turn every this many ms (default 15). */
	readonly joinSliceMs?: number;
};

export function createHostPort(root: string, options: HostPortOptions = {}): HostPort {
	const prefix = rootPrefix(root);

	// One io for the walk and every other read: patch_state through a small buffer, other files through a growing one.
	const walkIo = makeFsWalkIo(fs as Parameters<typeof makeFsWalkIo>[0], prefix, readTaskFiles);
	const {readText: readFile, ownerUid} = walkIo;
	const sharedSettings: SharedWalkSettings = {
		prefix,
		chunk: Math.max(1, options.chunk ?? CHUNK),
		waitForHelperMs: options.waitForHelperMs ?? 0,
		helperFaultAfter: options.helperFaultAfter ?? null,
		helperChunkDelayMs: options.helperChunkDelayMs ?? 0,
		joinSliceMs: options.joinSliceMs ?? 15,
	};
	const stats: HelperStats = {
		helperRuns: 0,
		helperCancelled: 0,
		helperFailures: 0,
		helperStarts: 0,
		helperJoins: 0,
		tablesRefilled: 0,
	};
	const slot: HelperSlot = {kept: null, closes: 0, spares: []};
	const walker: PortWalker = {io: walkIo, settings: sharedSettings, stats, slot};

	// `/dev/kmsg` state: the kept descriptor, and for a regular file the offset already consumed.
	let kmsgFd: number | undefined;
	let kmsgIsDevice = false;
	let kmsgOffset = 0;
	let kmsgBuffer: Buffer | undefined;

	function closeKmsgFd(): void {
		if (kmsgFd !== undefined) {
			try {
				closeSync(kmsgFd);
			} catch {
				// Already closed.
			}

			kmsgFd = undefined;
		}
	}

	function openKmsg(): boolean {
		if (kmsgFd !== undefined) {
			return true;
		}

		try {
			kmsgFd = openSync(`${prefix}/dev/kmsg`, constants.O_RDONLY | constants.O_NONBLOCK);
		} catch {
			return false;
		}

		try {
			kmsgIsDevice = fstatSync(kmsgFd).isCharacterDevice();
		} catch {
			kmsgIsDevice = false;
		}

		return true;
	}

	/** The real /dev/kmsg: one record per read(), EAGAIN at the end, EPIPE when records were overwritten. */
	function readKmsgDevice(fd: number): string[] | undefined {
		kmsgBuffer ??= Buffer.allocUnsafe(KMSG_BUFFER);
		const buffer = kmsgBuffer;
		const records: string[] = [];
		for (;;) {
			let n: number;
			try {
				n = readSync(fd, buffer, 0, buffer.length, null);
			} catch (error) {
				const code = errorCode(error);
				if (code === 'EPIPE') {
					continue;
				}

				if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
					break;
				}

				if (code === 'EACCES' || code === 'EPERM') {
					return records.length > 0 ? records : undefined;
				}

				break;
			}

			if (n === 0) {
				break;
			}

			records.push(buffer.toString('utf8', 0, n));
		}

		return records;
	}

	/** A regular file standing in for /dev/kmsg: return the complete lines appended since the last call. */
	function readKmsgFile(fd: number): string[] {
		let size: number;
		try {
			size = fstatSync(fd).size;
		} catch {
			return [];
		}

		if (size < kmsgOffset) {
			// Truncated or rewritten: start over.
			kmsgOffset = 0;
		}

		if (size === kmsgOffset) {
			return [];
		}

		const chunk = Buffer.allocUnsafe(size - kmsgOffset);
		let length = 0;
		while (length < chunk.length) {
			const n = readSync(fd, chunk, length, chunk.length - length, kmsgOffset + length);
			if (n === 0) {
				break;
			}

			length += n;
		}

		// Consume complete lines only; a half-written last line is read next time.
		const lastNewline = chunk.lastIndexOf(0x0a, length - 1);
		if (lastNewline < 0) {
			return [];
		}

		kmsgOffset += lastNewline + 1;
		const lines = chunk.toString('utf8', 0, lastNewline).split('\n');
		return lines.filter((line) => line !== '');
	}

	/** Whether a walk of `pids` is worth a helper thread (and helpers are on). */
	function bigEnough(pids: readonly string[], walkOptions: TaskWalkOptions): boolean {
		const min =
			options.parallelMinPids ?? (walkOptions.readStates ? PARALLEL_MIN_PIDS : PARALLEL_MIN_PIDS_COUNTING);
		return pids.length >= min && process.env['KLPTOP_WORKERS'] !== '0';
	}

	return {
		root,
		stats,
		readFile,
		readdir(path) {
			return readdirSync(prefix + path);
		},
		walkTasks(pids, walkOptions) {
			if (
				!bigEnough(pids, walkOptions) ||
				(prewarmed === null && !coreLooksFree(options.loadCheck ?? true))
			) {
				// Too small (or helpers off) for a second thread: let a prewarmed one go.
				releasePrewarmedHelper();
				return walkTasks(walkIo, pids, walkOptions);
			}

			return walkShared(walker, pids, walkOptions);
		},
		walkTasksInBackground(pids, walkOptions, join) {
			// Whatever the load: the helper does this thread's work instead, it adds no thread's worth.
			if (!bigEnough(pids, walkOptions)) {
				return null;
			}

			return walkInBackground(walker, pids, walkOptions, join);
		},
		recycleTable(table) {
			// Two at most: a walk takes one; a table nobody could refill is left to the collector.
			const buffer = soleBuffer(table);
			if (buffer !== null && slot.spares.length < 2 && !slot.spares.includes(buffer))
				slot.spares.push(buffer);
		},
		exists(path) {
			return existsSync(prefix + path);
		},
		ownerUid,
		identity(path) {
			try {
				const stat = statSync(prefix + path, {bigint: true});
				return `${stat.dev}:${stat.ino}:${stat.birthtimeNs}`;
			} catch {
				return null;
			}
		},
		readKmsg() {
			if (!openKmsg() || kmsgFd === undefined) {
				return undefined;
			}

			try {
				return kmsgIsDevice ? readKmsgDevice(kmsgFd) : readKmsgFile(kmsgFd);
			} catch {
				return undefined;
			} finally {
				if (!kmsgIsDevice) {
					// A file may be replaced (written elsewhere and renamed into place): reopen it every
					// time and keep only the offset, so a rewritten log continues where it was.
					closeKmsgFd();
				}
			}
		},
		readerUid() {
			return typeof process.geteuid === 'function' ? process.geteuid() : -1;
		},
		close() {
			closeKmsgFd();
			slot.closes++;
			if (slot.kept !== null) {
				endHelper(slot.kept);
				slot.kept = null;
			}
		},
	};
}
