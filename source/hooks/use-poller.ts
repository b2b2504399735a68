import {useEffect, useRef} from 'react';
import {foldSnapshot} from '../model/history.js';
import type {History, ScanOptions, Snapshot} from '../model/types.js';

export type PollFeed = {poll(options: ScanOptions): Snapshot};

export type PollerOptions = {
	readonly feed: PollFeed | null;
	readonly delayS: number;
	readonly paused: boolean;
	readonly threads: ScanOptions['threads'];
	/** Changing this number polls right away (e.g. the all-threads view was just switched on). */
	readonly pollNow: number;
	/** History folded so far (from a scan made before the first frame), or null. */
	readonly initial: History | null;
	readonly onHistory: (history: History) => void;
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
Poll the feed every `delayS` seconds (stretched for slow scans: `nextPollDelayMs`) and fold each
snapshot into the history. Pausing stops the
timer; every cleanup clears it, so nothing keeps the process alive after the dashboard exits.

Each (re)start polls at once (resume, interval change, all-threads on), except the very first when
an initial history was scanned before the first frame. A scan that throws is reported, not fatal:
the next tick tries again (htop shows a failed update the same way).
*/
export function usePoller(options: PollerOptions): void {
	const {feed, delayS, paused, threads, pollNow} = options;
	const history = useRef<History | null>(options.initial);
	const skipFirst = useRef(options.initial !== null);
	const callbacks = useRef(options);
	callbacks.current = options;
	const historyFeed = useRef(feed);

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
		const tick = (): number => {
			const start = now();
			try {
				const snapshot = feed.poll({threads});
				history.current = foldSnapshot(history.current, snapshot);
				callbacks.current.onHistory(history.current);
			} catch (error) {
				callbacks.current.onError(error instanceof Error ? error.message : String(error));
			}

			return now() - start;
		};

		let timer: ReturnType<typeof setTimeout> | undefined;
		const schedule = (scanMs: number) => {
			const waitMs = nextPollDelayMs(delayS * 1000, scanMs);
			callbacks.current.onTiming?.({scanMs, periodMs: scanMs + waitMs});
			timer = setTimeout(() => {
				schedule(tick());
			}, waitMs);
		};

		if (skipFirst.current) {
			skipFirst.current = false;
			schedule(0);
		} else {
			schedule(tick());
		}

		return () => {
			clearTimeout(timer);
		};
	}, [feed, delayS, paused, threads, pollNow]);
}
