/**
The post-mortem of a recording (`klptop report`): each transition, its blockers and how long they
held it, what was done, the outcome. Built from the dashboard's own fold, so every figure is one the
dashboard showed. Strings stay raw: the writers sanitise them.
*/
import {blockerKey} from '../model/types.js';
import type {
	Direction,
	History,
	HistoryEvent,
	LastTransition,
	TaskClass,
	TimelineMarkKind,
	TransitionProgress,
	TransitionTimeline,
} from '../model/types.js';
import {actionSlackMs} from '../model/timeline.js';
import type {AuditEntry} from '../state/audit.js';
import {auditEvent} from '../state/audit.js';
import type {Recording} from './load.js';
import {foldRecording, freshEvents} from './replay.js';

export type BlockerEnd = 'switched' | 'exited' | 'reversal' | 'transition ended' | 'still blocking';

export type BlockerReport = {
	readonly tid: number;
	readonly tgid: number;
	readonly comm: string;
	readonly kthread: boolean;
	/** The patched function it slept in (the last one seen), null when none was found. */
	readonly function: string | null;
	readonly object: string | null;
	readonly class: TaskClass;
	/** When it started holding the transition back (the start of the direction when known), ms. */
	readonly from: number;
	/** The first poll that no longer listed it, or the end of the transition or recording, ms. */
	readonly until: number;
	readonly heldS: number;
	readonly ended: BlockerEnd;
};

export type TransitionMark = {
	readonly time: number;
	readonly kind: TimelineMarkKind | 'action';
	readonly text: string;
};

export type TransitionReport = {
	readonly patch: string;
	/** Direction at the start. */
	readonly direction: Direction;
	/** Direction at the end (differs after an odd number of reversals). */
	readonly finalDirection: Direction;
	/** ms since the epoch; with `startedFrom` 'first-seen' only a bound (the recording began during it). */
	readonly startedAt: number;
	readonly startedFrom: TransitionProgress['startedFrom'];
	/** null: still running when the recording ended. */
	readonly endedAt: number | null;
	readonly outcome: LastTransition['outcome'] | 'still running';
	readonly durationS: number;
	readonly reversals: number;
	readonly total: number;
	readonly pendingAtStart: number;
	readonly pendingAtEnd: number;
	/** Longest held first. */
	readonly blockers: readonly BlockerReport[];
	/** Started, fake-signal rounds, reversals, force, completion (the history's timeline) and our actions. */
	readonly marks: readonly TransitionMark[];
	readonly actions: ReadonlyArray<{readonly time: number; readonly entry: AuditEntry}>;
	/** Pending threads per recorded poll (thinned past `maxTimelineSamples`, as the history keeps them). */
	readonly samples: ReadonlyArray<{readonly time: number; readonly pending: number}>;
};

export type Report = {
	readonly file: string;
	readonly host: string;
	readonly kernel: string | null;
	readonly from: number;
	readonly to: number;
	readonly polls: number;
	/** How the recording ended: the recorder's reason, or null (killed, or still running). */
	readonly endReason: string | null;
	readonly warnings: readonly string[];
	readonly transitions: readonly TransitionReport[];
};

type Open = {
	patch: string;
	direction: Direction;
	startedAt: number;
	startedFrom: TransitionProgress['startedFrom'];
	total: number;
	pendingAtStart: number;
	/** The history's timeline of this transition (samples and marks), as of its last poll. */
	timeline: TransitionTimeline | null;
	blockers: Map<string, BlockerReport>;
	/** Keys listed by the previous poll. */
	listed: Set<string>;
	last: TransitionProgress;
};

function endBlockers(open: Open, keys: Iterable<string>, until: number, ended: BlockerEnd): void {
	for (const key of keys) {
		const blocker = open.blockers.get(key);
		if (blocker === undefined || blocker.ended !== 'still blocking') continue;
		open.blockers.set(key, {...blocker, until, heldS: Math.max(0, (until - blocker.from) / 1000), ended});
	}
}

function close(
	open: Open,
	endedAt: number | null,
	outcome: TransitionReport['outcome'],
	recording: Recording,
	completion: TransitionMark | null,
): TransitionReport {
	const samples = open.timeline?.samples ?? [];
	const end = endedAt ?? samples.at(-1)?.time ?? open.startedAt;
	// Those still listed held it to the end (of the transition, or of the recording).
	endBlockers(
		open,
		[...open.blockers.keys()],
		end,
		outcome === 'still running' ? 'still blocking' : 'transition ended',
	);

	const actions = recording.actions.filter(
		(action) => action.time >= open.startedAt - 1000 && action.time <= end + actionSlackMs,
	);
	const marks: TransitionMark[] = [...(open.timeline?.marks ?? [])];
	if (completion !== null && !marks.some((mark) => mark.kind === 'completed')) marks.push(completion);
	for (const {time, entry} of actions) marks.push({time, kind: 'action', text: auditEvent(entry).text});
	return {
		patch: open.patch,
		direction: open.direction,
		finalDirection: open.last.direction,
		startedAt: open.startedAt,
		startedFrom: open.startedFrom,
		endedAt,
		outcome,
		durationS: Math.max(0, (end - open.startedAt) / 1000),
		reversals: open.last.reversals,
		total: open.total,
		pendingAtStart: open.pendingAtStart,
		pendingAtEnd: outcome === 'still running' ? open.last.pending : 0,
		blockers: [...open.blockers.values()].sort((a, b) => b.heldS - a.heldS || a.tid - b.tid),
		marks: marks.sort((a, b) => a.time - b.time),
		actions,
		samples,
	};
}

function openTransition(history: History, progress: TransitionProgress): Open {
	return {
		patch: progress.patch,
		direction: progress.direction,
		startedAt: progress.startedAt ?? history.snapshot.time,
		startedFrom: progress.startedFrom,
		total: progress.total,
		pendingAtStart: progress.pending,
		timeline: null,
		blockers: new Map(),
		listed: new Set(),
		last: progress,
	};
}

/** The blockers of this poll into the report: who is listed now, who stopped being listed and why. */
function noteBlockers(current: Open, history: History, fresh: readonly HistoryEvent[]): void {
	const now = history.snapshot.time;
	const reversed = fresh.some((event) => event.kind === 'transition-reversed');
	const exited = new Set(fresh.filter((event) => event.kind === 'thread-exited').map((event) => event.tid));
	const listed = new Set<string>();
	for (const blocker of history.snapshot.blockers) {
		const key = blockerKey(blocker);
		listed.add(key);
		let known = current.blockers.get(key);
		if (known !== undefined && known.ended !== 'still blocking') {
			// Blocking again (after a reversal, say): the earlier span stays a row of its own.
			current.blockers.set(`${key}@${known.from}`, known);
			known = undefined;
		}

		current.blockers.set(key, {
			tid: blocker.tid,
			tgid: blocker.tgid,
			comm: blocker.comm,
			kthread: blocker.kthread,
			function: blocker.function ?? known?.function ?? null,
			object: blocker.function === null ? (known?.object ?? null) : blocker.object,
			class: blocker.class,
			from: known?.from ?? history.blockers.get(key)?.firstSeen ?? now,
			until: now,
			heldS: 0,
			ended: 'still blocking',
		});
	}

	for (const key of current.listed) {
		if (listed.has(key)) continue;
		const tid = current.blockers.get(key)?.tid ?? -1;
		endBlockers(current, [key], now, exited.has(tid) ? 'exited' : reversed ? 'reversal' : 'switched');
	}

	current.listed = listed;
}

/** Fold the recording once and write down every transition it saw. */
export function buildReport(recording: Recording): Report {
	const transitions: TransitionReport[] = [];
	let open: Open | null = null;
	let first = 0;
	let last = 0;
	let polls = 0;
	foldRecording(recording, (i, _raw, history, previous) => {
		polls++;
		const now = history.snapshot.time;
		if (i === 0) first = now;
		last = now;
		const fresh = freshEvents(previous, history);
		const progress = history.transition;
		// A transition ended by this poll (possibly with a new one already running).
		const completed = fresh.find((event) => event.kind === 'transition-completed');
		if (open !== null && (completed !== undefined || progress === null || progress.patch !== open.patch)) {
			const ended = history.lastTransition;
			// The history's timeline has moved on when another transition started in the same poll.
			if (history.timeline?.patch === open.patch && history.timeline.startedAt === open.timeline?.startedAt) {
				open.timeline = history.timeline;
			}

			const completion: TransitionMark | null =
				completed === undefined ? null : {time: completed.time, kind: 'completed', text: completed.text};
			endBlockers(open, open.listed, ended?.endedAt ?? now, 'transition ended');
			transitions.push(
				close(open, ended?.endedAt ?? now, ended?.outcome ?? 'vanished', recording, completion),
			);
			open = null;
		}

		if (progress === null) return;
		open ??= openTransition(history, progress);
		open.last = progress;
		open.total = Math.max(open.total, progress.total);
		open.timeline = history.timeline ?? null;
		noteBlockers(open, history, fresh);
	});

	if (open !== null) transitions.push(close(open, null, 'still running', recording, null));
	const {header} = recording;
	return {
		file: recording.name,
		host: header.host,
		kernel: header.kernel,
		from: first,
		to: recording.end?.time ?? last,
		polls,
		endReason: recording.end?.reason ?? null,
		warnings: recording.warnings,
		transitions,
	};
}
