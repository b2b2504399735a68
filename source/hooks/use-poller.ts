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
};

/**
Poll the feed every `delayS` seconds and fold each snapshot into the history. Pausing stops the
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

		const tick = () => {
			try {
				const snapshot = feed.poll({threads});
				history.current = foldSnapshot(history.current, snapshot);
				callbacks.current.onHistory(history.current);
			} catch (error) {
				callbacks.current.onError(error instanceof Error ? error.message : String(error));
			}
		};

		if (skipFirst.current) {
			skipFirst.current = false;
		} else {
			tick();
		}

		const timer = setInterval(tick, Math.max(50, delayS * 1000));
		return () => {
			clearInterval(timer);
		};
	}, [feed, delayS, paused, threads, pollNow]);
}
