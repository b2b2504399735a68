/**
The data model every consumer shares: the dashboard, the actions and the script modes only ever see
a `Snapshot` (one scan of one source) and the `History` folded from successive snapshots
(`history.ts`). Everything here is plain, readonly data: no classes, no I/O.

Strings that came from the kernel or a process (comm, patch/object/function names, stack lines,
kernel log lines) are stored *raw* here; they are sanitised by `sanitize.ts` at the edge, right
before they reach a terminal or a JSON document.
*/

/** `/proc/<pid>/task/<tid>/patch_state`: -1 no transition, 0 unpatched set, 1 patched set. */
export type PatchState = -1 | 0 | 1;

export type SourceKind = 'host' | 'tree' | 'emulator';

export type SourceInfo = {
	readonly kind: SourceKind;
	/** Root directory for `host` (`/`) and `tree` sources, null for the in-process emulator. */
	readonly root: string | null;
	/** Emulator scenario name, null otherwise. */
	readonly scenario: string | null;
	/**
	A `tree` that is a klptop capture (archive or extracted): when it was taken (its manifest's
	`created`, ms since the epoch). Every scan of it is dated then, not now: a capture is a photograph.
	Absent otherwise. Additive field.
	*/
	readonly capturedAt?: number;
};

export type FunctionInfo = {
	/** Old function name, from the `<func>,<sympos>` directory. */
	readonly name: string;
	/** Symbol position; the kernel prints 0 as 1. */
	readonly sympos: number;
};

export type ObjectInfo = {
	/** `vmlinux` or the patched module's name. */
	readonly name: string;
	/** `<obj>/patched` (6.1+), null where the file does not exist. */
	readonly patched: boolean | null;
	readonly functions: readonly FunctionInfo[];
};

export type PatchInfo = {
	readonly name: string;
	/** Target state: 1 while patching or applied, 0 while unpatching. */
	readonly enabled: boolean;
	readonly transition: boolean;
	/** `replace` (6.11+), null where absent. */
	readonly replace: boolean | null;
	/** `stack_order` (6.14+), null where absent. */
	readonly stackOrder: number | null;
	/** `force` exists (4.16+). Write-only: detected by presence, never read. */
	readonly hasForce: boolean;
	/** `signal` exists (4.16-5.0 only). */
	readonly hasSignal: boolean;
	readonly objects: readonly ObjectInfo[];
};

export type Direction = 'patching' | 'unpatching';

export type TransitionInfo = {
	readonly patch: string;
	readonly direction: Direction;
	/** The patch_state every task must reach: the transition patch's `enabled`, except while initialising. */
	readonly target: 0 | 1;
	/**
	The patch is still being loaded (`insmod` inside `__klp_enable_patch`): `transition` reads 1 and every
	task 0, but `enabled` is only set at the end, so it reads 0 although this is a patching transition. No
	task is held by anything yet. Absent (or false) otherwise. Additive field.
	*/
	readonly initializing?: boolean;
};

/** Sleep/run class of a thread, from the state letter of `stat`. */
export type TaskClass = 'running' | 'interruptible' | 'uninterruptible' | 'stopped' | 'zombie' | 'unknown';

/** Every class, in the order summaries and metrics list them. */
export const taskClasses: readonly TaskClass[] = [
	'running',
	'interruptible',
	'uninterruptible',
	'stopped',
	'zombie',
	'unknown',
];

/**
What can still move a blocker, most useful first:
- `nudge`: SIGSTOP/SIGCONT from user space (user task in interruptible sleep);
- `wait`: the kernel will do it (next kernel exit of a running task, the 15 s fake signal, a task
  that is already stopped and switches on its way out);
- `reverse`: write the opposite value to `enabled`;
- `kill`: SIGKILL, for a user task in a sleep known to be killable (TASK_KILLABLE): it ends the
  sleep and the task stops holding the transition, at the cost of the process (it dies). klptop
  never sends it; the operator may.
- `force`: write 1 to `force` (breaks the consistency guarantee).
*/
export type Remedy = 'nudge' | 'wait' | 'reverse' | 'kill' | 'force';

/** Every remedy, most useful first (the order above). */
export const remedies: readonly Remedy[] = ['nudge', 'wait', 'reverse', 'kill', 'force'];

export type ThreadInfo = {
	readonly tid: number;
	readonly tgid: number;
	/** Raw comm from `stat` (may contain spaces, parentheses, escapes). */
	readonly comm: string;
	/** State letter from `stat` (R, S, D, T, t, Z, X, I, P, ...), '?' when unreadable. */
	readonly state: string;
	readonly ppid: number;
	/** `stat` field 9. */
	readonly flags: number;
	/** PF_KTHREAD (0x00200000) set in flags. */
	readonly kthread: boolean;
	/** `stat` field 22, clock ticks since boot. With tid it identifies a thread across PID reuse. */
	readonly starttime: number;
	/** Null when `patch_state` could not be read (or was not read: no transition running). */
	readonly patchState: PatchState | null;
	/** Owner uid of the task directory, null when unknown. */
	readonly uid: number | null;
};

export type StackFrame = {
	/** The raw line, e.g. `[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]`. */
	readonly raw: string;
	readonly func: string;
	/** Module in brackets, null for vmlinux frames. */
	readonly module: string | null;
};

/**
A matched frame that is a livepatch's replacement code rather than the original function: an older
patch's function while a newer one (atomic replace, or stacked) patches over it, or the transition
patch's own function while unpatching.
*/
export type NewCode = {
	/** The patch whose function it is. */
	readonly patch: string;
	/** The module the frame is in, where that code lives (`[module]` of the stack line). */
	readonly module: string;
	/** The original function it replaces, when its name tells (`name` or `livepatch_name`), else null. */
	readonly replaces: string | null;
};

export type Blocker = ThreadInfo & {
	readonly patchState: 0 | 1;
	readonly class: TaskClass;
	/** Patched function found on the stack (or from wchan), null when none matched. */
	readonly function: string | null;
	/**
	The patched object (`vmlinux` or a module name) of the function, null when unknown. When the frame
	is a patch's replacement code (`newCode`), the code lives in `newCode.module` instead.
	*/
	readonly object: string | null;
	/** The matched function is a livepatch's replacement code (see `NewCode`); absent or null otherwise. Additive. */
	readonly newCode?: NewCode | null;
	/** Raw `wchan`, null when unreadable or `0`. */
	readonly wchan: string | null;
	/** Parsed `stack`, null when unreadable (not root, CAP_SYS_ADMIN). */
	readonly stack: readonly StackFrame[] | null;
	/** Index into `stack` of the matched frame, null when the match came from wchan or none. */
	readonly matchedFrame: number | null;
	/** Where the function came from. */
	readonly matchedBy: 'stack' | 'wchan' | null;
	/**
	A D sleep's kind: true when it is known killable (TASK_KILLABLE, which SIGKILL ends: the innermost
	function's name says so), null when it cannot be told (/proc shows D for both kinds), false or
	absent for any other state. Additive field.
	*/
	readonly killable?: boolean | null;
	readonly remedies: readonly Remedy[];
};

export type TaskCounts = {
	readonly total: number;
	readonly byPatchState: {readonly '-1': number; readonly '0': number; readonly '1': number};
	/**
	Threads whose patch_state was to be read and could not be (EACCES when not root: it is 0400;
	garbage): they may or may not be pending. Present only when there are some. Additive field.
	*/
	readonly unknown?: number;
};

/** One parsed kernel log record. */
export type KernelLogLine = {
	/** Seconds since boot from the record, null for plain lines. */
	readonly bootSeconds: number | null;
	/** The message text without the `6,123,456,-;` prefix. */
	readonly text: string;
};

export type Snapshot = {
	/** Wall-clock time of the scan, ms since the epoch. */
	readonly time: number;
	readonly source: SourceInfo;
	readonly kernel: {
		readonly release: string | null;
		/** `/sys/kernel/livepatch` exists (CONFIG_LIVEPATCH). */
		readonly livepatch: boolean;
		/** Boot time, ms since the epoch (`btime` of `/proc/stat`), null when unknown. */
		readonly bootTime: number | null;
	};
	readonly privileges: {readonly root: boolean; readonly stacksReadable: boolean};
	readonly patches: readonly PatchInfo[];
	readonly transition: TransitionInfo | null;
	readonly tasks: TaskCounts;
	/** Every thread seen, only when the scan was asked for all threads (`threads: 'all'`). */
	readonly threads: readonly ThreadInfo[] | null;
	/**
	Every thread seen as columns, when the scan was asked for them (`threads: 'columns'`: the
	dashboard's all-threads view). Additive; absent or null otherwise.
	*/
	readonly threadTable?: ThreadTable | null;
	readonly blockers: readonly Blocker[];
	/**
	Livepatch modules still loaded (taint `K` in /proc/modules) while no patch is listed under
	/sys/kernel/livepatch: patches disabled and unpatched, whose module only `rmmod` removes. Read only
	when no patch is listed; null when not read or unreadable. Absent in older snapshots. Additive.
	*/
	readonly leftoverModules?: readonly string[] | null;
	/** Kernel log lines that are new since the previous scan of this reader (livepatch lines only). */
	readonly kernelLog: readonly KernelLogLine[];
	readonly warnings: readonly string[];
	/** How the scan read the threads (issue 12); absent where no reader made the snapshot. Additive. */
	readonly scanCost?: ScanCost;
};

/**
What a scan read. A reader kept from poll to poll reads, during a transition, only the threads not
yet known at the target (`incremental`); it reads every one (`full`) at a transition's first poll,
after anything that can send threads back (a reversal, a new transition, a replaced patch), and
every 10 s as a safety net.
*/
export type ScanCost = {
	/** `count`: no transition (or no livepatch): threads counted, no patch_state read. */
	readonly mode: 'full' | 'incremental' | 'count';
	/** Why a reader that could have read incrementally read every thread, else null. */
	readonly reason: string | null;
	/** patch_state files read. */
	readonly statesRead: number;
	/** Threads counted at the target without a read (known there from an earlier poll). */
	readonly statesKnown: number;
	/**
	No task was created or ended since the previous poll (`/proc/loadavg`, `/proc/stat`): the counts
	it took were used again, with no stat of a task dir (`count`: the whole count).
	*/
	readonly sameTasks?: boolean;
};

/** What a scan should collect beyond the minimum. */
export type ScanOptions = {
	/**
	`all`: every thread in `Snapshot.threads`, an object each; `columns`: every thread in
	`Snapshot.threadTable` (what the dashboard's all-threads view keeps).
	*/
	readonly threads: 'blockers' | 'all' | 'columns';
};

/**
Every thread of a scan as columns, row `i` of each being the `i`-th thread, in TID order (then
start time). About 40 bytes a thread where an object per thread costs several times that and keeps
the garbage collector busy: the dashboard's all-threads view keeps 100,000 threads this way and
makes rows only of the ones on screen (issue 12). `threadAt` gives one as a `ThreadInfo`.
*/
export type ThreadTable = {
	readonly count: number;
	readonly tid: Int32Array;
	readonly tgid: Int32Array;
	/** 0 when `stat` was unreadable. */
	readonly ppid: Int32Array;
	/** `stat` field 9, 0 when unreadable. */
	readonly flags: Uint32Array;
	/** `stat` field 22, 0 when unreadable. */
	readonly starttime: Float64Array;
	/** Owner uid of the task dir, NaN when unknown. */
	readonly uid: Float64Array;
	/** -1, 0 or 1; 2 when not read or unreadable. */
	readonly patchState: Int8Array;
	/** The state letter's code ('?' when `stat` was unreadable). */
	readonly state: Uint16Array;
	/** Index of the thread's raw comm in `comms`. */
	readonly comm: Int32Array;
	/** Every distinct comm of the scan. */
	readonly comms: readonly string[];
};

/** Row `i` of a thread table as a `ThreadInfo`. */
export function threadAt(table: ThreadTable, i: number): ThreadInfo {
	const raw = table.patchState[i]!;
	const uid = table.uid[i]!;
	const flags = table.flags[i]!;
	return {
		tid: table.tid[i]!,
		tgid: table.tgid[i]!,
		comm: table.comms[table.comm[i]!] ?? '',
		state: String.fromCharCode(table.state[i]!),
		ppid: table.ppid[i]!,
		flags,
		kthread: (flags & 0x00200000) !== 0,
		starttime: table.starttime[i]!,
		patchState: raw === -1 || raw === 0 || raw === 1 ? raw : null,
		uid: Number.isNaN(uid) ? null : uid,
	};
}

/** The first index of ascending `values` (its first `length`) whose value is above `value`: `length` when none. */
export function upperBound(values: ArrayLike<number>, value: number, length = values.length): number {
	let low = 0;
	let high = length;
	while (low < high) {
		const middle = (low + high) >>> 1;
		if (values[middle]! <= value) low = middle + 1;
		else high = middle;
	}

	return low;
}

/** The row of TID `tid` and start time `starttime` in a thread table, -1 when none (TID order: a binary search). */
export function findRow(
	table: Pick<ThreadTable, 'count' | 'tid' | 'starttime'>,
	tid: number,
	starttime: number,
): number {
	let low = 0;
	let high = table.count - 1;
	while (low <= high) {
		const middle = (low + high) >>> 1;
		const at = table.tid[middle]!;
		if (at < tid) low = middle + 1;
		else if (at > tid) high = middle - 1;
		else {
			let first = middle;
			while (first > 0 && table.tid[first - 1] === tid) first--;
			for (let i = first; i < table.count && table.tid[i] === tid; i++) {
				if (table.starttime[i] === starttime) return i;
			}

			return -1;
		}
	}

	return -1;
}

/** Whether the scan listed every thread (as objects or as a thread table). */
export function hasAllThreads(snapshot: Snapshot): boolean {
	return snapshot.threads !== null || (snapshot.threadTable ?? null) !== null;
}

/** The thread of key `tid:starttime` among every thread the scan listed, null when not listed. */
export function threadOfKey(snapshot: Snapshot, key: string): ThreadInfo | null {
	const table = snapshot.threadTable ?? null;
	if (snapshot.threads === null && table !== null) {
		const colon = key.indexOf(':');
		const row = colon <= 0 ? -1 : findRow(table, Number(key.slice(0, colon)), Number(key.slice(colon + 1)));
		return row < 0 ? null : threadAt(table, row);
	}

	return snapshot.threads?.find((thread) => blockerKey(thread) === key) ?? null;
}

export type HistoryEventKind =
	| 'transition-started'
	| 'transition-completed'
	| 'transition-reversed'
	| 'transition-forced'
	| 'fake-signal'
	| 'patch-appeared'
	| 'patch-disappeared'
	| 'thread-switched'
	| 'thread-exited'
	| 'kernel-log'
	| 'action'
	| 'warning';

export type HistoryEvent = {
	/** ms since the epoch. */
	readonly time: number;
	readonly kind: HistoryEventKind;
	readonly patch: string | null;
	readonly tid: number | null;
	/** Human-readable, raw (sanitised at display). */
	readonly text: string;
	/**
	How many times this very event (kind, patch, tid, text) happened, when more than once: the log keeps
	the latest, counted, instead of one line per repeat (`history.ts`, `appendEvents`). Additive.
	*/
	readonly repeats?: number;
};

export type TransitionProgress = TransitionInfo & {
	/** When it started, ms since the epoch; null when unknown. */
	readonly startedAt: number | null;
	/** How `startedAt` is known: seen starting by us, from the kernel log, or only a lower bound. */
	readonly startedFrom: 'observed' | 'kernel-log' | 'first-seen';
	/** Start of the current direction (last reversal, or the start); fake signals count from here. */
	readonly directionSince: number | null;
	readonly elapsedS: number | null;
	readonly pending: number;
	readonly total: number;
	/**
	Threads whose patch_state is unreadable (`TaskCounts.unknown`): neither pending nor switched as far
	as we know. Present only when there are some. Additive field.
	*/
	readonly unknown?: number;
	/** Threads switched per second over the recent polls, null until two polls. */
	readonly ratePerS: number | null;
	/** Seconds to the kernel's next fake-signal round (>= 5.1 only), null when not applicable. */
	readonly nextSignalS: number | null;
	readonly reversals: number;
};

export type LastTransition = {
	readonly patch: string;
	readonly direction: Direction;
	readonly outcome: 'completed' | 'forced' | 'reversed-completed' | 'vanished';
	readonly endedAt: number;
	readonly elapsedS: number | null;
};

/** Per-blocker memory, keyed by `${tid}:${starttime}` so a recycled TID starts from zero. */
export type BlockerMemory = {
	readonly firstSeen: number;
	readonly lastSeen: number;
};

export type History = {
	readonly snapshot: Snapshot;
	/**
	The snapshot folded before: its blockers and its identity are read, never its `threadTable` (the
	dashboard gives that back to the feed once the next poll is on screen, `retiredTable`).
	*/
	readonly previous: Snapshot | null;
	readonly transition: TransitionProgress | null;
	readonly lastTransition: LastTransition | null;
	readonly blockers: ReadonlyMap<string, BlockerMemory>;
	/** A transition runs with no visible blocker for more than two polls. */
	readonly hiddenBlocker: boolean;
	/** Polls in a row with a transition and no visible blocker. */
	readonly invisiblePolls: number;
	/** Most recent last, bounded. */
	readonly events: readonly HistoryEvent[];
	readonly polls: number;
	/** The current or last transition over time (sparkline, transition history); `timeline.ts`. */
	readonly timeline?: TransitionTimeline | null;
	/** Where the kernel's ~1 s retries land, learnt from its log (`learnRetryPhase`); absent before. */
	readonly retryPhase?: RetryPhase | null;
};

/** What the kernel log said about the timing of the livepatch retries of this boot (see history.ts). */
export type RetryPhase = {
	/** The boot it was learnt on (a new boot time starts over). */
	readonly bootTime: number | null;
	/** Fraction of a second (0 to 1) of retry-aligned lines' timestamps, oldest first, at most a few. */
	readonly samples: readonly number[];
	/** Kernel log time of the latest sample (one sample per retry). */
	readonly lastSampleS: number | null;
	/** Kernel log time of the latest start whose first (synchronous) attempt is not on a boundary. */
	readonly syncAttemptS: number | null;
	/** Kernel log time of the latest `reversing` line: the `starting` line after it has no such attempt. */
	readonly reversingS: number | null;
	/** Kernel log time of the first retry of the latest start or reversal, once seen. */
	readonly firstRetryS: number | null;
	/** The latest start is waiting for its first (synchronous) attempt's task lines (dynamic debug). */
	readonly awaitingSync?: boolean;
	/** Kernel log time of the first task line of the latest start's own attempt. */
	readonly syncLineS?: number | null;
	/** This boot's kernel printed every attempt's task lines (dynamic debug) for an earlier direction. */
	readonly attemptsPrinted?: boolean;
	/** The retries of the latest start or reversal, counted from the log (see `RetryCount`). */
	readonly count?: RetryCount | null;
};

/**
The retries of one direction (a start or a reversal) as the kernel log shows them. With dynamic debug every
failed attempt prints its tasks' lines, so each retry is counted; without it only the first round's
`signaling` line shows, which still dates that round exactly.
*/
export type RetryCount = {
	/** Kernel log time of the `starting` (or `reversing`) line of the direction. */
	readonly sinceS: number;
	readonly reversal: boolean;
	/** Retries counted so far (the number of the latest one), and its log time. */
	readonly retries: number;
	readonly lastS: number | null;
	/** Every retry printed its tasks' lines (dynamic debug): `retries` is the kernel's own count. */
	readonly dense: boolean;
	/** Log times of the fake-signal rounds seen so far (round k at index k-1). */
	readonly roundsS: readonly number[];
};

export function blockerKey(thread: {readonly tid: number; readonly starttime: number}): string {
	return `${thread.tid}:${thread.starttime}`;
}

/** The current or last transition over time, kept in `History.timeline` (folded by `timeline.ts`). */
export type TimelineMarkKind = 'started' | 'fake-signal' | 'reversed' | 'forced' | 'completed';

export type TimelineMark = {
	/** ms since the epoch. */
	readonly time: number;
	readonly kind: TimelineMarkKind;
	/** Raw (sanitised at display), from the history event. */
	readonly text: string;
};

export type TransitionTimeline = {
	readonly patch: string;
	/** Direction at the start. */
	readonly direction: Direction;
	/** ms since the epoch (a lower bound when the start was not seen). */
	readonly startedAt: number;
	/** null while it runs. */
	readonly endedAt: number | null;
	/** Pending threads per poll, oldest first. */
	readonly samples: ReadonlyArray<{readonly time: number; readonly pending: number}>;
	readonly marks: readonly TimelineMark[];
};
