import type {ActionContext} from '../actions/index.js';
import type {ScanOptions, Snapshot, SourceInfo} from '../model/types.js';

/** Where the dashboard's snapshots come from: the host, a tree on disk, or the emulator. */
export type Feed = {
	/** Named in the header at all times: host / tree DIR / emulator SCENARIO. */
	readonly source: SourceInfo;
	/** One scan; synchronous. `threads: 'all'` only while the all-threads view is on. */
	poll(options: ScanOptions): Snapshot;
	/** The same scan with its thread walk off the main thread where the source can (the poller's choice). */
	pollAsync?(options: ScanOptions): Promise<Snapshot>;
	/** Stop whatever drives the source (the emulator's real-time clock). */
	close?(): void;
	/**
	What acts on this source (the same engine and guards as the subcommands). Absent: this source
	cannot be acted on, and the action keys say so.
	*/
	readonly actions?: ActionContext | null;
};
