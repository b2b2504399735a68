/**
The one door through which the reader sees a livepatch world.

The real host (`--root /`), a captured or emulated tree on disk (`--root DIR`) and the in-process
emulated kernel all implement this port, so every source goes through the same parsing code
(`reader.ts`). Paths are always absolute *inside* the world: `/sys/kernel/livepatch/p/enabled`,
`/proc/123/task/123/stat`, `/dev/kmsg`.

Every method is synchronous on purpose: a scan of 100,000 threads is a few hundred thousand tiny
reads, and synchronous `open/read/close` are the cheapest syscalls Node can issue (no thread-pool
round trip per file). See the benchmark in `bench/`.

Errors are thrown as `FsError`-shaped objects (a `code` such as `ENOENT`, `ESRCH`, `EACCES`,
`EINVAL`, `EBUSY`), exactly as Node's `fs` throws them, so callers handle the real host and the
emulator alike.
*/
import type {ThreadTable} from '../model/types.js';

export type FsPort = {
	/** Whole file as text (sysfs and procfs files are small). Throws on error. */
	readFile(path: string): string;
	/** Names in a directory, unsorted. Throws on error. */
	readdir(path: string): string[];
	/** Whether a path exists (file or directory), without reading it. Never throws. */
	exists(path: string): boolean;
	/** Owner uid of a path, or undefined when it cannot be known. Never throws. */
	ownerUid(path: string): number | undefined;
	/**
	Optional: what tells this file or directory apart from another created later at the same path
	(device, inode and birth time), or null when it cannot be read. Never throws. The reader asks it
	of the transition patch's directory: a patch unloaded and loaded again under the same name
	between two polls is a new directory (sysfs numbers every kernfs node anew).
	*/
	identity?(path: string): string | null;
	/**
	Kernel log records appended since the previous call (the first call returns the backlog), as
	raw `/dev/kmsg` records (`"6,1234,5678901,-;livepatch: ..."`) or plain lines. Undefined when
	the log cannot be read (no `/dev/kmsg`, EACCES).
	*/
	readKmsg(): string[] | undefined;
	/** The effective uid the world sees the reader as (0 = root). */
	readerUid(): number;
	/**
	Optional fast path for the thread walk (`source/sources/walk.ts` semantics): a port may walk
	`/proc/<pid>/task/*` of the given /proc entries its own way (the host port splits a large /proc
	between the main thread and a worker). Ports without it get the generic walk over readdir/readFile.
	*/
	walkTasks?(pids: readonly string[], options: TaskWalkOptions): TaskWalk;
	/**
	Optional: the same walk without blocking the calling thread (the host port hands all of it to its
	helper thread), so that the dashboard answers keys during a long scan. Null when the port would
	walk on the calling thread anyway (a small /proc, helpers turned off): call `walkTasks` then.
	*/
	walkTasksInBackground?(
		pids: readonly string[],
		options: TaskWalkOptions,
		/**
		From when this settles the calling thread has nothing else to do (the dashboard's modules have
		loaded during its first scan): it walks its share of what is left, as `walkTasks` would with a helper.
		*/
		join?: Promise<unknown>,
	): Promise<TaskWalk> | null;
	/**
	Optional: `table` (the `TaskWalk.table` of one of this port's walks) is read by nobody any more, and
	never will be: a later walk may make its table in the same memory (the host port hands the buffer
	back to its helper). Whoever calls this must hold no view of it: its columns may read empty or be
	overwritten afterwards.
	*/
	recycleTable?(table: ThreadTable): void;
	/** Release what the port holds between scans (a kept descriptor, a helper thread). Optional. */
	close?(): void;
};

export type TaskWalkOptions = {
	/** Read each thread's `patch_state` (else every thread's state is 2 = not read). */
	readonly readStates: boolean;
	/** The transition target; threads at 0/1 other than it are returned. Null: none. */
	readonly target: 0 | 1 | null;
	/** `all`: every thread too, as a table (`TaskWalk.table`), with its `stat` and owner. */
	readonly collect: 'blocking' | 'all';
	/**
	Also read, for each thread returned, the files the reader needs of it (`TaskFiles`), in the walk
	itself, right after its patch_state and on whichever thread walked it: `stat` and owner of every
	one, and `wchan` and `stack` of the blocking ones (those at 0/1 other than `target`, the reader's
	own test). Walks that cannot leave `details` out; the reader then reads them afterwards.
	*/
	readonly details?: boolean;
	/**
	What earlier polls of this transition learnt (issue 12): a thread switches only from the initial
	state to the target while a transition runs, so one read at the target (or known there at the
	previous poll) holds until the reader's next full scan. Absent: every thread is read.
	*/
	readonly marks?: WalkMarks;
	/**
	The state to count a thread at whose patch_state is not read (`readStates` false): -1 when the
	kernel has reset them all (no transition), else 2 (unknown, the default).
	*/
	readonly unreadState?: -1 | 2;
	/**
	With `collect: 'all'`: the previous table of the same world; a thread it holds (same TID and start
	time) keeps the owner it gives, so that only the `stat` of each thread is read.
	*/
	readonly owners?: Pick<ThreadTable, 'count' | 'tid' | 'starttime' | 'uid'>;
};

/**
Per-thread memory of the reader, indexed by TID, shared with the walk helper (a SharedArrayBuffer)
so that either thread reads and writes it: `(poll << 1) | atTarget`, the last walk that listed the
thread and whether it was at the target then; 0 never listed. TIDs beyond its length are unknown.
*/
export type WalkMarks = {
	readonly slots: Int32Array;
	/**
	Per /proc entry (PID), `PROCESS_SLOTS` slots from `PROCESS_SLOTS * pid`: `[0]` the last walk that
	counted it, `[1]` 1 if every thread of it was at the target then, else 0, `[2]` the last walk that
	listed it (and wrote its threads' marks), `[3]` its thread's TID if it had one thread then, else 0
	(a walk reads that thread without a listing while the link count says one), `[4]` how many
	threads it had then. An incremental walk counts such a process from its task
	dir's link count instead of listing it: a thread that appeared since was made by one of its
	threads (CLONE_THREAD), all at the target, and inherits the target (kernel-livepatch.md §4.3), so
	the counts and the blockers are those a listing would give; its threads' marks stay those of its
	last listing. PIDs beyond its length are listed.
	*/
	readonly processes: Int32Array;
	/** This walk's number (from 1; one more than the last marked walk). */
	readonly poll: number;
	/**
	`incremental`: a thread at the target at the previous walk is not read again (counted at the
	target); `check`: every thread is read and a thread the marks put at the target that reads the
	initial state is counted (`TaskWalk.contradicted`); `full`: every thread read, nothing checked.
	All three write the marks of every thread listed.
	*/
	readonly mode: 'incremental' | 'check' | 'full';
	/**
	No task was created or ended anywhere since the previous walk (`createTaskSetProbe`): a process
	counted then has as many threads now, so an incremental walk takes its count from the marks
	instead of a stat of its task dir.
	*/
	readonly sameTasks?: boolean;
};

/** Slots per PID in `WalkMarks.processes`. */
export const PROCESS_SLOTS = 5;

/**
A thread's files, as read by the walk: texts, or the error code that stopped a read. `wchan` and
`stack` only for a blocking thread (null for the others, with `stackError` null too).
*/
export type TaskFiles = {
	/** `stat`, or null with `statError` (ENOENT/ESRCH: the thread exited). */
	readonly stat: string | null;
	readonly statError: string | null;
	/** Owner uid of the task directory, null when unknown. */
	readonly uid: number | null;
	/** `wchan`, null when unreadable. */
	readonly wchan: string | null;
	/** `stack`, or null with `stackError` (EACCES without CAP_SYS_ADMIN). */
	readonly stack: string | null;
	readonly stackError: string | null;
};

/** Result of a thread walk. */
export type TaskWalk = {
	readonly total: number;
	/** Threads read at -1, 0, 1 (zero when states were not read). */
	readonly minus: number;
	readonly zero: number;
	readonly one: number;
	/**
	Flat triples `tgid, tid, state` (state -1/0/1, 2 not read or unreadable, 3 garbage) for the
	blocking threads, or for all threads with `collect: 'all'`.
	*/
	readonly threads: number[];
	/** Counts keyed `tasks:<code>`, `patch_state:<code>`, `garbage:EINVAL`. */
	readonly errors: Record<string, number>;
	/** One task dir seen (`/proc/<pid>/task/<tid>`), for probes. */
	readonly firstTask: string | null;
	/** With `details`: one entry per triple of `threads`, in the same order. */
	readonly details?: readonly TaskFiles[];
	/** With `marks`: threads known at the target and not read again. */
	readonly known?: number;
	/** With `marks` in `check` mode: threads known at the target that read the initial state. */
	readonly contradicted?: number;
	/** The highest TID listed (0 when none), to size the marks. */
	readonly maxTid?: number;
	/**
	With `collect: 'all'`: every thread counted, as columns (TID order). `threads` and `details` then
	hold the blocking threads only.
	*/
	readonly table?: ThreadTable;
};

/** Error shape thrown by every port, like Node's `ErrnoException`. */
export type FsError = Error & {code: string};

export function fsError(code: string, message: string): FsError {
	const error = new Error(`${code}: ${message}`) as FsError;
	error.code = code;
	return error;
}

export function errorCode(error: unknown): string {
	if (typeof error === 'object' && error !== null && 'code' in error) {
		const {code} = error as {code: unknown};
		if (typeof code === 'string') {
			return code;
		}
	}

	return 'EIO';
}

/**
The acting side of a world: what `source/actions` uses to change it. The real host writes sysfs
and sends real signals; the emulator applies the kernel's rules and throws the kernel's errors
(`EBUSY`, `EINVAL`, `ENOENT`, `ESRCH`, `EPERM`) as `FsError`s. A tree that is not the host's own `/`
never gets a host implementation: its writes and signals go to the emulator that serves it.
*/
export type ControlPort = {
	/** Write a value to a path inside the world (only sysfs attributes are meaningful). */
	write(path: string, value: string): Promise<void>;
	/** Send a signal to a pid/tid inside the world. `0` only checks existence. */
	kill(pid: number, signal: KillSignal): Promise<void>;
};

export type KillSignal = 'SIGSTOP' | 'SIGCONT' | 'SIGKILL' | 'SIGTERM' | 0;

/** Where the kernel lists its livepatches, inside any world. */
export const LIVEPATCH_DIR = '/sys/kernel/livepatch';
