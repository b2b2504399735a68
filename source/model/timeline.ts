/**
The current (or last) transition over time, kept in `History.timeline` and folded from the history's
own events poll by poll, live and in a replay alike: pending threads per poll and the moments that
matter, bounded (ARCHITECTURE.md, Recordings).
*/
import type {
	HistoryEvent,
	TimelineMark,
	TimelineMarkKind,
	TransitionProgress,
	TransitionTimeline,
} from './types.js';

export const maxTimelineSamples = 512;

/**
An action belongs to a transition from a second before its start to this long after its end: an
audit entry is written when the action is over (a nudge waits up to ~1.5 s for its thread to switch),
and the transition it ended may have completed meanwhile.
*/
export const actionSlackMs = 5000;
export const maxTimelineMarks = 100;

const markOf: Partial<Record<HistoryEvent['kind'], TimelineMarkKind>> = {
	'transition-started': 'started',
	'fake-signal': 'fake-signal',
	'transition-reversed': 'reversed',
	'transition-forced': 'forced',
	'transition-completed': 'completed',
};

/** A fake-signal mark this close to another is the same round (the kernel's line and the estimate). */
const sameRoundMs = 3000;

function addMark(marks: TimelineMark[], mark: TimelineMark): void {
	if (mark.kind === 'fake-signal') {
		const twin = marks.findIndex(
			(m) => m.kind === 'fake-signal' && Math.abs(m.time - mark.time) < sameRoundMs,
		);
		if (twin >= 0) {
			// The kernel's own line wins over the 15 s estimate.
			if (mark.text.includes('kernel log')) marks[twin] = mark;
			return;
		}
	}

	marks.push(mark);
	if (marks.length > maxTimelineMarks) {
		const oldestRound = marks.findIndex((m) => m.kind === 'fake-signal');
		marks.splice(oldestRound >= 0 ? oldestRound : 0, 1);
	}
}

function thin<T>(samples: T[]): T[] {
	if (samples.length <= maxTimelineSamples) return samples;
	// Keep the last sample (the current value) and every other one before it.
	const last = samples.at(-1)!;
	const kept = samples.filter((_, i) => i % 2 === 0);
	if (kept.at(-1) !== last) kept.push(last);
	return kept;
}

/**
The timeline after one poll: `fresh` are the events this poll added to the history, `progress` the
transition as the history now sees it (null: none runs). Pure.
*/
export function foldTimeline(
	previous: TransitionTimeline | null,
	fresh: readonly HistoryEvent[],
	progress: TransitionProgress | null,
	now: number,
): TransitionTimeline | null {
	let timeline = previous;
	const started = fresh.find((event) => event.kind === 'transition-started');
	const open = timeline !== null && timeline.endedAt === null;
	if (progress !== null && (!open || started !== undefined || timeline!.patch !== progress.patch)) {
		timeline = {
			patch: progress.patch,
			direction: progress.direction,
			startedAt: progress.startedAt ?? now,
			endedAt: null,
			samples: [],
			marks: [],
		};
	}

	if (timeline === null) return null;
	if (timeline.endedAt !== null && progress === null && fresh.length === 0) return timeline;
	const marks = [...timeline.marks];
	let endedAt = timeline.endedAt;
	for (const event of fresh) {
		const kind = markOf[event.kind];
		if (kind === undefined || (event.patch !== null && event.patch !== timeline.patch)) continue;
		if (kind === 'completed') {
			if (endedAt !== null) continue;
			endedAt = event.time;
		} else if (endedAt !== null) {
			continue;
		}

		addMark(marks, {time: event.time, kind, text: event.text});
	}

	const samples =
		progress !== null && progress.patch === timeline.patch
			? thin([...timeline.samples, {time: now, pending: progress.pending}])
			: timeline.samples;
	if (progress === null && endedAt === null) {
		// Gone without a completion event (the history always emits one; belt and braces).
		endedAt = now;
	}

	return {...timeline, endedAt, samples, marks};
}
