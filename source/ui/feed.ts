import type {ActionContext} from '../actions/index.js';
import type {History, ScanOptions, Snapshot, SourceInfo, ThreadTable} from '../model/types.js';

/**
A recording behind the feed (`--replay`, `replay-feed.ts`): the dashboard shows the history of the
recorded poll its position names instead of polling, and the header says where and when it was.
*/
export type ReplayControl = {
	/** The recorded host, as the recorder named it. */
	readonly host: string;
	/** Polls recorded. */
	readonly count: number;
	/** The poll to show first. */
	readonly start: number;
	/** Polls that show an event worth jumping to, ascending. */
	readonly jumps: readonly number[];
	/** Time of a poll, ms since the epoch. */
	timeAt(index: number): number;
	historyAt(index: number): History;
	/** Said once on the status line when the replay opens (a torn last record), else null. */
	readonly warning: string | null;
};

/** Where the dashboard's snapshots come from: the host, a tree on disk, or the emulator. */
export type Feed = {
	/** Named in the header at all times: host / tree DIR / emulator SCENARIO. */
	readonly source: SourceInfo;
	/** One scan; synchronous. `threads: 'all'` only while the all-threads view is on. */
	poll(options: ScanOptions): Snapshot;
	/** The same scan with its thread walk off the main thread where the source can (the poller's choice). */
	pollAsync?(options: ScanOptions): Promise<Snapshot>;
	/** A snapshot's `threadTable` nobody reads any more: a later poll may reuse its memory (`Reader.recycle`). */
	recycle?(table: ThreadTable): void;
	/** Stop whatever drives the source (the emulator's real-time clock). */
	close?(): void;
	/**
	What acts on this source (the same engine and guards as the subcommands). Absent: this source
	cannot be acted on, and the action keys say so.
	*/
	readonly actions?: ActionContext | null;
	/** A recording instead of a live source; absent for live feeds. */
	readonly replay?: ReplayControl | null;
};
