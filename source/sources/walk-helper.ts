/**
The walk helper thread's program (started by `host-port.ts`, see ARCHITECTURE.md "The walk
helper"): it walks chunks of /proc on a second core with the same `walk.ts` code as the main thread.

It boots, then waits for an assignment: its control word turns 1 and the assignment is on its port.
So it can be started early (`prewarmWalkHelper`) and be ready when the walk begins. It claims
chunks from the walk's shared counter exactly as the main thread does, posts its result, and
waits for the next one; it ends when told to (control 2), after HELPER_IDLE_MS idle, or with the
process.
*/
import * as fs from 'node:fs';
import {receiveMessageOnPort, workerData} from 'node:worker_threads';
import type {ThreadTable} from '../model/types.js';
import {createThreadTableBuilder, tableBuffers, type ThreadTableBuilder} from './thread-table.js';
import {addWalk, emptyWalk, makeFsWalkIo, packTaskFiles, readTaskFiles, walkTasks} from './walk.js';
import {
	DONE,
	HELPER_IDLE_MS,
	NOT_STARTED,
	RUNNING,
	type HelperAssignment,
	type HelperData,
	type HelperResult,
} from './walk-protocol.js';

/** The table builder of this helper's walks (collect 'all'): it sizes a new table by the last one. */
let builder: ThreadTableBuilder | null = null;

/** Tables made so far; the owners of the last one (its TID, start time and uid columns, copied). */
let serial = 0;
let owners: (Pick<ThreadTable, 'count' | 'tid' | 'starttime' | 'uid'> & {serial: number}) | null = null;

/** Keep the owners of `table` (about to be transferred away) as those of table `serial`. */
function keepOwners(table: ThreadTable): void {
	const room = owners !== null && owners.tid.length >= table.count ? owners : null;
	const kept = {
		serial,
		count: table.count,
		tid: room?.tid ?? new Int32Array(table.count),
		starttime: room?.starttime ?? new Float64Array(table.count),
		uid: room?.uid ?? new Float64Array(table.count),
	};
	kept.tid.set(table.tid);
	kept.starttime.set(table.starttime);
	kept.uid.set(table.uid);
	owners = kept;
}

/** Walk the chunks of `work` this thread claims. */
function walkAssignment(work: HelperAssignment, shared: Int32Array): HelperResult {
	try {
		const io = makeFsWalkIo(fs, work.prefix, readTaskFiles);
		const {pids, chunk, faultAfter} = work;
		// The owners the main thread means are the ones kept here; a walk without them reads every owner.
		const {owners: _sent, ...rest} = work.options;
		const options =
			work.ownersSerial === null
				? work.options
				: owners?.serial === work.ownersSerial
					? {...rest, owners}
					: rest;
		const chunks = Math.ceil(pids.length / chunk);
		const into = emptyWalk();
		// Every thread's columns, from all the chunks this thread walks (collect 'all').
		let table: ThreadTableBuilder | null = null;
		if (options.collect === 'all') {
			builder ??= createThreadTableBuilder();
			// Into the spare, if one came: the table is made in the memory of one given back.
			builder.reset(work.spare);
			table = builder;
		}

		for (let done = 0; ; done++) {
			if (done === faultAfter) {
				throw new Error('injected helper fault');
			}

			const index = Atomics.add(shared, 0, 1);
			if (index >= chunks) {
				break;
			}

			addWalk(into, walkTasks(io, pids.slice(index * chunk, (index + 1) * chunk), options, table));
			if (work.chunkDelayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, work.chunkDelayMs);
		}

		const packed = into.details === undefined ? undefined : packTaskFiles(into.details);
		into.details = undefined;
		if (table !== null) {
			into.table = table.finish();
			serial++;
			keepOwners(into.table);
		}

		const refilled = work.spare !== undefined && into.table?.tid.buffer === work.spare;
		return {ok: true, walk: into, packed, serial, refilled};
	} catch (error) {
		return {ok: false, error: String(error)};
	}
}

function serve({control: controlBuffer, port}: HelperData): void {
	const control = new Int32Array(controlBuffer);
	for (;;) {
		const idleUntil = Date.now() + HELPER_IDLE_MS;
		while (Atomics.load(control, 0) === 0 && Date.now() < idleUntil) {
			Atomics.wait(control, 0, 0, 250);
		}

		// 1: an assignment is on the port (take it, wait for the next one after); 2 or idle: end.
		if (Atomics.compareExchange(control, 0, 1, 0) !== 1) {
			break;
		}

		const received = receiveMessageOnPort(port) as {message: HelperAssignment} | undefined;
		if (received === undefined) {
			continue;
		}

		const work = received.message;
		const shared = new Int32Array(work.shared);
		if (Atomics.compareExchange(shared, 1, NOT_STARTED, RUNNING) !== NOT_STARTED) {
			continue;
		}

		const result = walkAssignment(work, shared);
		// The columns move to the main thread, not copied.
		port.postMessage(result, result.ok && result.walk.table ? tableBuffers(result.walk.table) : []);
		Atomics.store(shared, 1, DONE);
		Atomics.notify(shared, 1);
	}

	port.close();
}

serve(workerData as HelperData);
