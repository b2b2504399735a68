/**
The transition over time drawn in text: the patch panel's sparkline and mark row, the patch detail's
transition history. Pure functions of `History.timeline` and the event log's actions.
*/
import {actionSlackMs} from '../model/timeline.js';
import type {HistoryEvent, TimelineMark, TransitionTimeline} from '../model/types.js';

const unicodeLevels = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const asciiLevels = ['_', '.', '-', '~', '=', '+', '*', '#'];

/** The time a timeline spans: its start to its end (or `now`), at least one second. */
export function timelineSpan(timeline: TransitionTimeline, now: number): {start: number; end: number} {
	const end = Math.max(timeline.startedAt + 1000, timeline.endedAt ?? now);
	return {start: timeline.startedAt, end};
}

/** The column (0..width-1) of a time in the span. */
export function columnOf(time: number, start: number, end: number, width: number): number {
	const at = Math.floor(((time - start) / (end - start)) * width);
	return Math.max(0, Math.min(width - 1, at));
}

export function sparkline(timeline: TransitionTimeline, now: number, width: number, ascii: boolean): string {
	if (width <= 0) return '';
	const {start, end} = timelineSpan(timeline, now);
	const levels = ascii ? asciiLevels : unicodeLevels;
	const most = Math.max(1, ...timeline.samples.map((sample) => sample.pending));
	const cells: Array<number | null> = Array.from({length: width}, () => null);
	for (const sample of timeline.samples) {
		const column = columnOf(sample.time, start, end, width);
		cells[column] = Math.max(cells[column] ?? 0, sample.pending);
	}

	// A slice without a poll shows what the last poll before it saw; after an end, nothing is pending.
	let carried: number | null = null;
	const lastPoll = timeline.samples.at(-1)?.time ?? start;
	const lastColumn = columnOf(lastPoll, start, end, width);
	let out = '';
	for (let i = 0; i < width; i++) {
		let value = cells[i];
		if (value === null || value === undefined) {
			value = timeline.endedAt !== null && i > lastColumn ? 0 : carried;
		}

		carried = value;
		out +=
			value === null || value === 0
				? ' '
				: levels[Math.min(levels.length - 1, Math.max(0, Math.ceil((value / most) * levels.length) - 1))]!;
	}

	return out;
}

export type RowMark = {readonly time: number; readonly kind: TimelineMark['kind'] | 'action'};

const markChars: Partial<Record<RowMark['kind'], string>> = {
	'fake-signal': 'S',
	action: 'A',
	reversed: 'R',
	forced: 'F',
};
const markRank: Readonly<Record<string, number>> = {S: 1, A: 2, R: 3, F: 4};

export function markRow(marks: readonly RowMark[], start: number, end: number, width: number): string {
	const cells = Array.from({length: Math.max(0, width)}, () => ' ');
	for (const mark of marks) {
		const char = markChars[mark.kind];
		// An action audited just after the end it caused is drawn at the end (see `actionSlackMs`).
		if (char === undefined || mark.time < start - 1000 || mark.time > end + actionSlackMs) continue;
		const column = columnOf(mark.time, start, end, width);
		if ((markRank[char] ?? 0) > (markRank[cells[column]!] ?? 0)) cells[column] = char;
	}

	return cells.join('');
}

/** The timeline's marks and our actions (events of kind `action`) inside its span, in time order. */
export function timelineMarks(
	timeline: TransitionTimeline,
	events: readonly HistoryEvent[],
	now: number,
): Array<RowMark & {readonly text: string}> {
	const {start, end} = timelineSpan(timeline, now);
	const actions = events
		.filter(
			(event) => event.kind === 'action' && event.time >= start - 1000 && event.time <= end + actionSlackMs,
		)
		.map((event) => ({time: event.time, kind: 'action' as const, text: event.text}));
	return [...timeline.marks, ...actions].sort((a, b) => a.time - b.time);
}

const historyWords: Readonly<Record<RowMark['kind'], string>> = {
	started: 'started',
	'fake-signal': 'signalled',
	reversed: 'reversed',
	forced: 'forced',
	completed: 'completed',
	action: 'our action',
};

export type HistoryLine = {readonly time: number; readonly word: string; readonly text: string};

/**
The patch detail's transition history, at most `max` lines: every mark but the fake-signal rounds
after the first two, which one line sums up (they come every 15 s and would crowd the rest out).
*/
export function transitionHistory(
	marks: ReadonlyArray<RowMark & {readonly text: string}>,
	max: number,
): HistoryLine[] {
	const rounds = marks.filter((mark) => mark.kind === 'fake-signal');
	const shownRounds = new Set(rounds.slice(0, 2));
	const lines: HistoryLine[] = [];
	for (const mark of marks) {
		if (mark.kind === 'fake-signal' && !shownRounds.has(mark)) continue;
		lines.push({time: mark.time, word: historyWords[mark.kind], text: mark.text});
	}

	if (rounds.length > 2) {
		const last = rounds.at(-1)!;
		const summary = {
			time: last.time,
			word: 'signalled',
			text: `${rounds.length - 2} more fake-signal rounds, the last one here`,
		};
		const at = lines.findIndex((line) => line.time > last.time);
		lines.splice(at < 0 ? lines.length : at, 0, summary);
	}

	return lines.length > max ? [...lines.slice(0, Math.max(0, max - 1)), lines.at(-1)!] : lines;
}
