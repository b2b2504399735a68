/**
Builds a `ThreadTable` (model/types.ts): every thread of a walk as columns, in TID order, on
whichever thread walked (the walk helper posts its columns as transferable buffers, so the main
thread receives 100,000 threads without making an object of each: issue 12).
*/
import type {ThreadTable} from '../model/types.js';
import {findRow} from '../model/types.js';
import {parseStat} from './parse.js';

/** The letter `stat` shows for a thread whose `stat` could not be read. */
const UNKNOWN_STATE = 0x3f; // '?'

export type ThreadTableBuilder = {
	/**
	Add a thread from its `stat` text (null: unreadable, fields unknown) and owner. Returns false for
	a text that is not a stat line (the thread is added with unknown fields all the same).
	*/
	add(tgid: number, tid: number, patchState: number, stat: string | null, uid: number | null): boolean;
	/** The start time `stat` gave the thread last added (0 when unknown). */
	readonly lastStarttime: number;
	/** Set the owner of the thread last added. */
	setLastUid(uid: number | null): void;
	/**
	The table, sorted by TID then start time, in arrays of its own: the rows are added into the
	table's own buffer, which goes with it (the builder starts a new one for its next rows). Walks
	list threads in TID order, so that buffer is the table's as it is; rows out of order are copied
	sorted into a new one.
	*/
	finish(): ThreadTable;
	/**
	Empty the builder for the next walk. Its rows go into `spare` (the buffer of a table nobody reads
	any more, `FsPort.recycleTable`) while it has room, else into a new buffer sized for a few more
	threads than the last table had, so that it can be a later walk's spare (issue 12: a helper that
	walks every poll makes its table in the same memory each time, without scratch columns besides).
	*/
	reset(spare?: ArrayBuffer): void;
};

type Columns = {
	tid: Int32Array;
	tgid: Int32Array;
	ppid: Int32Array;
	flags: Uint32Array;
	starttime: Float64Array;
	uid: Float64Array;
	patchState: Int8Array;
	state: Uint16Array;
	comm: Int32Array;
};

/**
Every column of `size` rows in one buffer (one allocation, one transfer): the 8-byte columns first,
then the 4-, 2- and 1-byte ones, so each is aligned. In `buffer` when given (at least `size` rows).
*/
function allocate(size: number, buffer = new ArrayBuffer(size * BYTES_PER_ROW)): Columns {
	let at = 0;
	const take = <T>(make: (buffer: ArrayBuffer, offset: number, length: number) => T, bytes: number): T => {
		const column = make(buffer, at, size);
		at += bytes * size;
		return column;
	};

	return {
		starttime: take((b, o, n) => new Float64Array(b, o, n), 8),
		uid: take((b, o, n) => new Float64Array(b, o, n), 8),
		tid: take((b, o, n) => new Int32Array(b, o, n), 4),
		tgid: take((b, o, n) => new Int32Array(b, o, n), 4),
		ppid: take((b, o, n) => new Int32Array(b, o, n), 4),
		flags: take((b, o, n) => new Uint32Array(b, o, n), 4),
		comm: take((b, o, n) => new Int32Array(b, o, n), 4),
		state: take((b, o, n) => new Uint16Array(b, o, n), 2),
		patchState: take((b, o, n) => new Int8Array(b, o, n), 1),
	};
}

/** Bytes a row takes in `allocate`'s buffer. */
const BYTES_PER_ROW = 8 + 8 + 4 * 5 + 2 + 1;

/** Rows for a table expected to hold `count`: 1/16 more (at least 256), for a walk a few threads bigger. */
function roomFor(count: number): number {
	return count + Math.max(256, count >> 4);
}

/** Rows `columns` have room for (each column is laid out for that many). */
function capacityOf(columns: Columns): number {
	return columns.tid.length;
}

const columnNames = [
	'tid',
	'tgid',
	'ppid',
	'flags',
	'starttime',
	'uid',
	'patchState',
	'state',
	'comm',
] as const;

export function createThreadTableBuilder(): ThreadTableBuilder {
	/** Where the rows go: the buffer the next table is made in (null: none yet). */
	let columns: Columns | null = null;
	let count = 0;
	/** The rows of the last table finished: how big to make the next buffer. */
	let lastCount = 0;
	let lastStarttime = 0;
	const comms: string[] = [];
	const commIndex = new Map<string, number>();
	/** No rows (the buffer, if any, stays). */
	const empty = () => {
		count = 0;
		lastStarttime = 0;
		comms.length = 0;
		commIndex.clear();
	};
	const internComm = (comm: string): number => {
		let index = commIndex.get(comm);
		if (index === undefined) {
			index = comms.length;
			comms.push(comm);
			commIndex.set(comm, index);
		}

		return index;
	};

	return {
		get lastStarttime() {
			return lastStarttime;
		},
		setLastUid(uid) {
			if (count > 0) columns!.uid[count - 1] = uid ?? Number.NaN;
		},
		add(tgid, tid, patchState, stat, uid) {
			if (columns === null) {
				columns = allocate(roomFor(lastCount));
			} else if (count === capacityOf(columns)) {
				const grown = allocate(count * 2);
				for (const name of columnNames) grown[name].set(columns[name] as never);
				columns = grown;
			}

			const fields = stat === null || stat === '' ? null : parseStat(stat);
			const i = count++;
			columns.tid[i] = tid;
			columns.tgid[i] = tgid;
			columns.patchState[i] = patchState;
			columns.uid[i] = uid ?? Number.NaN;
			columns.ppid[i] = fields?.ppid ?? 0;
			columns.flags[i] = fields?.flags ?? 0;
			columns.starttime[i] = fields?.starttime ?? 0;
			columns.state[i] = fields === null ? UNKNOWN_STATE : fields.state.charCodeAt(0);
			columns.comm[i] = internComm(fields?.comm ?? '');
			lastStarttime = fields?.starttime ?? 0;
			return fields !== null || stat === null || stat === '';
		},
		finish() {
			const table = sortByTid(columns ?? allocate(0), count, comms);
			// The buffer goes with the table: the next rows go into another.
			columns = null;
			lastCount = count;
			empty();
			return table;
		},
		reset(spare) {
			empty();
			if (spare !== undefined && spare.byteLength >= BYTES_PER_ROW) {
				columns = allocate(Math.floor(spare.byteLength / BYTES_PER_ROW), spare);
			}
		},
	};
}

/**
The first `count` rows of `columns` as a table sorted by TID then start time: in `columns`' own
buffer when they are in that order already (a walk's usual case), else copied in order into a new one.
*/
function sortByTid(columns: Columns, count: number, comms: readonly string[]): ThreadTable {
	let sorted = true;
	for (let i = 1; i < count && sorted; i++) {
		sorted =
			columns.tid[i - 1]! < columns.tid[i]! ||
			(columns.tid[i - 1] === columns.tid[i] && columns.starttime[i - 1]! <= columns.starttime[i]!);
	}

	if (sorted) {
		return numberComms(viewsOf(columns, count), count, comms);
	}

	// One native sort of (TID, start time, row) packed in a double where they fit, else a comparator.
	const order = new Int32Array(count);
	if (count < 1 << 21) {
		// TIDs are below 2^22 (pid_max): (tid * 2^21 + row) is exact in a double. Equal TIDs (one
		// recycled during the walk) are put in start-time order below.
		const keys = new Float64Array(count);
		for (let i = 0; i < count; i++) keys[i] = columns.tid[i]! * 2_097_152 + i;
		keys.sort();
		for (let i = 0; i < count; i++) order[i] = keys[i]! % 2_097_152;
		for (let i = 1; i < count; i++) {
			if (columns.tid[order[i]!] === columns.tid[order[i - 1]!]) {
				const run = [order[i - 1]!];
				let j = i;
				while (j < count && columns.tid[order[j]!] === columns.tid[run[0]!]) run.push(order[j++]!);
				run.sort((a, b) => columns.starttime[a]! - columns.starttime[b]! || a - b);
				order.set(run, i - 1);
				i = j;
			}
		}
	} else {
		const rows = Array.from({length: count}, (_, i) => i);
		rows.sort(
			(a, b) => columns.tid[a]! - columns.tid[b]! || columns.starttime[a]! - columns.starttime[b]! || a - b,
		);
		order.set(rows);
	}

	const out = allocate(roomFor(count));
	for (const name of columnNames) {
		const from = columns[name];
		const to = out[name];
		for (let i = 0; i < count; i++) to[i] = from[order[i]!]!;
	}

	return numberComms(viewsOf(out, count), count, comms);
}

/** The first `count` rows of each column (views of the same buffer). */
function viewsOf(columns: Columns, count: number): Columns {
	if (capacityOf(columns) === count) return columns;
	const out = {} as Record<(typeof columnNames)[number], unknown>;
	for (const name of columnNames) out[name] = columns[name].subarray(0, count);
	return out as Columns;
}

/** The table of `out`'s `count` rows, its comms numbered in order of first use: one world, one table, however it was walked. */
function numberComms(out: Columns, count: number, comms: readonly string[]): ThreadTable {
	const renumber = new Int32Array(comms.length).fill(-1);
	const used: string[] = [];
	for (let i = 0; i < count; i++) {
		const old = out.comm[i]!;
		if (renumber[old] === -1) {
			renumber[old] = used.length;
			used.push(comms[old]!);
		}

		out.comm[i] = renumber[old]!;
	}

	return {count, ...out, comms: used};
}

/** `a` and `b` (walks of disjoint sets of threads) in one table, in TID order. */
export function mergeTables(a: ThreadTable, b: ThreadTable): ThreadTable {
	const count = a.count + b.count;
	const columns = allocate(count);
	for (const name of columnNames) {
		(columns[name] as Int32Array).set(a[name] as Int32Array, 0);
		(columns[name] as Int32Array).set(b[name] as Int32Array, a.count);
	}

	// b's comms after a's, each once.
	const comms = [...a.comms];
	const index = new Map(comms.map((comm, i) => [comm, i]));
	const remap = b.comms.map((comm) => {
		let at = index.get(comm);
		if (at === undefined) {
			at = comms.length;
			comms.push(comm);
			index.set(comm, at);
		}

		return at;
	});
	for (let i = a.count; i < count; i++) columns.comm[i] = remap[columns.comm[i]!]!;
	return sortByTid(columns, count, comms);
}

/** The buffers of a table, to transfer it to another thread without a copy. */
export function tableBuffers(table: ThreadTable): ArrayBuffer[] {
	// One buffer for every column of a table this file made: a transfer list names each once.
	return [...new Set(columnNames.map((name) => table[name].buffer as ArrayBuffer))];
}

/**
The one buffer that holds every column of `table`, if this file made it so (not shared, not
already handed on): what a walk can fill again once nobody reads the table (`FsPort.recycleTable`).
*/
export function soleBuffer(table: ThreadTable): ArrayBuffer | null {
	const buffers = tableBuffers(table);
	const buffer = buffers.length === 1 ? buffers[0]! : null;
	return buffer instanceof ArrayBuffer && buffer.byteLength > 0 ? buffer : null;
}

/**
What an earlier table says a thread's owner is, if that table has the thread (same TID and start
time): the walk of the all-threads view then reads only the `stat` of a thread it has seen before,
not its owner too. Binary search: the table is in TID order.
*/
export function knownOwner(
	table: Pick<ThreadTable, 'count' | 'tid' | 'starttime' | 'uid'>,
	tid: number,
	starttime: number,
): number | null | undefined {
	const row = findRow(table, tid, starttime);
	if (row < 0) return undefined;
	const uid = table.uid[row]!;
	return Number.isNaN(uid) ? null : uid;
}
