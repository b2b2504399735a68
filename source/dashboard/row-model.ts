/**
What a row of the task table is, shared by the two ways of deriving rows (`rows.ts`: objects, for
the blockers and for processes and groups; `table-rows.ts`: the all-threads view over a thread
table), and `RowList`, the rows as the state holds them: a view asks for the rows it shows.
*/
import type {Blocker, PatchState, TaskClass, ThreadInfo} from '../model/types.js';
import {frameObject} from '../model/analysis.js';

export const columnIds = [
	'tid',
	'tgid',
	'user',
	'state',
	'kthread',
	'patch',
	'stuck',
	'class',
	'function',
	'comm',
] as const;
export type ColumnId = (typeof columnIds)[number];

export type GroupMode = 'none' | 'function' | 'process';

export type ViewOptions = {
	/** Every thread instead of only the blockers (needs `Snapshot.threadTable` or `threads`). */
	readonly showAll: boolean;
	readonly group: GroupMode;
	readonly hideKthreads: boolean;
	/** One row per process (thread group). */
	readonly processes: boolean;
	readonly sort: {readonly column: ColumnId; readonly descending: boolean};
	/** Case-insensitive substring; empty: no filter. */
	readonly filter: string;
	/** `--pid` / `--tid`: only these thread groups / threads. */
	readonly pids: readonly number[] | null;
	readonly tids: readonly number[] | null;
};

export const defaultViewOptions: ViewOptions = {
	showAll: false,
	group: 'none',
	hideKthreads: false,
	processes: false,
	sort: {column: 'stuck', descending: true},
	filter: '',
	pids: null,
	tids: null,
};

export type TaskRow = {
	readonly kind: 'thread' | 'process' | 'group';
	/** Identity across refreshes: `tid:starttime` for a thread, `p:tgid` for a process, `g:...` for a group. */
	readonly key: string;
	/** The thread this row stands for (a process row: its longest-stuck blocking thread), for details. */
	readonly threadKey: string | null;
	readonly tid: number;
	readonly tgid: number;
	readonly starttime: number;
	readonly uid: number | null;
	readonly state: string;
	readonly kthread: boolean;
	readonly patchState: PatchState | null;
	/** Seconds this thread has been blocking (max over a process/group), null when not blocking. */
	readonly stuckS: number | null;
	readonly class: TaskClass | null;
	readonly function: string | null;
	readonly object: string | null;
	/** Raw comm; views sanitise it. A group row carries its label here. */
	readonly comm: string;
	/** Threads this row stands for (1 for a thread). */
	readonly count: number;
	/** Blocking threads among them. */
	readonly blocking: number;
	/** Indented member of a group. */
	readonly member: boolean;
	/** Group rows: whether its members are shown. */
	readonly expanded: boolean;
	/** Group rows: per-class counts of its threads, e.g. `2 interruptible, 1 uninterruptible`. */
	readonly summary: string | null;
	readonly blocker: Blocker | null;
};

export const classRank: Readonly<Record<TaskClass, number>> = {
	uninterruptible: 5,
	zombie: 4,
	interruptible: 3,
	stopped: 2,
	running: 1,
	unknown: 0,
};

export function threadRow(
	thread: ThreadInfo,
	blocker: Blocker | null,
	stuckS: number | null,
	key: string,
): TaskRow {
	return {
		kind: 'thread',
		key,
		threadKey: key,
		tid: thread.tid,
		tgid: thread.tgid,
		starttime: thread.starttime,
		uid: thread.uid,
		state: thread.state,
		kthread: thread.kthread,
		patchState: thread.patchState,
		stuckS,
		class: blocker ? blocker.class : null,
		function: blocker ? blocker.function : null,
		// Where the code is: a previous patch's replacement function lives in that patch's module.
		object: blocker ? frameObject(blocker) : null,
		comm: thread.comm,
		count: 1,
		blocking: blocker ? 1 : 0,
		member: false,
		expanded: false,
		summary: null,
		blocker,
	};
}

/** Lower-cased text a row is searched and filtered by: comm, function, object, ids, class, state. */
export function rowMatches(row: TaskRow, needle: string): boolean {
	if (needle === '') {
		return true;
	}

	return (
		row.comm.toLowerCase().includes(needle) ||
		(row.function !== null && row.function.toLowerCase().includes(needle)) ||
		(row.object !== null && row.object.toLowerCase().includes(needle)) ||
		(row.kind !== 'group' && (String(row.tid).includes(needle) || String(row.tgid).includes(needle))) ||
		(row.class !== null && row.class.includes(needle))
	);
}

/**
The rows of the task table in display order, made on demand: a list over 100,000 threads makes an
object only of a row asked for (the visible window, the selected row).
*/
export type RowList = {
	readonly length: number;
	at(index: number): TaskRow | undefined;
	/** Rows `[start, end)`. */
	slice(start: number, end: number): TaskRow[];
	/** Index of the row with this key, -1 when none. */
	indexOfKey(key: string): number;
	/**
	The first index from `start` on (stepping `direction`, around the end) whose row holds `needle`
	(lower-case, `rowMatches`), -1 when none does.
	*/
	search(needle: string, start: number, direction: 1 | -1): number;
};

/** Rows already made, as a `RowList`. */
export function listOf(rows: readonly TaskRow[]): RowList {
	return {
		length: rows.length,
		at: (index) => rows[index],
		slice: (start, end) => rows.slice(start, end),
		indexOfKey(key) {
			for (let i = 0; i < rows.length; i++) if (rows[i]!.key === key) return i;
			return -1;
		},
		search(needle, start, direction) {
			const count = rows.length;
			for (let step = 0; step < count; step++) {
				const i = (((start + direction * step) % count) + count) % count;
				if (rowMatches(rows[i]!, needle)) return i;
			}

			return -1;
		},
	};
}

/** Every row of a list, made (tests, and the views of small lists). */
export function toArray(list: RowList): TaskRow[] {
	return list.slice(0, list.length);
}
