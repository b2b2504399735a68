/**
The task table's rows, derived from the history and the view options: pure and cheap.

The dashboard recomputes rows once per poll or view change (not per render), so a render only
slices the visible window. With 100,000 threads the derivation is one pass to build rows, one
filter pass and one sort with a plain comparator (no locale compare, no per-comparison allocation).
*/
import type {Blocker, History, PatchState, TaskClass, ThreadInfo} from '../model/types.js';
import {blockerKey} from '../model/types.js';

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
	/** Every thread instead of only the blockers (needs `Snapshot.threads`). */
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

const classRank: Readonly<Record<TaskClass, number>> = {
	uninterruptible: 5,
	zombie: 4,
	interruptible: 3,
	stopped: 2,
	running: 1,
	unknown: 0,
};

function threadRow(thread: ThreadInfo, blocker: Blocker | null, stuckS: number | null, key: string): TaskRow {
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
		object: blocker ? blocker.object : null,
		comm: thread.comm,
		count: 1,
		blocking: blocker ? 1 : 0,
		member: false,
		expanded: false,
		summary: null,
		blocker,
	};
}

/** Seconds the blocker with this key has been blocking, from the history's per-blocker memory. */
function stuckSeconds(history: History, key: string): number | null {
	const memory = history.blockers.get(key);
	if (memory === undefined) {
		return null;
	}

	return Math.max(0, (history.snapshot.time - memory.firstSeen) / 1000);
}

/** One row per thread of the chosen population, before filters. */
export function baseRows(history: History, showAll: boolean): TaskRow[] {
	const {snapshot} = history;
	const rows: TaskRow[] = [];
	if (showAll && snapshot.threads !== null) {
		const byKey = new Map<string, Blocker>();
		for (const blocker of snapshot.blockers) {
			byKey.set(blockerKey(blocker), blocker);
		}

		for (const thread of snapshot.threads) {
			const key = blockerKey(thread);
			const blocker = byKey.get(key) ?? null;
			rows.push(threadRow(blocker ?? thread, blocker, blocker ? stuckSeconds(history, key) : null, key));
		}

		return rows;
	}

	for (const blocker of snapshot.blockers) {
		const key = blockerKey(blocker);
		rows.push(threadRow(blocker, blocker, stuckSeconds(history, key), key));
	}

	return rows;
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

function keep(
	row: TaskRow,
	options: ViewOptions,
	needle: string,
	pids: Set<number> | null,
	tids: Set<number> | null,
) {
	if (options.hideKthreads && row.kthread) return false;
	if (pids !== null && !pids.has(row.tgid)) return false;
	if (tids !== null && !tids.has(row.tid)) return false;
	return rowMatches(row, needle);
}

type SortValue = number | string | null;

const sortValue: Readonly<Record<ColumnId, (row: TaskRow) => SortValue>> = {
	tid: (row) => row.tid,
	tgid: (row) => row.tgid,
	user: (row) => row.uid,
	state: (row) => row.state,
	kthread: (row) => (row.kthread ? 1 : 0),
	patch: (row) => row.patchState,
	stuck: (row) => row.stuckS,
	class: (row) => (row.class === null ? null : classRank[row.class]),
	function: (row) => row.function,
	comm: (row) => row.comm,
};

/**
Comparator for a column. Unknown values (null) sort last in either direction; ties are broken by
TID (then start time) so equal rows keep their order across refreshes.
*/
export function comparator(column: ColumnId, descending: boolean): (a: TaskRow, b: TaskRow) => number {
	const sign = descending ? -1 : 1;
	const value = sortValue[column];
	return (a, b) => {
		const va = value(a);
		const vb = value(b);
		if (va === null || vb === null) {
			if (va !== vb) {
				return va === null ? 1 : -1;
			}
		} else if (va !== vb) {
			return (va < vb ? -1 : 1) * sign;
		}

		return a.tid - b.tid || a.starttime - b.starttime;
	};
}

function processRows(rows: readonly TaskRow[]): TaskRow[] {
	const groups = new Map<number, TaskRow[]>();
	for (const row of rows) {
		let members = groups.get(row.tgid);
		if (members === undefined) {
			members = [];
			groups.set(row.tgid, members);
		}

		members.push(row);
	}

	const out: TaskRow[] = [];
	for (const [tgid, members] of groups) {
		// The representative: the longest-stuck blocking thread, else the leader, else the first.
		let rep = members[0]!;
		for (const member of members) {
			if (member.blocker !== null && (rep.blocker === null || (member.stuckS ?? 0) > (rep.stuckS ?? 0))) {
				rep = member;
			}
		}

		if (rep.blocker === null) {
			rep = members.find((member) => member.tid === tgid) ?? rep;
		}

		const leader = members.find((member) => member.tid === tgid) ?? rep;
		let worst: TaskClass | null = null;
		let stuck: number | null = null;
		let blocking = 0;
		for (const member of members) {
			if (member.class !== null && (worst === null || classRank[member.class] > classRank[worst])) {
				worst = member.class;
			}

			if (member.stuckS !== null && (stuck === null || member.stuckS > stuck)) {
				stuck = member.stuckS;
			}

			blocking += member.blocking;
		}

		out.push({
			...rep,
			kind: 'process',
			key: `p:${tgid}`,
			tid: tgid,
			comm: leader.comm,
			stuckS: stuck,
			class: worst,
			count: members.length,
			blocking,
		});
	}

	return out;
}

function classSummary(members: readonly TaskRow[]): string {
	const counts = new Map<TaskClass, number>();
	for (const member of members) {
		// A class is known for blocking threads only; a process row carries its worst one.
		if (member.class !== null && member.blocking > 0) {
			counts.set(member.class, (counts.get(member.class) ?? 0) + member.blocking);
		}
	}

	return [...counts]
		.sort((a, b) => classRank[b[0]] - classRank[a[0]])
		.map(([name, count]) => `${count} ${name}`)
		.join(', ');
}

function groupRows(
	rows: readonly TaskRow[],
	mode: 'function' | 'process',
	expanded: ReadonlySet<string>,
	compare: (a: TaskRow, b: TaskRow) => number,
): TaskRow[] {
	const groups = new Map<string, TaskRow[]>();
	for (const row of rows) {
		// In the all-threads view, threads that do not block share one group of their own (`g:n`), apart
		// from blockers whose patched function is unknown.
		const key =
			mode === 'process'
				? `g:p:${row.tgid}`
				: row.blocking === 0
					? 'g:n'
					: `g:f:${row.object ?? ''}:${row.function ?? ''}`;
		let members = groups.get(key);
		if (members === undefined) {
			members = [];
			groups.set(key, members);
		}

		members.push(row);
	}

	const headers: Array<{header: TaskRow; members: TaskRow[]}> = [];
	for (const [key, members] of groups) {
		const first = members[0]!;
		let stuck: number | null = null;
		let count = 0;
		let blocking = 0;
		let kthread = false;
		for (const member of members) {
			if (member.stuckS !== null && (stuck === null || member.stuckS > stuck)) stuck = member.stuckS;
			count += member.count;
			blocking += member.blocking;
			kthread ||= member.kthread;
		}

		const leader = members.find((member) => member.tid === first.tgid) ?? first;
		headers.push({
			header: {
				...first,
				kind: 'group',
				key,
				threadKey: null,
				comm: mode === 'function' ? (first.function ?? '') : leader.comm,
				stuckS: stuck,
				count,
				blocking,
				kthread,
				member: false,
				expanded: expanded.has(key),
				summary: classSummary(members),
				blocker: null,
			},
			members,
		});
	}

	// Biggest groups first: with thousands of blockers the top lines say where they sit. Groups with
	// no blocker at all go last, whatever their size.
	headers.sort(
		(a, b) =>
			Number(a.header.blocking === 0) - Number(b.header.blocking === 0) ||
			b.header.count - a.header.count ||
			(a.header.key < b.header.key ? -1 : a.header.key > b.header.key ? 1 : 0),
	);
	const out: TaskRow[] = [];
	for (const {header, members} of headers) {
		out.push(header);
		if (header.expanded) {
			members.sort(compare);
			for (const member of members) {
				out.push({...member, member: true});
			}
		}
	}

	return out;
}

/**
The rows of the task table, in display order.
`expanded` names the group rows whose members are shown (groups start collapsed so thousands of
blockers read as a short list of functions or processes).
*/
export function deriveRows(
	history: History | null,
	options: ViewOptions,
	expanded: ReadonlySet<string> = new Set(),
): TaskRow[] {
	if (history === null) {
		return [];
	}

	const needle = options.filter.toLowerCase();
	const pids = options.pids === null ? null : new Set(options.pids);
	const tids = options.tids === null ? null : new Set(options.tids);
	let rows = baseRows(history, options.showAll);
	if (options.hideKthreads || pids !== null || tids !== null || needle !== '') {
		rows = rows.filter((row) => keep(row, options, needle, pids, tids));
	}

	if (options.processes) {
		rows = processRows(rows);
	}

	const compare = comparator(options.sort.column, options.sort.descending);
	if (options.group !== 'none') {
		return groupRows(rows, options.group, expanded, compare);
	}

	rows.sort(compare);
	return rows;
}
