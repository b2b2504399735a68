/**
The all-threads view over a thread table (issue 12): 100,000 threads without an object each.

The snapshot's `ThreadTable` is the view's data. A poll computes, per row, only which blocker it is
(an index, for the 1% that block); a filter keeps row numbers in an `Int32Array`; a sort orders row
numbers by their values' ranks with one stable counting pass (the table is in TID order, so equal
values stay in TID order, as everywhere in the task table); a `TaskRow` is made only for a row a
view asks for. The rules are those of `rows.ts` (which serves the blockers, processes and groups):
the row property test holds the two equal.
*/
import type {Blocker, History, ThreadTable} from '../model/types.js';
import {blockerKey, findRow, threadAt, upperBound} from '../model/types.js';
import {stuckSeconds} from '../model/history.js';
import {classRank, rowMatches, threadRow} from './row-model.js';
import type {ColumnId, RowList, TaskRow, ViewOptions} from './row-model.js';

const PF_KTHREAD = 0x00200000;

type TableBase = {
	readonly history: History;
	readonly table: ThreadTable;
	/** Per row, its blocker's index in `snapshot.blockers` (the last listed for its TID and start time), else -1. */
	readonly blockerOf: Int32Array;
	/** The rows that show a blocker, ascending (a few: the columns only blockers have sort these alone). */
	readonly blockerRows: Int32Array;
	/** The comms lower-cased, made on the first filter or search. */
	lower: string[] | null;
	/** Filter results by filter key, most recent last (a few). */
	readonly views: Array<{readonly key: string; readonly kept: Int32Array; sorted: Map<string, Int32Array>}>;
};

const bases = new WeakMap<History, TableBase>();

function baseOf(history: History, table: ThreadTable): TableBase {
	let base = bases.get(history);
	if (base === undefined || base.table !== table) {
		const blockerOf = new Int32Array(table.count).fill(-1);
		const {blockers} = history.snapshot;
		const rows: number[] = [];
		for (let b = 0; b < blockers.length; b++) {
			const row = findRow(table, blockers[b]!.tid, blockers[b]!.starttime);
			if (row < 0) continue;
			if (blockerOf[row] === -1) rows.push(row);
			blockerOf[row] = b;
		}

		const blockerRows = Int32Array.from(rows).sort();
		base = {history, table, blockerOf, blockerRows, lower: null, views: []};
		bases.set(history, base);
	}

	return base;
}

/** Row `row` of the table as the task table shows it. */
function rowAt(base: TableBase, row: number): TaskRow {
	const {history, table} = base;
	const b = base.blockerOf[row]!;
	if (b >= 0) {
		const blocker = history.snapshot.blockers[b]!;
		const key = blockerKey(blocker);
		return threadRow(blocker, blocker, stuckSeconds(history, key), key);
	}

	const thread = threadAt(table, row);
	return threadRow(thread, null, null, blockerKey(thread));
}

/** Row `row` of `table` as the all-threads view of `history` shows it (tests, and views of every row). */
export function rowOfTable(history: History, table: ThreadTable, row: number): TaskRow {
	return rowAt(baseOf(history, table), row);
}

function blockerAt(base: TableBase, row: number): Blocker | null {
	const b = base.blockerOf[row]!;
	return b < 0 ? null : base.history.snapshot.blockers[b]!;
}

/** Characters of `String(number)`: a needle with any other never matches a TID. */
const numberText = /^\d+$/;

/** Whether row `row` holds `needle` (lower-case): `rowMatches` on the columns. */
function matcher(base: TableBase, needle: string): (row: number) => boolean {
	if (needle === '') return () => true;
	base.lower ??= base.table.comms.map((comm) => comm.toLowerCase());
	const comms = base.lower.map((comm) => comm.includes(needle));
	const ids = numberText.test(needle);
	const {table} = base;
	// A blocker's row shows the blocker (its own reading of the thread): it is matched as shown.
	return (row) =>
		base.blockerOf[row]! >= 0
			? rowMatches(rowAt(base, row), needle)
			: comms[table.comm[row]!] === true ||
				(ids && (String(table.tid[row]).includes(needle) || String(table.tgid[row]).includes(needle)));
}

/** The rows the filters keep, in table order (a few results remembered per poll). */
function keptOf(base: TableBase, options: ViewOptions): TableBase['views'][number] {
	const needle = options.filter.toLowerCase();
	const key = [
		options.hideKthreads,
		options.pids?.join(',') ?? '-',
		options.tids?.join(',') ?? '-',
		needle,
	].join('|');
	const found = base.views.find((view) => view.key === key);
	if (found !== undefined) return found;
	const {table} = base;
	if (!options.hideKthreads && options.pids === null && options.tids === null && needle === '') {
		// No filter (the usual case): every row, without asking each.
		return remember(base, key, everyRow(table.count));
	}

	const pids = options.pids === null ? null : new Set(options.pids);
	const tids = options.tids === null ? null : new Set(options.tids);
	const matches = matcher(base, needle);
	const kept = new Int32Array(table.count);
	let n = 0;
	for (let row = 0; row < table.count; row++) {
		const blocker = blockerAt(base, row);
		const kthread = blocker === null ? (table.flags[row]! & PF_KTHREAD) !== 0 : blocker.kthread;
		if (options.hideKthreads && kthread) continue;
		if (pids !== null && !pids.has(blocker?.tgid ?? table.tgid[row]!)) continue;
		if (tids !== null && !tids.has(table.tid[row]!)) continue;
		if (!matches(row)) continue;
		kept[n++] = row;
	}

	return remember(base, key, kept.subarray(0, n));
}

/** 0..count-1, shared by every poll's unfiltered view (read only: nothing writes a `kept`). */
let identity = new Int32Array(0);
function everyRow(count: number): Int32Array {
	if (identity.length < count) {
		identity = new Int32Array(count + (count >> 4));
		for (let row = 0; row < identity.length; row++) identity[row] = row;
	}

	return identity.subarray(0, count);
}

function remember(base: TableBase, key: string, kept: Int32Array): TableBase['views'][number] {
	const view = {key, kept, sorted: new Map<string, Int32Array>()};
	base.views.push(view);
	if (base.views.length > 4) base.views.shift();
	return view;
}

/** The place of a comm among every comm shown (the table's and its blockers'), as COMM sorts them. */
function commRankOf(base: TableBase): Map<string, number> {
	const texts = new Set(base.table.comms);
	for (const blocker of base.history.snapshot.blockers) texts.add(blocker.comm);
	const sorted = [...texts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
	return new Map(sorted.map((text, place) => [text, place]));
}

/**
A column's value of a row as a number to sort by, NaN for none (sorted last either way): a
blocker's row by the blocker (its own reading of the thread, which the row shows). COMM sorts by a
comm's place among the comms; STUCK, CLASS and FUNCTION are left to `sortRare`.
*/
function numericValue(base: TableBase, column: ColumnId): ((row: number) => number) | null {
	const {table} = base;
	const of = (fromTable: (row: number) => number, fromBlocker: (blocker: Blocker) => number | null) => {
		return (row: number) => {
			const blocker = blockerAt(base, row);
			return blocker === null ? fromTable(row) : (fromBlocker(blocker) ?? Number.NaN);
		};
	};

	switch (column) {
		case 'tgid':
			return of(
				(row) => table.tgid[row]!,
				(blocker) => blocker.tgid,
			);
		case 'user':
			return of(
				(row) => table.uid[row]!,
				(blocker) => blocker.uid,
			);
		case 'state':
			return of(
				(row) => table.state[row]!,
				(blocker) => blocker.state.charCodeAt(0),
			);
		case 'kthread':
			return of(
				(row) => ((table.flags[row]! & PF_KTHREAD) === 0 ? 0 : 1),
				(blocker) => (blocker.kthread ? 1 : 0),
			);
		case 'patch':
			return of(
				(row) => {
					const value = table.patchState[row]!;
					return value === -1 || value === 0 || value === 1 ? value : Number.NaN;
				},
				(blocker) => blocker.patchState,
			);
		case 'comm': {
			const rank = commRankOf(base);
			return of(
				(row) => rank.get(table.comms[table.comm[row]!]!)!,
				(blocker) => rank.get(blocker.comm)!,
			);
		}

		default:
			return null;
	}
}

/** The value a blocker's row sorts by in the columns only blockers have. */
function blockerValue(base: TableBase, row: number, column: ColumnId): number | string | null {
	const blocker = blockerAt(base, row);
	if (blocker === null) return null;
	switch (column) {
		case 'stuck':
			return stuckSeconds(base.history, blockerKey(blocker));
		case 'class':
			return classRank[blocker.class];
		case 'function':
			return blocker.function;
		default:
			return null;
	}
}

/**
`kept` (table order) sorted by `column`: rows with a value by it (ties in TID order), then the rows
without one in TID order. One stable counting pass over the values' ranks.
*/
function sortKept(base: TableBase, kept: Int32Array, column: ColumnId, descending: boolean): Int32Array {
	if (column === 'tid') return byTid(base, kept, descending);
	const value = numericValue(base, column);
	if (value === null) return sortRare(base, kept, column, descending);
	const values = new Float64Array(kept.length);
	for (let k = 0; k < kept.length; k++) values[k] = value(kept[k]!);
	// Ranks of the distinct values.
	const distinct = Float64Array.from(new Set(values)).filter((v) => !Number.isNaN(v));
	distinct.sort();
	const rankOf = new Map<number, number>();
	for (let r = 0; r < distinct.length; r++)
		rankOf.set(distinct[r]!, descending ? distinct.length - 1 - r : r);
	const counts = new Int32Array(distinct.length + 2);
	const ranks = new Int32Array(kept.length);
	for (let k = 0; k < kept.length; k++) {
		const v = values[k]!;
		// Rows without a value go after every rank.
		const rank = Number.isNaN(v) ? distinct.length : rankOf.get(v)!;
		ranks[k] = rank;
		counts[rank + 1]!++;
	}

	for (let r = 1; r < counts.length; r++) counts[r]! += counts[r - 1]!;
	const order = new Int32Array(kept.length);
	for (let k = 0; k < kept.length; k++) order[counts[ranks[k]!]!++] = kept[k]!;
	return order;
}

/**
TID: the table's own order, or its runs of equal TIDs (a recycled one, rare) in reverse order, each
kept in start-time order.
*/
function byTid(base: TableBase, kept: Int32Array, descending: boolean): Int32Array {
	if (!descending) return kept;
	const {tid} = base.table;
	const order = new Int32Array(kept.length);
	let n = 0;
	let end = kept.length;
	while (end > 0) {
		let begin = end - 1;
		while (begin > 0 && tid[kept[begin - 1]!] === tid[kept[end - 1]!]) begin--;
		order.set(kept.subarray(begin, end), n);
		n += end - begin;
		end = begin;
	}

	return order;
}

/**
Columns only blockers have a value in (STUCK, CLASS, FUNCTION): sort the kept blockers' rows (a few,
found from the blockers, not by asking all 100,000 rows), the rest keep TID order after them.
*/
function sortRare(base: TableBase, kept: Int32Array, column: ColumnId, descending: boolean): Int32Array {
	// Which rows are kept: `kept` is ascending, so a blocker's row is looked up by binary search.
	const present: number[] = [];
	const values = new Map<number, number | string>();
	for (const row of base.blockerRows) {
		if (!sortedHas(kept, row)) continue;
		const v = blockerValue(base, row, column);
		if (v === null) continue;
		present.push(row);
		values.set(row, v);
	}

	// Table order is TID order: a tie keeps it.
	present.sort((a, b) => {
		const va = values.get(a)!;
		const vb = values.get(b)!;
		if (va === vb) return a - b;
		return (va < vb ? -1 : 1) * (descending ? -1 : 1);
	});
	const order = new Int32Array(kept.length);
	order.set(present);
	if (present.length === 0) {
		order.set(kept);
		return order;
	}

	// The rest in table order: `kept` with the present rows (ascending once sorted so) left out.
	const skip = Int32Array.from(present).sort();
	let n = present.length;
	let s = 0;
	for (let k = 0; k < kept.length; k++) {
		const row = kept[k]!;
		if (s < skip.length && skip[s] === row) {
			s++;
			continue;
		}

		order[n++] = row;
	}

	return order;
}

/** Whether ascending `rows` holds `row`. */
function sortedHas(rows: Int32Array, row: number): boolean {
	const past = upperBound(rows, row);
	return past > 0 && rows[past - 1] === row;
}

/** The all-threads view of `history` over its thread table, filtered and sorted as `options` say. */
export function tableRows(history: History, table: ThreadTable, options: ViewOptions): RowList {
	const base = baseOf(history, table);
	const view = keptOf(base, options);
	const sortKey = `${options.sort.column}|${options.sort.descending}`;
	let order = view.sorted.get(sortKey);
	if (order === undefined) {
		order = sortKept(base, view.kept, options.sort.column, options.sort.descending);
		view.sorted.set(sortKey, order);
	}

	const rows = order;
	return {
		length: rows.length,
		at: (index) => (index >= 0 && index < rows.length ? rowAt(base, rows[index]!) : undefined),
		slice(start, end) {
			const out: TaskRow[] = [];
			for (let i = Math.max(0, start); i < Math.min(end, rows.length); i++) out.push(rowAt(base, rows[i]!));
			return out;
		},
		indexOfKey(key) {
			const colon = key.indexOf(':');
			if (colon <= 0) return -1;
			const row = findRow(table, Number(key.slice(0, colon)), Number(key.slice(colon + 1)));
			return row < 0 ? -1 : rows.indexOf(row);
		},
		search(needle, start, direction) {
			const matches = matcher(base, needle);
			const count = rows.length;
			for (let step = 0; step < count; step++) {
				const i = (((start + direction * step) % count) + count) % count;
				if (matches(rows[i]!)) return i;
			}

			return -1;
		},
	};
}
