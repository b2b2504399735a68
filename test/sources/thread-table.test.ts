import {describe, expect, it} from 'vitest';
import {
	createThreadTableBuilder,
	mergeTables,
	soleBuffer,
	tableBuffers,
} from '../../source/sources/thread-table.js';
import {threadAt, type ThreadTable} from '../../source/model/types.js';

/** A `stat` line of thread `tid` (state, ppid, flags and start time as given). */
function stat(tid: number, comm: string, state: string, starttime: number): string {
	const fields = [state, 1, tid, tid, 0, -1, 0x400040, 0, 0, 0, 0, 1, 2, 0, 0, 20, 0, 1, 0, starttime];
	return `${tid} (${comm}) ${fields.join(' ')} 0 0`;
}

describe('thread tables', () => {
	it('a builder reset for the next walk leaves the tables it made as they were', () => {
		const builder = createThreadTableBuilder();
		builder.add(10, 12, 0, stat(12, 'worker', 'S', 500), 1000);
		builder.add(10, 10, 1, stat(10, 'main', 'R', 400), 1000);
		const first = builder.finish();
		builder.reset();
		for (let tid = 2000; tid < 5000; tid++) builder.add(2000, tid, -1, stat(tid, `t${tid % 7}`, 'D', tid), 0);
		const second = builder.finish();

		expect(first.count).toBe(2);
		expect(
			[threadAt(first, 0), threadAt(first, 1)].map((t) => [t.tid, t.comm, t.state, t.patchState]),
		).toEqual([
			[10, 'main', 'R', 1],
			[12, 'worker', 'S', 0],
		]);
		expect(first.comms).toEqual(['main', 'worker']);
		expect(second.count).toBe(3000);
		expect(threadAt(second, 2999)).toMatchObject({
			tid: 4999,
			comm: 't1',
			state: 'D',
			starttime: 4999,
			uid: 0,
		});
		expect(second.comms).toHaveLength(7);
	});

	it('moves to another thread as one buffer, with every column intact', () => {
		const builder = createThreadTableBuilder();
		for (let tid = 1; tid <= 300; tid++)
			builder.add(1, tid, tid % 2, stat(tid, 'x', 'S', tid * 3), tid === 7 ? null : 0);
		const table = mergeTables(builder.finish(), createThreadTableBuilder().finish());
		const expected = Array.from({length: table.count}, (_, i) => threadAt(table, i));
		const buffers = tableBuffers(table);
		expect(buffers).toHaveLength(1);
		const moved = structuredClone(table, {transfer: buffers});
		expect(table.tid.length).toBe(0); // Detached: transferred, not copied.
		expect(Array.from({length: moved.count}, (_, i) => threadAt(moved, i))).toEqual(expected);
		expect(threadAt(moved, 6).uid).toBeNull();
	});

	it('is made in the buffer of a table given back while it has room, else in one with room to spare', () => {
		const builder = createThreadTableBuilder();
		const fill = (from: number, to: number, spare?: ArrayBuffer) => {
			builder.reset(spare);
			for (let tid = from; tid <= to; tid++)
				builder.add(1, tid, tid % 2, stat(tid, `c${tid % 3}`, 'S', tid), tid);
			return builder.finish();
		};

		const rows = (table: ThreadTable) => Array.from({length: table.count}, (_, i) => threadAt(table, i));
		// The first table's buffer grew to its rows (1,024); the next is sized by the last table.
		expect(soleBuffer(fill(1, 1000))!.byteLength).toBe(1024 * 39);
		const second = fill(1, 1000);
		const spare = soleBuffer(second)!;
		expect(spare.byteLength).toBe((1000 + 256) * 39); // 1/16 more, at least 256
		const expected = rows(fill(1, 1050));
		const refilled = fill(1, 1050, spare);
		expect(refilled.tid.buffer).toBe(spare);
		expect(rows(refilled)).toEqual(expected);
		// Too small for the walk: the rows move to a bigger buffer, the spare is no table's.
		const small = soleBuffer(fill(1, 10))!;
		const big = fill(1, 5000, small);
		expect(big.tid.buffer).not.toBe(small);
		expect(rows(big)).toEqual(rows(fill(1, 5000)));
		// Out of TID order: copied in order into a new buffer.
		builder.reset(soleBuffer(big)!);
		for (let tid = 3000; tid >= 1; tid--)
			builder.add(1, tid, tid % 2, stat(tid, `c${tid % 3}`, 'S', tid), tid);
		const reversed = builder.finish();
		expect(reversed.tid.buffer).not.toBe(big.tid.buffer);
		expect(rows(reversed)).toEqual(rows(fill(1, 3000)));
		// A table whose buffer moved away has none to give back.
		structuredClone(reversed, {transfer: tableBuffers(reversed)});
		expect(soleBuffer(reversed)).toBeNull();
	});
});
