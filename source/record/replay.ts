/**
A recording as polls visited in any order, each folded exactly as the dashboard folds live
(`foldSnapshot`), with checkpoints so that any poll is a few folds away.
*/
import {foldSnapshot, recordEvent} from '../model/history.js';
import type {History, HistoryEvent, HistoryEventKind, Snapshot} from '../model/types.js';
import {auditEvent} from '../state/audit.js';
import {applyFrame} from './delta.js';
import type {Recording} from './load.js';

export const checkpointEvery = 64;

/** Event kinds the replay can jump to (`[` and `]`). */
export const jumpKinds: ReadonlySet<HistoryEventKind> = new Set([
	'transition-started',
	'transition-reversed',
	'transition-forced',
	'transition-completed',
	'fake-signal',
	'action',
]);

export type JumpPoint = {readonly index: number; readonly event: HistoryEvent};

export type Replay = {
	readonly recording: Recording;
	/** Polls recorded. */
	readonly count: number;
	/** Time of poll `i`, ms since the epoch. */
	timeAt(i: number): number;
	snapshotAt(i: number): Snapshot;
	historyAt(i: number): History;
	/** The last poll at or before `time` (the first poll when `time` is earlier). */
	indexAt(time: number): number;
	/** Events worth jumping to, in time order, with the poll that first shows each. */
	readonly jumps: readonly JumpPoint[];
	/** The poll of the next (or previous) jump point after (before) poll `i`, null when none. */
	nextJump(i: number): number | null;
	previousJump(i: number): number | null;
};

type Point = {readonly raw: Snapshot; readonly history: History};

/** Events folded into `next` that `prev` did not have (events are appended and dropped from the front). */
export function freshEvents(prev: History | null, next: History): readonly HistoryEvent[] {
	const last = prev?.events.at(-1);
	if (last === undefined) return next.events;
	return next.events.slice(next.events.lastIndexOf(last) + 1);
}

/** Visit every poll once, in order (the report's pass); the same folds as `createReplay`. */
export function foldRecording(
	recording: Recording,
	visit: (index: number, snapshot: Snapshot, history: History, previous: History | null) => void,
): void {
	const {header, frames, actions} = recording;
	let raw: Snapshot | null = null;
	let history: History | null = null;
	let action = 0;
	for (let i = 0; i < frames.length; i++) {
		raw = applyFrame(raw, frames[i]!, header.start, header.source, recording.name);
		const previous: History | null = history;
		history = foldActions(foldSnapshot(history, raw), actions, action, raw.time);
		while (action < actions.length && actions[action]!.time <= raw.time) action++;
		visit(i, raw, history, previous);
	}
}

/** Add the recorded actions up to `time`, from `from` on, to the history's events. */
function foldActions(history: History, actions: Recording['actions'], from: number, time: number): History {
	let next = history;
	for (let a = from; a < actions.length && actions[a]!.time <= time; a++) {
		next = recordEvent(next, auditEvent(actions[a]!.entry));
	}

	return next;
}

export function createReplay(recording: Recording): Replay {
	const {header, frames, actions} = recording;
	const count = frames.length;
	const times = frames.map((frame) => header.start + frame.t);
	const checkpoints: Point[] = [];
	const jumps: JumpPoint[] = [];
	foldRecording(recording, (i, raw, history, previous) => {
		if (i % checkpointEvery === 0) checkpoints.push({raw, history});
		for (const event of freshEvents(previous, history)) {
			if (jumpKinds.has(event.kind)) jumps.push({index: i, event});
		}
	});

	/** The first action after `time` (binary search over the sorted actions). */
	const actionAfter = (time: number) => {
		let lo = 0;
		let hi = actions.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (actions[mid]!.time <= time) lo = mid + 1;
			else hi = mid;
		}

		return lo;
	};

	let cursor: {index: number; point: Point} | null = null;
	const pointAt = (index: number): Point => {
		const i = Math.max(0, Math.min(count - 1, Math.floor(index)));
		if (cursor?.index === i) return cursor.point;
		let from = Math.floor(i / checkpointEvery) * checkpointEvery;
		let point = checkpoints[from / checkpointEvery]!;
		if (cursor !== null && cursor.index < i && cursor.index >= from) {
			from = cursor.index;
			point = cursor.point;
		}

		for (let j = from + 1; j <= i; j++) {
			const raw = applyFrame(point.raw, frames[j]!, header.start, header.source, recording.name);
			const history = foldActions(
				foldSnapshot(point.history, raw),
				actions,
				actionAfter(point.raw.time),
				raw.time,
			);
			point = {raw, history};
		}

		cursor = {index: i, point};
		return point;
	};

	const indexAt = (time: number) => {
		let lo = 0;
		let hi = count - 1;
		if (time < times[0]!) return 0;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if (times[mid]! <= time) lo = mid;
			else hi = mid - 1;
		}

		return lo;
	};

	return {
		recording,
		count,
		timeAt: (i) => times[Math.max(0, Math.min(count - 1, i))]!,
		snapshotAt: (i) => pointAt(i).raw,
		historyAt: (i) => pointAt(i).history,
		indexAt,
		jumps,
		nextJump(i) {
			return jumps.find((jump) => jump.index > i)?.index ?? null;
		},
		previousJump(i) {
			return jumps.findLast((jump) => jump.index < i)?.index ?? null;
		},
	};
}
