/**
The incremental transition scan's bookkeeping (issue 12): per-TID marks of threads known at the
target, shared with the walk helper, and the plan of each walk (incremental, full, or the 10 s
safety net's check). One per reader; ARCHITECTURE.md (Cost that follows the work) says when a walk
reads everything again.
*/
import type {KernelLogLine, TransitionInfo} from '../model/types.js';
import {parseLivepatchLine} from '../model/kernel-log.js';
import {LIVEPATCH_DIR, PROCESS_SLOTS, type FsPort, type TaskWalk, type WalkMarks} from './fs-port.js';

/**
What the reader keeps of the transition it reads incrementally: which one it is (a thread at the
target stays there only while the same transition runs in the same direction) and when it last read
every thread.
*/
type Epoch = {
	readonly patch: string;
	readonly target: 0 | 1;
	/** The patch directory's identity (`FsPort.identity`), null where the port cannot tell. */
	readonly identity: string | null;
	/** Scan time of its last full scan. */
	fullAt: number;
};

/** The lines of the kernel's transition life cycle (not the per-task ones, not force or signals). */
const lifecycleKinds = new Set([
	'enabling',
	'initializing',
	'starting',
	'reversing',
	'canceling',
	'completing',
	'complete',
]);

/** Whether the log names a start, end or reversal of a transition of `patch`. */
function lifecycleOf(log: readonly KernelLogLine[], patch: string): boolean {
	for (const line of log) {
		const record = parseLivepatchLine(line.text);
		if (lifecycleKinds.has(record.kind) && 'patch' in record && record.patch === patch) {
			return true;
		}
	}

	return false;
}

/**
Whether any task was created or ended on the machine between two readings, from two counters the
kernel keeps for the whole machine: `/proc/loadavg`'s thread count (`nr_threads`, with its last PID)
and `/proc/stat`'s `processes` (tasks created since boot: every fork and thread, a PID asked for with
clone3's set_tid included). No task created and as many as before: none ended either, so every
process has the threads it had. Both are global, so a reader in a PID namespace sees the machine's
changes too (it may only take them for its own). `/proc/stat` is longer (a line per CPU): it is read
only when loadavg has not moved. A directory's mtime would not do: procfs never updates that of
`/proc/<pid>/task` when threads come and go (checked on 6.1), disk trees do.
*/
export function createTaskSetProbe(read: (path: string) => string | null): {
	/**
	A reading to compare with the next one, null where the files are missing or garbled. `forks`:
	`/proc/stat`'s count the caller has just read, so that it is not read again.
	*/
	read(forks?: number): string | null;
	/** Whether `after` (a reading) says nothing changed since `before`. */
	same(before: string | null, after: string | null): boolean;
	/** `/proc/stat`'s `processes`: tasks created since boot, null where unreadable. */
	forks(): number | null;
} {
	const readForks = (): number | null => {
		const made = /^processes (\d+)$/m.exec(read('/proc/stat') ?? '')?.[1];
		return made === undefined ? null : Number(made);
	};
	const loadavg = (): string | null => {
		const text = read('/proc/loadavg');
		// `0.52 0.58 0.59 2/10144 71234`: the total after the slash, then the last PID.
		const fields = text?.trim().split(/\s+/) ?? [];
		const threads = fields[3]?.split('/')[1];
		const last = fields[4];
		return threads !== undefined && last !== undefined && /^\d+$/.test(threads) && /^\d+$/.test(last)
			? `${threads} ${last}`
			: null;
	};

	let previousLoad: string | null = null;
	return {
		read(forks) {
			const load = loadavg();
			if (load === null) return (previousLoad = null);
			const moved = load !== previousLoad;
			previousLoad = load;
			// Loadavg moved: the reading cannot equal the last one, whatever /proc/stat says.
			if (moved) return `${load} ?`;
			const made = forks ?? readForks();
			return made === null ? null : `${load} ${made}`;
		},
		same(before, after) {
			return before !== null && after !== null && !before.endsWith(' ?') && before === after;
		},
		forks: readForks,
	};
}

/** Readings `outOfOrder` compares a new one with: a fork under way at one of them is counted by the next. */
const RECENT_READINGS = 3;

/** Initial room in the marks: TIDs up to this, or a quarter above the highest /proc entry. */
const MIN_MARK_SLOTS = 1 << 15;

export type WalkPlanner = {
	/** How the next walk reads the threads of `transition`, and why it reads them all when it does. */
	plan(
		transition: TransitionInfo,
		log: readonly KernelLogLine[],
		time: number,
		pids: readonly string[],
		full: boolean,
	): {marks: WalkMarks | undefined; reason: string | null};
	/** A poll without a transition (or with a patch still loading) ends the epoch. */
	noTransition(): void;
	/**
	A walk that only counts threads (no transition): the last such walk of the same `kind` when no
	task was created or ended since it (it is that walk's answer again), else null. Every call is
	followed by `settleCount` once its walk is in.
	*/
	countWalk(kind: string): TaskWalk | null;
	/** Keep the count walk made after `countWalk` (null: it failed, keep nothing). */
	settleCount(walk: TaskWalk | null): void;
	/** Keep what the walk taught the marks, or let them go when the walk failed (`walk` null). */
	settle(
		marks: WalkMarks | undefined,
		walk: TaskWalk | null,
		transition: TransitionInfo | null,
		time: number,
	): void;
};

export function createWalkPlanner(
	port: FsPort,
	{
		incremental,
		fullScanEveryMs,
		readLastPid,
		taskSet,
	}: {
		incremental: boolean;
		fullScanEveryMs: number;
		/** `/proc/sys/kernel/ns_last_pid`, null where it cannot be read. */
		readLastPid: () => number | null;
		/** Tells whether tasks came or went between two walks (`createTaskSetProbe`); absent: always. */
		taskSet?: ReturnType<typeof createTaskSetProbe>;
	},
): WalkPlanner {
	let epoch: Epoch | null = null;
	let slots: Int32Array | null = null;
	let processSlots: Int32Array | null = null;
	let markPoll = 0;
	/** A marked walk is under way: a scan meanwhile (another caller) reads every thread, unmarked. */
	let marking = false;
	/** `/proc/sys/kernel/ns_last_pid` at the last marked walk, null when unknown. */
	let lastPid: number | null = null;
	/**
	Tasks created (`/proc/stat`) beyond `ns_last_pid`, `forks - ns_last_pid` read at one instant, at
	the last `RECENT_READINGS` marked walks since PIDs last wrapped, oldest first (see `outOfOrder`).
	*/
	let excesses: number[] = [];
	/** The task set's reading before the last marked walk, and before the one under way. */
	let marksReading: string | null = null;
	let pendingMarksReading: string | null = null;
	/** The last count walk, its kind and the reading before it; the reading before the one under way. */
	let counted: {kind: string; reading: string | null; walk: TaskWalk} | null = null;
	let pendingCount: {kind: string; reading: string | null} | null = null;

	/** `marks`, or new ones with room for `size` slots and what `marks` held. */
	function roomy(marks: Int32Array | null, size: number): Int32Array {
		if (marks !== null && size <= marks.length) return marks;
		const length = Math.max(MIN_MARK_SLOTS, Math.ceil(size * 1.25));
		// Shared: the walk helper thread reads and writes them too.
		const grown = new Int32Array(new SharedArrayBuffer(length * 4));
		if (marks !== null) grown.set(marks);
		return grown;
	}

	/** The marks, with room for TIDs up to `maxTid` and PIDs up to `maxPid`. */
	function marksFor(maxTid: number, maxPid: number): {slots: Int32Array; processes: Int32Array} {
		slots = roomy(slots, maxTid + 1);
		processSlots = roomy(processSlots, PROCESS_SLOTS * (maxPid + 1));
		return {slots, processes: processSlots};
	}

	/**
	`ns_last_pid` and the count of tasks created since boot at one instant: no fork between the two
	reads of `ns_last_pid` around that of the count (three tries, else the count is unknown).
	*/
	function readAllocation(): {last: number | null; forks: number | null} {
		let last = readLastPid();
		for (let tries = 0; tries < 3 && last !== null && taskSet !== undefined; tries++) {
			const forks = taskSet.forks();
			const again = readLastPid();
			if (forks === null) break;
			if (again === last) return {last, forks};
			last = again;
		}

		return {last, forks: null};
	}

	/**
	Why the TIDs the kernel handed out since the last marked walk cannot be told from `ns_last_pid`
	alone, or null when they can (all after the last one then, up to the one now):
	- it went down: PIDs wrapped around pid_max (or it was written, as checkpoint restores do), and
	  whatever the count says, a TID asked for may lie anywhere;
	- more tasks were created (`/proc/stat`'s count) than it moved over: a TID was asked for (clone3's
	  set_tid, a checkpoint restore), which leaves `ns_last_pid` where it was; such a TID may have
	  been a thread at the target a moment before, anywhere among the marks.
	A fork under way at a reading has its PID and is not counted yet (copy_process counts it last):
	`forks - ns_last_pid` dips by one then, and comes back at the next reading, which is no TID out of
	order; a fork that fails after its PID was taken (a cgroup's pids.max) leaves it lower for good. So
	the second case is told against the most that difference was at the last few readings, not at
	the last one: a dip does not read as a TID out of order, and a lasting one is forgotten after a
	few polls (while it lasts, as many TIDs asked for as forks failed go untold; the safety net is
	there). A TID asked for during a dip is told a poll late. Not told where the count cannot be read
	(see `forgetAllocated`).
	*/
	function outOfOrder(now: {last: number | null; forks: number | null}): string | null {
		const wrapped = now.last !== null && lastPid !== null && now.last < lastPid;
		if (wrapped || now.last === null || now.forks === null) excesses = [];
		const excess = now.last === null || now.forks === null ? null : now.forks - now.last;
		const most = excesses.length === 0 ? null : Math.max(...excesses);
		if (excess !== null) excesses = [...excesses, excess].slice(-RECENT_READINGS);
		if (wrapped) return 'PIDs wrapped';
		return most !== null && excess !== null && excess > most ? 'a TID handed out out of order' : null;
	}

	/**
	Forget what the marks say of TIDs the kernel handed out since the last marked walk: a TID that
	exited and was given to a new thread between two polls looks the same in a listing, and the new
	thread may be at the initial state (it inherits its creator's). The kernel hands out PIDs in
	order, so the new ones lie after the last one it handed out (`ns_last_pid`, read at each marked
	walk) up to the one now. When that does not hold, `outOfOrder` says why and the walk reads every
	thread. Without that file, only the safety net sees them.
	*/
	function forgetAllocated(marks: {slots: Int32Array; processes: Int32Array}, now: number | null): void {
		const before = lastPid;
		lastPid = now;
		if (now === null || before === null || now < before) return;
		// The new TIDs; when none, where the count of forks cannot be read, the last TID itself again
		// (it exited and was asked for): one read tells.
		const from = now === before ? now : before + 1;
		marks.slots.fill(0, Math.min(from, marks.slots.length), Math.min(now + 1, marks.slots.length));
		const {processes} = marks;
		processes.fill(
			0,
			Math.min(PROCESS_SLOTS * from, processes.length),
			Math.min(PROCESS_SLOTS * (now + 1), processes.length),
		);
	}

	/**
	How this scan reads the threads. With a transition this reader has read before, only the threads
	not yet at the target: within one transition a thread only ever moves from the initial state to
	the target, and a new one inherits its creator's state (kernel-livepatch.md §3, §4.3, §4.6). All
	of them again (a new epoch) when that no longer holds:
	- a new transition: another patch is in transition;
	- a reversal: the same patch, the other target (`enabled` flipped; switched threads go back);
	- a replaced patch: the same name and target, but a new patch (unloaded and loaded again, or on
	  kernels before 5.1 disabled and enabled again): its directory is another one, or the kernel log
	  of this poll starts, reverses or ends a transition of it;
	- a change of `transition`: a poll that sees no transition (or a patch still loading) ends the
	  epoch, so a later transition of the same patch starts afresh;
	- TIDs handed out since the last walk that `ns_last_pid` does not bound (`outOfOrder`).
	And every `fullScanEveryMs` the safety net: every thread read, and any thread the marks put at the
	target that reads otherwise is counted in the warnings.
	*/
	function planWalk(
		transition: TransitionInfo | null,
		log: readonly KernelLogLine[],
		time: number,
		pids: readonly string[],
		full: boolean,
	): {marks: WalkMarks | undefined; reason: string | null} {
		if (transition === null || transition.initializing === true) {
			epoch = null;
			return {marks: undefined, reason: null};
		}

		if (!incremental || marking) {
			return {marks: undefined, reason: incremental ? 'another scan was reading' : 'incremental scans off'};
		}

		const identity = port.identity?.(`${LIVEPATCH_DIR}/${transition.patch}`) ?? null;
		const allocation = readAllocation();
		let reason: string | null = null;
		let mode: WalkMarks['mode'] = 'incremental';
		if (epoch === null) {
			reason = 'first poll of this transition';
		} else if (epoch.patch !== transition.patch) {
			reason = 'new transition';
		} else if (epoch.target !== transition.target) {
			reason = 'reversal';
		} else if (epoch.identity !== identity || lifecycleOf(log, transition.patch)) {
			reason = 'replaced patch';
		} else if (full) {
			reason = 'asked for';
		}

		// Asked at every marked walk: each reading joins the recent ones it compares with.
		const order = outOfOrder(allocation);
		reason ??= order;

		if (reason !== null) {
			mode = 'full';
		} else if (!(time - epoch!.fullAt < fullScanEveryMs)) {
			mode = 'check';
			reason = 'safety net';
		}

		let maxPid = 0;
		for (const pid of pids) {
			const n = Number(pid);
			if (n > maxPid) maxPid = n;
		}

		const marks = marksFor(maxPid, maxPid);
		if (mode === 'full') {
			// Only to track the TIDs handed out from here on.
			lastPid = null;
		}

		forgetAllocated(marks, allocation.last);
		// Read before the walk: whatever changes while it runs shows in the next reading. The count of
		// forks is the one just read with `ns_last_pid`, when there is one.
		const reading = taskSet?.read(allocation.forks ?? undefined) ?? null;
		const sameTasks = mode === 'incremental' && taskSet !== undefined && taskSet.same(marksReading, reading);
		pendingMarksReading = reading;
		markPoll++;
		marking = true;
		return {marks: {...marks, poll: markPoll, mode, ...(sameTasks ? {sameTasks} : {})}, reason};
	}

	return {
		plan: planWalk,
		noTransition() {
			epoch = null;
		},
		countWalk(kind) {
			const reading = taskSet?.read() ?? null;
			pendingCount = {kind, reading};
			const last = counted;
			return last !== null && last.kind === kind && taskSet!.same(last.reading, reading) ? last.walk : null;
		},
		settleCount(walk) {
			counted = walk === null || pendingCount === null ? null : {...pendingCount, walk};
			pendingCount = null;
		},
		settle(marks, walk, transition, time) {
			if (marks === undefined) return;
			marking = false;
			marksReading = walk === null ? null : pendingMarksReading;
			if (walk === null || transition === null) return;
			marksFor(walk.maxTid ?? 0, 0);
			if (marks.mode === 'full') {
				epoch = {
					patch: transition.patch,
					target: transition.target,
					identity: port.identity?.(`${LIVEPATCH_DIR}/${transition.patch}`) ?? null,
					fullAt: time,
				};
			} else if (marks.mode === 'check' && epoch !== null) {
				epoch.fullAt = time;
			}
		},
	};
}
