/**
The task table's rows, derived from the history and the view options: pure and cheap, as a
`RowList` (row-model.ts) of which a render takes only the visible window.

Over a thread table, the all-threads view is `table-rows.ts`'s. Here, over objects (blockers,
processes, groups, a scan's `threads`): rows built once per poll (an unchanged thread keeps its row
object), a filter once per poll and needle (a longer needle narrows the last result), a sort that
decorates once and sorts indices, an invert that reverses runs of equal values.
*/
import type {Blocker, History, Snapshot, TaskClass, ThreadInfo} from '../model/types.js';
import {blockerKey, threadAt} from '../model/types.js';
import {stuckSeconds} from '../model/history.js';
import {classRank, listOf, rowMatches, threadRow} from './row-model.js';
import type {ColumnId, RowList, TaskRow, ViewOptions} from './row-model.js';
import {rowOfTable, tableRows} from './table-rows.js';

export {columnIds, defaultViewOptions, rowMatches} from './row-model.js';
export type {ColumnId, GroupMode, RowList, TaskRow, ViewOptions} from './row-model.js';

/**
The rows of one population (blockers or all threads) of one history, in the snapshot's order, built
once per history: view changes (sort, invert, filter, group, K, H) reuse them.
*/
type Base = {
	readonly rows: readonly TaskRow[];
	/** Each row's comm lower-cased, built on the first filter (or carried over from the previous poll). */
	hay: string[] | null;
	/**
	Indices of the rows by TID, then start time, then index: the order rows with equal sort values
	(most rows, e.g. every thread not stuck) keep. Built on the first sort, or carried over from the
	previous poll.
	*/
	byTid: Int32Array | null;
	/** Two rows have the same TID and start time (then `byTid` is never carried over). */
	duplicates: boolean;
};

/** One sort of a list of rows: `order` indexes the rows; unknown values (null) come last. */
type Sorted = {
	readonly column: ColumnId;
	readonly descending: boolean;
	readonly order: Int32Array;
	/** How many of `order` have a value (the rest are null, in TID order). */
	readonly present: number;
	/** The sort values of `order[0..present)`, in that order. */
	readonly values: SortValue[];
};

/** The rows one set of filters keeps (indices into the base, snapshot order), and their last sort. */
type View = {
	readonly filterKey: string;
	readonly needle: string;
	readonly kept: Int32Array;
	sorted: Sorted | null;
	processes: {readonly rows: TaskRow[]; sorted: Sorted | null} | null;
};

type Cache = {
	blockers: Base | null;
	all: Base | null;
	/** Most recently used last; bounded. */
	views: View[];
};

const caches = new WeakMap<History, Cache>();
/** The all-threads base last built for a snapshot: the next poll reuses its rows that did not change. */
const allBySnapshot = new WeakMap<Snapshot, Base>();
const maxViews = 8;

function cacheOf(history: History): Cache {
	let cache = caches.get(history);
	if (cache === undefined) {
		cache = {blockers: null, all: null, views: []};
		caches.set(history, cache);
	}

	return cache;
}

function blockerBase(history: History): Base {
	const rows: TaskRow[] = [];
	for (const blocker of history.snapshot.blockers) {
		const key = blockerKey(blocker);
		rows.push(threadRow(blocker, blocker, stuckSeconds(history, key), key));
	}

	return {rows, hay: null, byTid: null, duplicates: false};
}

/** A row of a thread that does not block depends on these fields only. */
function sameThread(row: TaskRow, thread: ThreadInfo): boolean {
	return (
		row.blocker === null &&
		row.tgid === thread.tgid &&
		row.uid === thread.uid &&
		row.state === thread.state &&
		row.kthread === thread.kthread &&
		row.patchState === thread.patchState &&
		row.comm === thread.comm
	);
}

function allBase(history: History, threads: readonly ThreadInfo[]): Base {
	const {snapshot} = history;
	// Blockers by TID (then start time), so a thread that does not block costs no key string.
	const blockersByTid = new Map<number, Blocker[]>();
	let maxTid = 0;
	for (const blocker of snapshot.blockers) {
		const same = blockersByTid.get(blocker.tid);
		if (same === undefined) blockersByTid.set(blocker.tid, [blocker]);
		else same.push(blocker);
		maxTid = Math.max(maxTid, blocker.tid);
	}

	// Most threads do not block: a byte per TID answers that without a map lookup.
	const mark = Number.isInteger(maxTid) && maxTid < 1 << 24 ? new Uint8Array(maxTid + 1) : null;
	if (mark !== null) for (const blocker of snapshot.blockers) mark[blocker.tid] = 1;

	const previous = history.previous === null ? null : (allBySnapshot.get(history.previous) ?? null);
	const prevRows = previous?.rows ?? [];
	let prevIndex: Map<number, number[]> | null = null;
	const rows: TaskRow[] = [];
	// A filter was on: keep the filter text of the rows that stay.
	const prevHay = previous?.hay ?? null;
	const hay: string[] | null = prevHay === null ? null : [];
	// Threads come in the same order poll after poll: walk the previous rows alongside, and look a
	// thread up by TID only when the order moved.
	let next = 0;
	// Which new row each previous row became (-1: gone), and the rows of threads new since.
	const toNew = new Int32Array(prevRows.length).fill(-1);
	const added: number[] = [];
	for (let i = 0; i < threads.length; i++) {
		const thread = threads[i]!;
		let blocker: Blocker | null = null;
		const candidates = mark === null || mark[thread.tid] === 1 ? blockersByTid.get(thread.tid) : undefined;
		if (candidates !== undefined) {
			blocker = candidates.findLast((candidate) => candidate.starttime === thread.starttime) ?? null;
		}

		let j = -1;
		const guess = prevRows[next];
		if (guess !== undefined && guess.tid === thread.tid && guess.starttime === thread.starttime) {
			j = next;
		} else if (previous !== null && blocker === null) {
			prevIndex ??= indexByTid(prevRows);
			const same = prevIndex.get(thread.tid);
			if (same !== undefined) {
				for (const at of same) {
					if (prevRows[at]!.starttime === thread.starttime) j = at;
				}
			}
		}

		if (j >= 0 && toNew[j] !== -1) j = -1;
		if (j >= 0) {
			next = j + 1;
			toNew[j] = i;
		} else {
			added.push(i);
		}

		if (blocker !== null) {
			// Its STUCK time moved on: always a new row.
			const key = blockerKey(thread);
			const row = threadRow(blocker, blocker, stuckSeconds(history, key), key);
			rows.push(row);
			hay?.push(row.comm.toLowerCase());
			continue;
		}

		const old = j >= 0 ? prevRows[j]! : null;
		if (old !== null && sameThread(old, thread)) {
			rows.push(old);
			hay?.push(prevHay![j]!);
		} else {
			const row = threadRow(thread, null, null, blockerKey(thread));
			rows.push(row);
			hay?.push(row.comm.toLowerCase());
		}
	}

	const carried =
		previous === null || previous.byTid === null || previous.duplicates
			? null
			: carryByTid(rows, previous.byTid, toNew, added);
	const base: Base = {rows, hay, byTid: carried, duplicates: false};
	allBySnapshot.set(snapshot, base);
	return base;
}

/** Rows `a` and `b` by TID then start time (0: the same thread). */
function compareIds(rows: readonly TaskRow[], a: number, b: number): number {
	const ra = rows[a]!;
	const rb = rows[b]!;
	return ra.tid - rb.tid || ra.starttime - rb.starttime;
}

/** `byTid` of the previous poll, for the rows that stayed, merged with the new rows; null on a duplicate. */
function carryByTid(
	rows: readonly TaskRow[],
	previous: Int32Array,
	toNew: Int32Array,
	added: number[],
): Int32Array | null {
	added.sort((a, b) => compareIds(rows, a, b));
	for (let k = 1; k < added.length; k++) {
		if (compareIds(rows, added[k - 1]!, added[k]!) === 0) return null;
	}

	const out = new Int32Array(rows.length);
	let n = 0;
	let a = 0;
	for (const p of previous) {
		const i = toNew[p]!;
		if (i < 0) continue;
		while (a < added.length) {
			const order = compareIds(rows, added[a]!, i);
			if (order === 0) return null;
			if (order > 0) break;
			out[n++] = added[a++]!;
		}

		out[n++] = i;
	}

	while (a < added.length) out[n++] = added[a++]!;
	return n === rows.length ? out : null;
}

function byTidOf(base: Base): Int32Array {
	if (base.byTid === null) {
		const {rows} = base;
		const tid = Float64Array.from(rows, (row) => row.tid);
		const start = Float64Array.from(rows, (row) => row.starttime);
		const order = Array.from(rows.keys());
		order.sort((a, b) => tid[a]! - tid[b]! || start[a]! - start[b]! || a - b);
		for (let k = 1; k < order.length && !base.duplicates; k++) {
			const a = order[k - 1]!;
			const b = order[k]!;
			base.duplicates = tid[a] === tid[b] && start[a] === start[b];
		}

		base.byTid = Int32Array.from(order);
	}

	return base.byTid;
}

function indexByTid(rows: readonly TaskRow[]): Map<number, number[]> {
	const index = new Map<number, number[]>();
	for (let i = 0; i < rows.length; i++) {
		const tid = rows[i]!.tid;
		const same = index.get(tid);
		if (same === undefined) index.set(tid, [i]);
		else same.push(i);
	}

	return index;
}

/** The thread table's rows as objects, for the views that need every row (processes, groups). */
const tableThreads = new WeakMap<object, ThreadInfo[]>();

function threadsOf(snapshot: Snapshot): readonly ThreadInfo[] | null {
	const table = snapshot.threadTable ?? null;
	if (snapshot.threads !== null || table === null) return snapshot.threads;
	let threads = tableThreads.get(table);
	if (threads === undefined) {
		threads = Array.from({length: table.count}, (_, i) => threadAt(table, i));
		tableThreads.set(table, threads);
	}

	return threads;
}

function baseOf(history: History, showAll: boolean): Base {
	const cache = cacheOf(history);
	const threads = threadsOf(history.snapshot);
	if (showAll && threads !== null) {
		cache.all ??= allBase(history, threads);
		return cache.all;
	}

	cache.blockers ??= blockerBase(history);
	return cache.blockers;
}

/** One row per thread of the chosen population, before filters, in the snapshot's order. */
export function baseRows(history: History, showAll: boolean): TaskRow[] {
	const table = history.snapshot.threadTable ?? null;
	if (showAll && table !== null && history.snapshot.threads === null) {
		return Array.from({length: table.count}, (_, i) => rowOfTable(history, table, i));
	}

	return [...baseOf(history, showAll).rows];
}

function haystacks(base: Base): string[] {
	base.hay ??= base.rows.map((row) => row.comm.toLowerCase());
	return base.hay;
}

/** Characters of `String(number)` once lower-cased: a needle with any other never matches a TID. */
const numberText = /^[\d.e+\-anfity]*$/;

/** The base rows' indices the filter options (all but the needle) keep, in order. */
function keptByOptions(base: Base, options: ViewOptions): Int32Array {
	const {rows} = base;
	const pids = options.pids === null ? null : new Set(options.pids);
	const tids = options.tids === null ? null : new Set(options.tids);
	const kept = new Int32Array(rows.length);
	let n = 0;
	for (let i = 0; i < rows.length; i++) {
		const row = rows[i]!;
		if (options.hideKthreads && row.kthread) continue;
		if (pids !== null && !pids.has(row.tgid)) continue;
		if (tids !== null && !tids.has(row.tid)) continue;
		kept[n++] = i;
	}

	return kept.subarray(0, n);
}

/** The indices in `list` whose row holds `needle`. */
function keptByNeedle(base: Base, list: Int32Array, needle: string): Int32Array {
	if (needle === '') return list;
	const kept = new Int32Array(list.length);
	let n = 0;
	// `rowMatches`, with the comm lower-cased once per poll and the ids looked at only when they could match.
	const comms = haystacks(base);
	const ids = numberText.test(needle);
	for (const i of list) {
		const row = base.rows[i]!;
		if (
			comms[i]!.includes(needle) ||
			(row.blocker !== null && rowMatches(row, needle)) ||
			(ids && (String(row.tid).includes(needle) || String(row.tgid).includes(needle)))
		) {
			kept[n++] = i;
		}
	}

	return kept.subarray(0, n);
}

/** The cached filter result for these options, narrowed from a looser one when the needle only grew. */
function viewOf(cache: Cache, base: Base, options: ViewOptions): View {
	const needle = options.filter.toLowerCase();
	const filterKey = [
		options.showAll,
		options.hideKthreads,
		options.pids?.join(',') ?? '-',
		options.tids?.join(',') ?? '-',
	].join('|');
	const {views} = cache;
	let parent: View | null = null;
	for (let i = views.length - 1; i >= 0; i--) {
		const view = views[i]!;
		if (view.filterKey !== filterKey) continue;
		if (view.needle === needle) {
			views.splice(i, 1);
			views.push(view);
			return view;
		}

		// Every row holding the new needle holds any part of it.
		if (needle.includes(view.needle) && (parent === null || view.needle.length > parent.needle.length)) {
			parent = view;
		}
	}

	const from = parent?.kept ?? keptByOptions(base, options);
	const kept = keptByNeedle(base, from, needle);
	let sorted: Sorted | null = null;
	if (parent !== null && parent.sorted !== null) {
		// Filtering keeps the parent's order: no new sort.
		sorted = narrowSorted(parent.sorted, kept, base.rows.length);
	}

	const view: View = {filterKey, needle, kept, sorted, processes: null};
	views.push(view);
	if (views.length > maxViews) views.shift();
	return view;
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
Sort `list` (indices into `rows`) by a column: values decorated once, then one sort of the indices.
Unknown values (null) sort last in either direction; ties are broken by TID, then start time, so
equal rows keep their order across refreshes (and the order is total).
*/
function sortList(
	rows: readonly TaskRow[],
	list: ArrayLike<number>,
	column: ColumnId,
	descending: boolean,
	base: Base | null = null,
): Sorted {
	const value = sortValue[column];
	const n = list.length;
	// Decorated by position in `list`.
	const tid = new Float64Array(n);
	const start = new Float64Array(n);
	const values: SortValue[] = [];
	const present: number[] = [];
	const absent: number[] = [];
	for (let k = 0; k < n; k++) {
		const row = rows[list[k]!]!;
		const v = value(row);
		tid[k] = row.tid;
		start[k] = row.starttime;
		values.push(v);
		if (v === null) absent.push(k);
		else present.push(k);
	}

	const tie = (a: number, b: number) => tid[a]! - tid[b]! || start[a]! - start[b]!;
	present.sort(
		descending
			? (a, b) => {
					const va = values[a]!;
					const vb = values[b]!;
					return va === vb ? tie(a, b) : va < vb ? 1 : -1;
				}
			: (a, b) => {
					const va = values[a]!;
					const vb = values[b]!;
					return va === vb ? tie(a, b) : va < vb ? -1 : 1;
				},
	);
	const order = new Int32Array(n);
	const sortedValues: SortValue[] = [];
	for (let k = 0; k < present.length; k++) {
		order[k] = list[present[k]!]!;
		sortedValues.push(values[present[k]!]!);
	}

	// Rows with no value go in TID order: read off the base's order when it is known or worth
	// building (many such rows), else sorted here. `list` holds each index once, in ascending order.
	const byTid = base === null ? null : absent.length * 4 >= rows.length ? byTidOf(base) : base.byTid;
	if (byTid === null) {
		absent.sort(tie);
		for (let k = 0; k < absent.length; k++) {
			order[present.length + k] = list[absent[k]!]!;
		}
	} else {
		const isAbsent = new Uint8Array(rows.length);
		for (const k of absent) isAbsent[list[k]!] = 1;
		let at = present.length;
		for (const i of byTid) if (isAbsent[i] === 1) order[at++] = i;
	}

	return {column, descending, order, present: present.length, values: sortedValues};
}

/**
The same column in the other direction: runs of equal values in reverse order, each run kept in
TID order, unknown values still last. O(n), no sort.
*/
function invertSorted(sorted: Sorted): Sorted {
	const {order, present, values} = sorted;
	const out = new Int32Array(order.length);
	const outValues: SortValue[] = [];
	let n = 0;
	let end = present;
	while (end > 0) {
		let begin = end - 1;
		while (begin > 0 && values[begin - 1] === values[end - 1]) begin--;
		for (let k = begin; k < end; k++) {
			out[n++] = order[k]!;
			outValues.push(values[k]!);
		}

		end = begin;
	}

	out.set(order.subarray(present), present);
	return {column: sorted.column, descending: !sorted.descending, order: out, present, values: outValues};
}

/** `sorted` restricted to the indices in `kept` (a subset of what it sorted). */
function narrowSorted(sorted: Sorted, kept: Int32Array, size: number): Sorted {
	const keep = new Uint8Array(size);
	for (const i of kept) keep[i] = 1;
	const order = new Int32Array(kept.length);
	const values: SortValue[] = [];
	let n = 0;
	let present = 0;
	for (let k = 0; k < sorted.order.length; k++) {
		const i = sorted.order[k]!;
		if (keep[i] !== 1) continue;
		order[n++] = i;
		if (k < sorted.present) {
			values.push(sorted.values[k]!);
			present++;
		}
	}

	return {column: sorted.column, descending: sorted.descending, order, present, values};
}

/** The sort asked for, from the last one when only the direction changed. */
function sortedFor(
	last: Sorted | null,
	rows: readonly TaskRow[],
	list: ArrayLike<number>,
	column: ColumnId,
	descending: boolean,
	base: Base | null = null,
): Sorted {
	if (last !== null && last.column === column) {
		return last.descending === descending ? last : invertSorted(last);
	}

	return sortList(rows, list, column, descending, base);
}

function pick(rows: readonly TaskRow[], order: Int32Array): TaskRow[] {
	const out: TaskRow[] = [];
	for (let k = 0; k < order.length; k++) out.push(rows[order[k]!]!);
	return out;
}

function sortRows(rows: readonly TaskRow[], column: ColumnId, descending: boolean): TaskRow[] {
	return pick(rows, sortList(rows, Array.from(rows.keys()), column, descending).order);
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
	sort: ViewOptions['sort'],
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
			for (const member of sortRows(members, sort.column, sort.descending)) {
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

Pure in what it returns; behind it, work is remembered per history (weakly, so it goes with the
history): the rows of a poll are built once (and a thread that did not change keeps its row object
from the previous poll), each filter once (a longer needle narrows the last result), and a sort is
inverted by reversing runs of equal values instead of sorting again.
*/
export function deriveRows(
	history: History | null,
	options: ViewOptions,
	expanded: ReadonlySet<string> = new Set(),
): RowList {
	if (history === null) {
		return listOf([]);
	}

	// Every thread, one row each: over the table, without an object per row (table-rows.ts).
	const table = history.snapshot.threadTable ?? null;
	if (options.showAll && table !== null && options.group === 'none' && !options.processes) {
		return tableRows(history, table, options);
	}

	return listOf(derivedArray(history, options, expanded));
}

function derivedArray(history: History, options: ViewOptions, expanded: ReadonlySet<string>): TaskRow[] {
	const base = baseOf(history, options.showAll);
	const view = viewOf(cacheOf(history), base, options);
	const {column, descending} = options.sort;
	if (options.processes) {
		view.processes ??= {rows: processRows(Array.from(view.kept, (i) => base.rows[i]!)), sorted: null};
		const {rows} = view.processes;
		if (options.group !== 'none') {
			return groupRows(rows, options.group, expanded, options.sort);
		}

		const sorted = sortedFor(view.processes.sorted, rows, Array.from(rows.keys()), column, descending);
		view.processes.sorted = sorted;
		return pick(rows, sorted.order);
	}

	if (options.group !== 'none') {
		return groupRows(
			Array.from(view.kept, (i) => base.rows[i]!),
			options.group,
			expanded,
			options.sort,
		);
	}

	const sorted = sortedFor(view.sorted, base.rows, view.kept, column, descending, base);
	view.sorted = sorted;
	return pick(base.rows, sorted.order);
}
