import {useEffect, useRef} from 'react';
import {foldSnapshot} from '../model/history.js';
import type {History, ScanOptions, Snapshot, ThreadTable} from '../model/types.js';

export type PollFeed = {
	poll(options: ScanOptions): Snapshot;
	/** Preferred when present: the scan's walk runs off this thread, which answers keys meanwhile. */
	pollAsync?(options: ScanOptions): Promise<Snapshot>;
	/** A snapshot's thread table that nobody reads any more (`Feed.recycle`). */
	recycle?(table: ThreadTable): void;
};

/**
The thread table the history on screen (`shown`) shows, once `next` replaces it there: nobody reads it
any more (the dashboard keeps one history; a history's previous snapshot is read for its blockers, by
the fold that made `next`, and as a key, never for its thread table), so the feed may fill it again.
In the all-threads view that is the last poll's table. None when `next` shows the same table.
*/
export function retiredTable(shown: History | null, next: History): ThreadTable | null {
	const table = shown?.snapshot.threadTable ?? null;
	return table === (next.snapshot.threadTable ?? null) ? null : table;
}

export type PollerOptions = {
	readonly feed: PollFeed | null;
	readonly delayS: number;
	readonly paused: boolean;
	readonly threads: ScanOptions['threads'];
	/** Changing this number polls right away (e.g. the all-threads view was just switched on). */
	readonly pollNow: number;
	/** History folded so far (from a scan made before the first frame), or null. */
	readonly initial: History | null;
	/**
	A first scan already under way (started before the first frame, which did not wait for it): the
	first poll folds it instead of scanning. Null: none.
	*/
	readonly firstScan?: Promise<Snapshot> | null;
	/** False: the history was not taken (it would draw the same frame), the one on screen stays. */
	readonly onHistory: (history: History) => boolean;
	readonly onError: (message: string) => void;
	/** After each scan: how long it took and the time from its start to the next one (ms). */
	readonly onTiming?: (timing: PollTiming) => void;
	/** Clock in ms (tests); default `performance.now`. */
	readonly now?: () => number;
};

export type PollTiming = {readonly scanMs: number; readonly periodMs: number};

/**
Milliseconds to wait after a scan that took `scanMs` before the next one, for an interval of
`delayMs`: the interval as asked while scans are short, and never less than the scan itself, so
polling takes at most half of one core however large /proc is. A scan of 100,000 threads in a
transition takes about 0.6 s here, the all-threads view 2 s: with plain intervals the dashboard
would scan back to back, one core busy and keys answered only between scans, on a host already
in trouble. The header shows the stretched interval (`every 1s -> 4.8s`).
*/
export function nextPollDelayMs(delayMs: number, scanMs: number): number {
	return Math.max(50, delayMs - scanMs, scanMs);
}

/**
Let the event loop turn (input, timers) before going on, and let what that input started go first:
a key read meanwhile has React render in an immediate of its own (its scheduler's), queued behind the
first hop but ahead of the second, so the key's frame is drawn before the poll's next turn, not after
it (100,000 threads, all-threads view: issue 12's key to screen).
*/
export function nextTurn(): Promise<void> {
	return new Promise((resolve) => {
		setImmediate(() => setImmediate(resolve));
	});
}

/**
Poll the feed every `delayS` seconds (stretched for slow scans: `nextPollDelayMs`) and fold each
snapshot into the history. Pausing stops the
timer; every cleanup clears it, so nothing keeps the process alive after the dashboard exits.

Each (re)start polls at once (resume, interval change, all-threads on), except the very first when
an initial history was scanned before the first frame. A scan that throws is reported, not fatal:
the next tick tries again (htop shows a failed update the same way).

A feed with `pollAsync` is polled through it: on a large /proc the walk runs on the host port's
helper thread, and keys are answered while it runs (a synchronous scan of 100,000 threads held them
for 0.5-0.9 s). Scans of a feed never overlap. One that ends after its effect was cleaned up is still
folded, since it read kernel log lines no later scan sees again; only unmounting or a new feed drops it.
*/
export function usePoller(options: PollerOptions): void {
	const {feed, delayS, paused, threads, pollNow} = options;
	const history = useRef<History | null>(options.initial);
	const skipFirst = useRef(options.initial !== null);
	const firstScan = useRef(options.firstScan ?? null);
	const firstFeed = useRef(options.feed);
	const callbacks = useRef(options);
	callbacks.current = options;
	const historyFeed = useRef(feed);
	/** The async scan under way and its feed, if any (it outlives the effect that started it). */
	const inFlight = useRef<{feed: PollFeed; done: Promise<void>} | null>(null);
	const mounted = useRef(true);
	/** The history last taken for the screen, and the feed it came from (whose tables it holds). */
	const onScreen = useRef<{feed: PollFeed; history: History} | null>(null);
	useEffect(() => {
		mounted.current = true;
		return () => {
			mounted.current = false;
		};
	}, []);

	useEffect(() => {
		if (feed === null || paused) {
			return;
		}

		if (historyFeed.current !== feed) {
			// A new source (the emulator opened from the no-livepatch screen) starts a new history.
			historyFeed.current = feed;
			history.current = null;
		}

		const now = callbacks.current.now ?? (() => performance.now());
		let stopped = false;
		/** Hand `after` on; once it is on screen, give back the table the screen no longer shows. */
		const show = (after: History) => {
			if (!callbacks.current.onHistory(after)) return;
			const shown = onScreen.current?.feed === feed ? onScreen.current.history : null;
			const retired = retiredTable(shown, after);
			if (retired !== null) feed.recycle?.(retired);
			onScreen.current = {feed, history: after};
		};

		const fold = (snapshot: Snapshot) => {
			history.current = foldSnapshot(history.current, snapshot);
			show(history.current);
		};

		const fail = (error: unknown) => {
			callbacks.current.onError(error instanceof Error ? error.message : String(error));
		};

		/** One scan, then `then(its duration)`; nothing once this effect is cleaned up. */
		const tick = (then: (scanMs: number) => void) => {
			let start = now();
			if (feed.pollAsync === undefined) {
				try {
					fold(feed.poll({threads}));
				} catch (error) {
					fail(error);
				}

				then(now() - start);
				return;
			}

			// Never two scans of a feed at once: a restart (pause, `+`, the all-threads view) waits for
			// the one still walking. That one is folded all the same (it holds kernel log lines no later
			// scan reads again), unless the poller is gone or its feed was replaced.
			const wanted = () => mounted.current && historyFeed.current === feed;
			const previous = inFlight.current?.feed === feed ? inFlight.current.done : Promise.resolve();
			// The scan started before the first frame (of the first feed only), else a new one.
			const started = feed === firstFeed.current ? firstScan.current : null;
			firstScan.current = null;
			const scanning = previous
				.then(async () => {
					if (stopped && started === null) return;
					start = now();
					const snapshot = await (started ?? feed.pollAsync!({threads}));
					// The scan's own end (its result received, its blockers analysed), the fold, and the rows
					// derived for it (`onHistory`) each take a turn of their own: no one turn holds a key for
					// all three (100,000 threads in the all-threads view: issue 12).
					await nextTurn();
					if (!wanted()) return;
					history.current = foldSnapshot(history.current, snapshot);
					await nextTurn();
					if (wanted()) show(history.current);
				})
				.catch((error: unknown) => {
					if (wanted()) fail(error);
				})
				.then(() => {
					if (inFlight.current?.done === scanning) inFlight.current = null;
					if (!stopped) then(now() - start);
				});
			inFlight.current = {feed, done: scanning};
		};

		let timer: ReturnType<typeof setTimeout> | undefined;
		const schedule = (scanMs: number) => {
			const waitMs = nextPollDelayMs(delayS * 1000, scanMs);
			callbacks.current.onTiming?.({scanMs, periodMs: scanMs + waitMs});
			timer = setTimeout(() => {
				tick(schedule);
			}, waitMs);
		};

		if (skipFirst.current) {
			skipFirst.current = false;
			schedule(0);
		} else {
			tick(schedule);
		}

		return () => {
			stopped = true;
			clearTimeout(timer);
		};
	}, [feed, delayS, paused, threads, pollNow]);
}
