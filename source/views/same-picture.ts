/**
Whether a new poll changes nothing the main screen draws from the history (issue 12: an idle dashboard
at `-d 1` must cost under 1% of a core, and React's render plus Ink's output pass of a frame that came
out the same were half of it). Only where no transition runs, before or after: a running one moves its
elapsed time, its countdown and its sparkline every second anyway. The header's one word of time (the
last transition's age, `lastTransitionWords`) is compared as the header prints it, so the screen
moves when it does (every minute after the first).

What the views read of a history is compared; what they do not read is not (the scan's time and
cost, the kernel log's raw lines, the retry phase, the poll count, the previous snapshot). The
caller decides for the screens this covers: the main one without the all-threads view.
*/
import type {History, Snapshot} from '../model/types.js';
import {lastTransitionWords} from './header.js';

const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** What the views read of a snapshot, where no transition runs and no thread list was asked for. */
function drawn(snapshot: Snapshot): unknown {
	return [
		snapshot.source,
		snapshot.kernel,
		snapshot.privileges,
		snapshot.patches,
		snapshot.tasks,
		snapshot.blockers,
		snapshot.leftoverModules ?? null,
		snapshot.warnings,
	];
}

export function samePicture(shown: History, next: History): boolean {
	const idle = (h: History) =>
		h.transition === null &&
		h.snapshot.transition === null &&
		h.snapshot.threads === null &&
		(h.snapshot.threadTable ?? null) === null;
	if (!idle(shown) || !idle(next)) return false;
	if (shown.hiddenBlocker !== next.hiddenBlocker || shown.invisiblePolls !== next.invisiblePolls)
		return false;
	// Events are appended, never edited: the same count and the same newest one are the same log.
	if (shown.events.length !== next.events.length || shown.events.at(-1) !== next.events.at(-1)) return false;
	if (shown.blockers.size !== next.blockers.size) return false;
	return (
		lastTransitionWords(shown) === lastTransitionWords(next) &&
		sameJson(shown.lastTransition, next.lastTransition) &&
		sameJson(shown.timeline ?? null, next.timeline ?? null) &&
		sameJson(drawn(shown.snapshot), drawn(next.snapshot))
	);
}
