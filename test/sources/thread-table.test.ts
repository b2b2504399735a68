import {describe, expect, it} from 'vitest';
import {
	createThreadTableBuilder,
	mergeTables,
	soleBuffer,
	tableBuffers,
} from '../../source/sources/thread-table.js';
import {threadAt} from '../../source/model/types.js';

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

	it('is made again in the buffer of a table given back when it has room, else in one with room to spare', () => {
		const builder = createThreadTableBuilder();
		const fill = (from: number, to: number) => {
			builder.reset();
			for (let tid = to; tid >= from; tid--)
				builder.add(1, tid, tid % 2, stat(tid, `c${tid % 3}`, 'S', tid), tid);
		};

		const rows = (table: ReturnType<typeof builder.finish>) =>
			Array.from({length: table.count}, (_, i) => threadAt(table, i));
		fill(1, 1000);
		const first = builder.finish();
		const spare = soleBuffer(first)!;
		// Room for 1/16 more threads: a walk that found a few more fits in it.
		expect(spare.byteLength).toBeGreaterThanOrEqual(1062 * 39);
		fill(1, 1050);
		const expected = rows(builder.finish());
		const refilled = builder.finish(spare);
		expect(refilled.tid.buffer).toBe(spare);
		expect(rows(refilled)).toEqual(expected);
		// Too small for the next walk: a new buffer, the spare left as it was.
		fill(1, 1050);
		const small = builder.finish();
		fill(1, 5000);
		const big = builder.finish(soleBuffer(small)!);
		expect(big.tid.buffer).not.toBe(small.tid.buffer);
		expect(rows(big)).toHaveLength(5000);
		expect(threadAt(small, 1049).tid).toBe(1050);
		// A table whose buffer moved away has none to give back.
		structuredClone(big, {transfer: tableBuffers(big)});
		expect(soleBuffer(big)).toBeNull();
	});
});
