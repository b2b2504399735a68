/**
What the main thread and the walk helper thread (`walk-helper.ts`) share: the states of a walk's
shared word, the helper's idle time, and the shapes of an assignment and its result.
*/
import type {MessagePort} from 'node:worker_threads';
import type {TaskWalk, TaskWalkOptions} from './fs-port.js';
import type {PackedTaskFiles} from './walk.js';

/** A walk's `shared[1]`: whether the helper took it, finished it, or was told not to start. */
export const NOT_STARTED = 0;
export const RUNNING = 1;
export const DONE = 2;
export const CANCELLED = 3;

/** A helper without work for this long ends (a port's next walk starts another). */
export const HELPER_IDLE_MS = 30_000;

/** Handed to the helper when it starts. */
export type HelperData = {
	/** Int32Array[1] over it: 0 idle, 1 an assignment is on the port, 2 end. */
	readonly control: SharedArrayBuffer;
	readonly port: MessagePort;
};

/** One walk for the helper: claim chunks of `pids` from `shared[0]` like the main thread does. */
export type HelperAssignment = {
	readonly prefix: string;
	readonly pids: readonly string[];
	readonly options: TaskWalkOptions;
	readonly chunk: number;
	/** Tests: throw after this many chunks (a helper that fails mid-walk). */
	readonly faultAfter: number | null;
	/** Tests: sleep this long after each chunk (a slow helper, so that a joining thread finds it under way). */
	readonly chunkDelayMs?: number;
	readonly shared: SharedArrayBuffer;
	/**
	The owners to reuse are those of the table this helper made with this serial (it kept their
	columns): `options.owners` is then left out, not copied over every poll. Null: as `options` say.
	*/
	readonly ownersSerial: number | null;
	/**
	The buffer of a table of this helper's that nobody reads any more (`FsPort.recycleTable`), moved
	back with the assignment: the walk's table is made in it if it has room, not in a new one.
	*/
	readonly spare?: ArrayBuffer;
};

/** The helper's answer; details go as columns (far cheaper to receive than one object each). */
export type HelperResult =
	| {
			readonly ok: true;
			readonly walk: TaskWalk;
			readonly packed: PackedTaskFiles | undefined;
			/** The serial of `walk.table` among the tables this helper made (it keeps its owners). */
			readonly serial: number;
			/** `walk.table` was made in the assignment's spare buffer. */
			readonly refilled: boolean;
	  }
	| {readonly ok: false; readonly error: string};
