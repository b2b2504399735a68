/**
Fold successive snapshots into a `History`: a pure function of (previous history, new snapshot),
run as named steps (`foldSnapshot`). It dates the transition start, reversals, force and the
kernel's fake-signal rounds, keeps stuck time per blocker (`tid:starttime`) and the event log.
How good each estimate is (midpoint, kernel log, first seen): ARCHITECTURE.md (What the history
estimates).
*/
import type {
	Blocker,
	BlockerMemory,
	Direction,
	History,
	HistoryEvent,
	HistoryEventKind,
	KernelLogLine,
	LastTransition,
	RetryCount,
	RetryPhase,
	Snapshot,
	ThreadInfo,
	ThreadTable,
	TransitionInfo,
	TransitionProgress,
} from './types.js';
import {blockerKey, threadAt, upperBound} from './types.js';
import {kernelLogTime, parseLivepatchLine} from './kernel-log.js';
import {foldTimeline} from './timeline.js';

/** Routine events kept (kernel log lines, thread switches, warnings). @default 500 */
export const defaultMaxEvents = 500;

/**
Milestones kept, beside the routine events: transition start, end, reversal and force, fake-signal
rounds, patches appearing and disappearing, actions. They are few (a handful per transition), so a
bounded log never lets the routine lines push them out.
*/
export const maxMilestones = 200;

/** Fake-signal period of the kernel (transition.c `SIGNALS_TIMEOUT`), seconds. */
export const signalPeriodS = 15;

/** Polls whose pending counts feed `ratePerS`. */
export const rateWindow = 5;

/** Per-thread events emitted per poll and kind before the rest are summarised in one event. */
export const maxThreadEventsPerPoll = 20;

/** Clock ticks per second of `starttime` (USER_HZ, 100 on every mainstream architecture). */
const userHz = 100;

export type FoldOptions = {
	/** Bound on the routine events of `History.events`, oldest dropped first (milestones have their own). @default 500 */
	readonly maxEvents?: number;
};

export type ProgressSample = {readonly time: number; readonly pending: number};

/** What `foldSnapshot` actually stores in `History.transition`. */
export type TrackedTransition = TransitionProgress & {
	/** Time of the kernel's `forcing remaining tasks` line for this transition, null when not seen. */
	readonly forcedAt?: number | null;
	/** Recent (time, pending) pairs of the current direction, oldest first, at most `rateWindow`. */
	readonly samples?: readonly ProgressSample[];
};

// ---------------------------------------------------------------------------------------------------
// Kernel generation

/**
Whether the kernel sends fake signals on its own (5.1+). From the release when it parses; for an
unknown release, assume yes unless some patch has the `signal` file, which exists only on 4.16-5.0.
*/
export function kernelSendsFakeSignals(snapshot: Snapshot): boolean {
	if (snapshot.patches.some((p) => p.hasSignal)) {
		return false;
	}

	const m = /^(\d+)\.(\d+)/.exec(snapshot.kernel.release ?? '');
	if (!m) {
		return true;
	}

	const major = Number(m[1]);
	const minor = Number(m[2]);
	return major > 5 || (major === 5 && minor >= 1);
}

// ---------------------------------------------------------------------------------------------------
// When the kernel retries, and so when it signals

/** Retry-aligned samples kept (one per retry); the phase is their medoid. */
const retrySamples = 9;

/** Within this much of a start line, a task line is the start's own synchronous attempt (s). */
const syncWindowS = 0.75;

/** Lines this close together (s) belong to one attempt: the kernel prints them in one walk of the tasks. */
const sameAttemptS = 0.5;

/**
The number of the retry that sends fake-signal round `k`: the kernel signals at every 15th failed attempt
of a direction, counted from the start's own attempt (0), so at retry 15k; a reversal resets the count
and its first retry is attempt 0, so round k comes at its retry 15k + 1.
*/
const roundRetry = (k: number, reversal: boolean): number => k * signalPeriodS + (reversal ? 1 : 0);

const frac = (x: number): number => x - Math.floor(x);
const circularGap = (a: number, b: number): number => Math.min(frac(a - b), frac(b - a));

/**
Learn where inside a second of the kernel log clock the livepatch retries run. After a transition's
first attempt (inside `insmod` or the write to `enabled`), the kernel retries from delayed work queued
with `round_jiffies_relative(HZ)`: on whole seconds of jiffies, whose phase against the log clock is
fixed for a boot but differs from boot to boot. The lines printed at a retry date it: the first
`signaling remaining tasks`, and with dynamic debug each retry's `klp_try_switch_task:` lines (not
those of a start's own first attempt, printed within `syncWindowS` of its `starting` line).
*/
export function learnRetryPhase(
	previous: RetryPhase | null,
	lines: readonly KernelLogLine[],
	bootTime: number | null,
): RetryPhase | null {
	let state: RetryPhase | null = previous !== null && previous.bootTime === bootTime ? previous : null;
	for (const line of lines) {
		const at = line.bootSeconds;
		if (at === null || !Number.isFinite(at)) {
			continue;
		}

		const rec = parseLivepatchLine(line.text);
		state ??= {
			bootTime,
			samples: [],
			lastSampleS: null,
			syncAttemptS: null,
			reversingS: null,
			firstRetryS: null,
		};
		const fresh = (reversal: boolean): RetryCount => ({
			sinceS: at,
			reversal,
			retries: 0,
			lastS: null,
			dense: false,
			roundsS: [],
		});
		if (rec.kind === 'reversing') {
			state = {
				...state,
				reversingS: at,
				syncAttemptS: null,
				syncLineS: null,
				awaitingSync: false,
				firstRetryS: null,
				count: fresh(true),
			};
		} else if (rec.kind === 'starting') {
			const afterReversal = state.reversingS !== null && at - state.reversingS < syncWindowS;
			state = afterReversal
				? state
				: {
						...state,
						syncAttemptS: at,
						syncLineS: null,
						awaitingSync: true,
						firstRetryS: null,
						count: fresh(false),
					};
		} else if (rec.kind === 'task' || rec.kind === 'signaling') {
			// A start's own first attempt: its first task lines (on 6.4+ they can come a second after the
			// `starting` line, once the static calls are rewritten), else lines just after the start.
			let count = state.count ?? null;
			const syncNow = rec.kind === 'task' && state.awaitingSync === true;
			if (syncNow) {
				// Its task lines show that every attempt prints them (dynamic debug): the count is the kernel's.
				count = count ? {...count, dense: true} : null;
				state = {...state, awaitingSync: false, syncLineS: at, attemptsPrinted: true, count};
			}

			const syncLine = state.syncLineS ?? null;
			const inSync =
				(syncLine !== null && at >= syncLine && at - syncLine < sameAttemptS) ||
				(state.syncAttemptS !== null && at >= state.syncAttemptS && at - state.syncAttemptS < syncWindowS);
			const sameRetry = state.lastSampleS !== null && Math.abs(at - state.lastSampleS) < sameAttemptS;
			if (!inSync && !sameRetry) {
				// The direction's first retry, once it lies on the phase learnt so far: it dates round 1 exactly.
				const phase = retryPhaseS(state);
				const first =
					state.firstRetryS === null && (phase === null || circularGap(frac(at), phase) < 0.15)
						? at
						: state.firstRetryS;
				if (count) {
					// A reversal's first retry printing task lines: dynamic debug, every retry counted.
					const dense = count.dense || (count.reversal && count.retries === 0 && rec.kind === 'task');
					if (dense) {
						state = {...state, attemptsPrinted: true};
					}

					const retries = count.retries + 1;
					const round = retries % signalPeriodS === (count.reversal ? 1 : 0) && retries > 1;
					count = {
						...count,
						dense,
						retries,
						lastS: at,
						roundsS: dense && round ? [...count.roundsS, at] : count.roundsS,
					};
				}

				state = {
					...state,
					samples: [...state.samples, frac(at)].slice(-retrySamples),
					lastSampleS: at,
					firstRetryS: first,
					count,
				};
			}

			if (rec.kind === 'signaling' && state.count) {
				// Printed at round 1 only, by the retry that sends it: that retry's number is known.
				state = {
					...state,
					count: {...state.count, retries: roundRetry(1, state.count.reversal), lastS: at, roundsS: [at]},
				};
			}
		}
	}

	return state;
}

/** The phase (fraction of a second) of the retries: the medoid of the samples, null before any. */
export function retryPhaseS(retry: RetryPhase | null | undefined): number | null {
	let best: number | null = null;
	let bestCost = Number.POSITIVE_INFINITY;
	for (const candidate of retry?.samples ?? []) {
		const cost = retry!.samples.reduce((sum, other) => sum + circularGap(candidate, other), 0);
		if (cost < bestCost) {
			best = candidate;
			bestCost = cost;
		}
	}

	return best;
}

/**
The retry phase, the boot time that maps the kernel log clock to wall time, and the latest direction's
first retry where the log showed it.
*/
export type RetryClock = {
	readonly phaseS: number;
	readonly bootTime: number;
	readonly firstRetryS: number | null;
	/** The latest direction's retries counted from the log, where it showed them. */
	readonly count?: RetryCount | null;
	/**
	The latest start's own first attempt on the log clock: its task lines where seen; while the kernel is known
	to print them (dynamic debug) and has not yet, no earlier than the log was read (`readS`).
	*/
	readonly attemptS?: number | null;
	readonly awaitingAttempt?: boolean;
	readonly readS?: number | null;
};

/** `now`: the poll's time (ms), which the log was read up to. */
export function retryClockOf(
	retry: RetryPhase | null | undefined,
	bootTime: number | null,
	now: number | null = null,
): RetryClock | null {
	const phaseS = retryPhaseS(retry);
	return phaseS === null || bootTime === null
		? null
		: {
				phaseS,
				bootTime,
				firstRetryS: retry?.firstRetryS ?? null,
				count: retry?.count ?? null,
				attemptS: retry?.syncLineS ?? null,
				awaitingAttempt: retry?.awaitingSync === true && retry.attemptsPrinted === true,
				readS: now === null ? null : (now - bootTime) / 1000,
			};
}

/** How long after its `starting` line a start's first attempt is awaited (s): see `startAttemptS`. */
const attemptWaitMaxS = 10;

/**
When a start (at `sinceS` on the log clock) made its own first attempt, from which its retries count: at
once before 6.4; on 6.4+ only after the preemption static calls are rewritten, seconds later under load.
*/
function startAttemptS(clock: RetryClock, sinceS: number): number {
	const count = clock.count;
	if (!count || count.reversal || Math.abs(count.sinceS - sinceS) >= 3) {
		return sinceS;
	}

	if (clock.attemptS !== null && clock.attemptS !== undefined) {
		return Math.max(sinceS, clock.attemptS);
	}

	// Not yet printed: no earlier than the read, for as long as a rewrite was seen to take (4 s at load) and
	// more; past that its lines were lost or dynamic debug was turned off, and the start line dates it.
	const readS = clock.readS ?? null;
	return clock.awaitingAttempt && readS !== null && readS - sinceS <= attemptWaitMaxS
		? Math.max(sinceS, readS)
		: sinceS;
}

/**
Wall time (ms) of fake-signal round `k` (1, 2, ...) of a direction that began at `since` (a start, or
a reversal when `reversal`). The kernel signals at every 15th failed attempt, counted from the start:
- a start tries once at once (count 1), then retries at the whole second `round_jiffies` makes of
  start + 1 s (rounded down when less than a quarter second past one, else up), and one per second
  after it: round 1 is 14 s after that first retry;
- a reversal tries nothing itself; the pending retry runs at the next whole second with the count
  reset: round 1 is 15 s after it.
The first retry itself, where the log showed it, dates round 1 best: on 6.4+ the first attempt runs
only after the preemption static calls are rewritten, which under emulation took up to a second after
the `starting` line, moving the first retry a whole second on.
Without the phase, every 15 s from `since` (the first round then comes up to about 0.75 s later).
*/
export function fakeSignalRoundAt(
	since: number,
	k: number,
	clock: RetryClock | null,
	reversal: boolean,
): number {
	if (clock === null) {
		return since + k * signalPeriodS * 1000;
	}

	const sinceS = (since - clock.bootTime) / 1000;
	// On the phase's whole second nearest to a retry's line (it comes a little after its second).
	const onPhase = (atS: number): number => atS - (frac(atS - clock.phaseS + 0.5) - 0.5);
	const counted = clock.count;
	if (counted && counted.reversal === reversal && Math.abs(counted.sinceS - sinceS) < 3) {
		const seenS = counted.roundsS[k - 1];
		const lastRoundS = counted.roundsS.at(-1);
		const ahead = roundRetry(k, reversal) - counted.retries;
		if (seenS !== undefined) {
			return clock.bootTime + seenS * 1000;
		}

		if (counted.dense && counted.lastS !== null && ahead > 0) {
			// One retry a second from the latest: a retry that ran late slips the rest by whole seconds.
			return clock.bootTime + (onPhase(counted.lastS) + ahead) * 1000;
		}

		if (!counted.dense && lastRoundS !== undefined) {
			return clock.bootTime + (lastRoundS + (k - counted.roundsS.length) * signalPeriodS) * 1000;
		}
	}

	const retried = clock.firstRetryS;
	let firstS: number;
	if (retried !== null && retried > sinceS && retried < sinceS + 3) {
		firstS = onPhase(retried) + signalPeriodS - (reversal ? 0 : 1);
	} else if (reversal) {
		firstS = sinceS + frac(clock.phaseS - sinceS) + signalPeriodS;
	} else {
		const wanted = startAttemptS(clock, sinceS) + 1;
		const past = frac(wanted - clock.phaseS);
		firstS = wanted - past + (past < 0.25 ? 0 : 1) + signalPeriodS - 1;
	}

	return clock.bootTime + (firstS + (k - 1) * signalPeriodS) * 1000;
}

/** Seconds until the next fake-signal round (see `fakeSignalRoundAt`). */
export function nextSignalIn(
	now: number,
	directionSince: number,
	clock: RetryClock | null = null,
	reversal = false,
): number {
	const first = fakeSignalRoundAt(directionSince, 1, clock, reversal);
	if (now < first) {
		return (first - now) / 1000;
	}

	// The first round after now: about every 15 s, later where the counted retries slipped.
	let k = Math.max(1, Math.floor((now - first) / 1000 / signalPeriodS));
	let at = fakeSignalRoundAt(directionSince, k, clock, reversal);
	while (at <= now) {
		k++;
		at = fakeSignalRoundAt(directionSince, k, clock, reversal);
	}

	return (at - now) / 1000;
}

// ---------------------------------------------------------------------------------------------------
// The fold: one named step per concern, each a pure function of its inputs; `foldSnapshot` runs
// them in order and concatenates their events (the order below is the order of equal-time events).

/**
Working state of one transition while a poll is folded: the previous progress, advanced by the
kernel log lines of this poll (in order), then reconciled with what the snapshot shows.
*/
export type Track = {
	patch: string;
	direction: Direction;
	startedAt: number | null;
	startedFrom: TransitionProgress['startedFrom'];
	directionSince: number | null;
	reversals: number;
	forcedAt: number | null;
	/** The previous poll already tracked it (a start line now only refines the times). */
	carried: boolean;
	/** A `reversing` line was just seen; the `starting` line that follows dates the new direction. */
	reversedByLine: boolean;
	canceled: boolean;
	/** This poll began a new direction (start or reversal): samples and blocker ages restart. */
	freshDirection: boolean;
};

export type Ended = {
	readonly track: Track;
	readonly endedAt: number;
	/** How the end was seen. */
	readonly by: 'log' | 'observed';
	/** Patch still listed in the snapshot (transition 0). */
	readonly patchPresent: boolean;
};

/** An event before it is ordered into the history. */
export type Draft = HistoryEvent;

/** What every step of one fold knows about the poll. */
export type PollContext = {
	readonly snapshot: Snapshot;
	readonly prev: Snapshot | null;
	/** The scan's time. */
	readonly now: number;
	/** Estimated moment of anything that happened between the two scans (their midpoint). */
	readonly between: number;
};

/** The transition being followed, the ones that ended this poll, and the events that said so. */
export type Followed = {
	readonly track: Track | null;
	readonly ended: readonly Ended[];
	readonly events: readonly Draft[];
};

function draft(
	time: number,
	kind: HistoryEventKind,
	patch: string | null,
	tid: number | null,
	text: string,
): Draft {
	return {time, kind, patch, tid, text};
}

/** The working track of a transition the previous poll followed, or null. */
export function carriedTrack(progress: TrackedTransition | null): Track | null {
	return progress
		? {
				patch: progress.patch,
				direction: progress.direction,
				startedAt: progress.startedAt,
				startedFrom: progress.startedFrom,
				directionSince: progress.directionSince,
				reversals: progress.reversals,
				forcedAt: progress.forcedAt ?? null,
				carried: true,
				reversedByLine: false,
				canceled: false,
				freshDirection: false,
			}
		: null;
}

/** A step's own copy of what it changes: callers' tracks and lists are never modified. */
type Working = {track: Track | null; ended: Ended[]; events: Draft[]};

function working(from: Followed): Working {
	return {track: from.track && {...from.track}, ended: [...from.ended], events: [...from.events]};
}

function endTrack(w: Working, poll: PollContext, endedAt: number, by: Ended['by']): void {
	const track = w.track;
	if (track) {
		const patchPresent = poll.snapshot.patches.some((p) => p.name === track.patch && !p.transition);
		w.ended.push({track, endedAt, by, patchPresent});
		w.track = null;
	}
}

function newTrack(patch: string, direction: Direction, at: number | null, from: Track['startedFrom']): Track {
	return {
		patch,
		direction,
		startedAt: at,
		startedFrom: from,
		directionSince: from === 'first-seen' ? null : at,
		reversals: 0,
		forcedAt: null,
		carried: false,
		reversedByLine: false,
		canceled: false,
		freshDirection: true,
	};
}

function reverseTrack(track: Track, to: Direction, at: number | null): void {
	track.direction = to;
	track.reversals += 1;
	track.directionSince = at;
	track.freshDirection = true;
}

/**
Step 1: the kernel log of this poll, in order. Each livepatch line becomes a `kernel-log` event, and
the lifecycle lines (starting, reversing, canceling, complete, forcing, signaling) move the track.
*/
export function followKernelLog(start: Track | null, poll: PollContext): Followed {
	const {snapshot, prev, now, between} = poll;
	const w = working({track: start, ended: [], events: []});
	const bootTime = snapshot.kernel.bootTime;
	for (const line of snapshot.kernelLog) {
		const logged = kernelLogTime(line, bootTime);
		// btime is truncated to whole seconds: never date a line after the scan that read it.
		const at = logged === null ? null : Math.min(logged, now);
		const eventTime = at ?? now;
		const rec = parseLivepatchLine(line.text);
		const t = w.track;
		const logPatch =
			'patch' in rec
				? rec.patch
				: rec.kind === 'signaling' || rec.kind === 'forcing'
					? (t?.patch ?? null)
					: null;
		w.events.push(draft(eventTime, 'kernel-log', logPatch, rec.kind === 'task' ? rec.tid : null, line.text));
		switch (rec.kind) {
			case 'starting': {
				if (t && t.patch === rec.patch && t.direction !== rec.direction) {
					reverseTrack(t, rec.direction, at ?? between);
					w.events.push(
						draft(
							eventTime,
							'transition-reversed',
							rec.patch,
							null,
							`${rec.patch}: reversed to ${rec.direction} (kernel log)`,
						),
					);
				} else if (t && t.patch === rec.patch && t.reversedByLine) {
					// `reversing ...` then `starting <new dir> transition`: the start line dates the direction.
					if (at !== null) {
						t.directionSince = at;
					}

					t.reversedByLine = false;
				} else if (t && t.patch === rec.patch && t.carried && t.startedFrom !== 'kernel-log' && at !== null) {
					// The line for the transition we already follow arrived a poll late (sysfs shows
					// `transition` before the kernel prints `starting`): refine its times.
					if (t.reversals === 0) {
						t.startedAt = at;
						t.startedFrom = 'kernel-log';
					}

					t.directionSince = at;
				} else {
					// A new start while another was open: the log lost its end.
					endTrack(w, poll, at ?? between, 'log');
					const started = newTrack(
						rec.patch,
						rec.direction,
						at,
						at === null ? (prev ? 'observed' : 'first-seen') : 'kernel-log',
					);
					if (at === null) {
						started.startedAt = prev ? between : now;
						started.directionSince = prev ? between : null;
					}

					w.track = started;
					w.events.push(
						draft(
							eventTime,
							'transition-started',
							rec.patch,
							null,
							`${rec.patch}: ${rec.direction} transition started (kernel log)`,
						),
					);
				}

				break;
			}

			case 'reversing': {
				if (t && t.patch === rec.patch) {
					if (t.direction === rec.from) {
						reverseTrack(t, rec.to, at ?? between);
						t.reversedByLine = true;
						w.events.push(
							draft(
								eventTime,
								'transition-reversed',
								rec.patch,
								null,
								`${rec.patch}: reversed to ${rec.to} (kernel log)`,
							),
						);
					}
				} else {
					endTrack(w, poll, at ?? between, 'log');
					// We never saw it start: the reversal dates the direction, the start stays unknown.
					const reversed = newTrack(rec.patch, rec.to, at ?? now, 'first-seen');
					reversed.directionSince = at;
					reversed.reversals = 1;
					reversed.reversedByLine = true;
					w.track = reversed;
					w.events.push(
						draft(
							eventTime,
							'transition-reversed',
							rec.patch,
							null,
							`${rec.patch}: reversed to ${rec.to} (kernel log)`,
						),
					);
				}

				break;
			}

			case 'canceling': {
				if (t && t.patch === rec.patch) {
					t.canceled = true;
				}

				break;
			}

			case 'complete': {
				if (t && t.patch === rec.patch) {
					endTrack(w, poll, eventTime, 'log');
				}

				break;
			}

			case 'forcing': {
				if (t) {
					t.forcedAt = eventTime;
					w.events.push(
						draft(
							eventTime,
							'transition-forced',
							t.patch,
							null,
							`${t.patch}: remaining tasks forced to the target state (kernel log)`,
						),
					);
				}

				break;
			}

			case 'signaling': {
				w.events.push(
					draft(
						eventTime,
						'fake-signal',
						t?.patch ?? null,
						null,
						'fake-signal round: kernel log "signaling remaining tasks"',
					),
				);
				break;
			}

			default: {
				break;
			}
		}
	}

	return w;
}

/**
Step 2: reconcile the track with what sysfs shows now (`current`, see `effectiveTransition`): a
transition that is gone ended, one that is new started (between the polls, or before the first),
and a flipped direction is a reversal.
*/
export function reconcileWithSysfs(
	followed: Followed,
	current: TransitionInfo | null,
	poll: PollContext,
): Followed {
	const {prev, now, between} = poll;
	const w = working(followed);
	const lastEnded = w.ended.at(-1);
	if (
		!w.track &&
		current &&
		lastEnded?.by === 'log' &&
		lastEnded.track.patch === current.patch &&
		lastEnded.track.direction === current.direction
	) {
		// The log already says complete but sysfs, read a moment earlier, still shows the
		// transition: keep following it; the next scan sees it end.
		w.track = {...w.ended.pop()!.track};
	}

	if (w.track && (!current || current.patch !== w.track.patch)) {
		endTrack(w, poll, between, 'observed');
	}

	if (!current) {
		return w;
	}

	if (w.track) {
		if (w.track.direction !== current.direction) {
			reverseTrack(w.track, current.direction, between);
			w.events.push(
				draft(
					between,
					'transition-reversed',
					current.patch,
					null,
					`${current.patch}: reversed to ${current.direction} (direction flipped between polls)`,
				),
			);
		}
	} else if (prev) {
		w.track = newTrack(current.patch, current.direction, between, 'observed');
		w.events.push(
			draft(
				between,
				'transition-started',
				current.patch,
				null,
				current.initializing
					? `${current.patch}: patching transition initialising (insmod in progress)`
					: `${current.patch}: ${current.direction} transition started (seen between polls)`,
			),
		);
	} else {
		w.track = newTrack(current.patch, current.direction, now, 'first-seen');
		w.events.push(
			draft(
				now,
				'transition-started',
				current.patch,
				null,
				`${current.patch}: ${current.direction} transition already running when first seen (start not observed)`,
			),
		);
	}

	return w;
}

/** Step 4: patches that appeared or disappeared between the two scans. */
export function patchListEvents(poll: PollContext): Draft[] {
	const {snapshot, prev, between} = poll;
	if (!prev) {
		return [];
	}

	const events: Draft[] = [];
	const before = new Set(prev.patches.map((p) => p.name));
	const after = new Set(snapshot.patches.map((p) => p.name));
	for (const name of after) {
		if (!before.has(name)) {
			const busy = refusedLoad(snapshot, name);
			events.push(
				draft(
					between,
					'patch-appeared',
					name,
					null,
					busy === null
						? `${name}: patch appeared`
						: `${name}: patch appeared while ${busy}'s transition runs (its load is refused with EBUSY)`,
				),
			);
		}
	}

	for (const name of before) {
		if (!after.has(name)) {
			const busy = refusedLoad(prev, name);
			events.push(
				draft(
					between,
					'patch-disappeared',
					name,
					null,
					busy === null
						? `${name}: patch disappeared`
						: `${name}: patch disappeared (its load was refused while ${busy}'s transition ran)`,
				),
			);
		}
	}

	return events;
}

/**
The kernel's fake-signal rounds (every `signalPeriodS` from the start or the last reversal) that
fell between the previous scan and this one, as estimated events: the kernel logs only the first.
*/
export function estimatedSignalRounds(
	live: Track,
	prevTime: number,
	now: number,
	clock: RetryClock | null = null,
): Draft[] {
	const since = live.directionSince;
	if (since === null) {
		return [];
	}

	const events: Draft[] = [];
	const roundAt = (k: number) => fakeSignalRoundAt(since, k, clock, live.reversals > 0);
	const skip = Math.max(1, Math.floor((prevTime - since) / 1000 / signalPeriodS) - 1);
	for (let k = skip; roundAt(k) <= now; k++) {
		if (roundAt(k) <= prevTime) {
			continue;
		}

		events.push(
			draft(
				roundAt(k),
				'fake-signal',
				live.patch,
				null,
				`fake-signal round ${k} (estimated: every ${signalPeriodS} s from the ${live.reversals > 0 ? 'last reversal' : 'start'})`,
			),
		);
	}

	return events;
}

/**
Step 5: the progress of the running transition (pending, rate over the last polls, elapsed, next
fake-signal round), and the estimated signal rounds since the previous scan.
*/
export function transitionProgress(
	current: TransitionInfo | null,
	live: Track | null,
	previous: TrackedTransition | null,
	poll: PollContext,
	clock: RetryClock | null = null,
): {readonly progress: TrackedTransition | null; readonly events: Draft[]} {
	const {snapshot, prev, now} = poll;
	if (!current || !live) {
		return {progress: null, events: []};
	}

	const pending = current.target === 1 ? snapshot.tasks.byPatchState['0'] : snapshot.tasks.byPatchState['1'];
	const keep = !live.freshDirection && previous?.samples ? previous.samples : [];
	const samples = [...keep, {time: now, pending}].slice(-rateWindow);
	const first = samples[0]!;
	const dtS = (now - first.time) / 1000;
	const ratePerS = samples.length >= 2 && dtS > 0 ? (first.pending - pending) / dtS : null;
	const sends = kernelSendsFakeSignals(snapshot);
	const events =
		sends && !live.freshDirection && prev ? estimatedSignalRounds(live, prev.time, now, clock) : [];
	const progress: TrackedTransition = {
		patch: current.patch,
		direction: current.direction,
		target: current.target,
		...(current.initializing ? {initializing: true} : {}),
		startedAt: live.startedAt,
		startedFrom: live.startedFrom,
		directionSince: live.directionSince,
		elapsedS: live.startedAt === null ? null : Math.max(0, (now - live.startedAt) / 1000),
		pending,
		total: snapshot.tasks.total,
		...(snapshot.tasks.unknown ? {unknown: snapshot.tasks.unknown} : {}),
		ratePerS,
		nextSignalS:
			sends && live.directionSince !== null
				? nextSignalIn(now, live.directionSince, clock, live.reversals > 0)
				: null,
		reversals: live.reversals,
		forcedAt: live.forcedAt,
		samples,
	};
	return {progress, events};
}

/** Step 7: new warnings (repeats of the previous scan's warnings are not events). */
export function warningEvents(poll: PollContext): Draft[] {
	const old = new Set(poll.prev?.warnings ?? []);
	return poll.snapshot.warnings
		.filter((w) => !old.has(w))
		.map((w) => draft(poll.now, 'warning', null, null, w));
}

/** Step 8: polls in a row with this transition running and no visible blocker. */
export function invisiblePollsOf(
	history: History | null,
	current: TransitionInfo | null,
	snapshot: Snapshot,
): number {
	if (!current || snapshot.blockers.length > 0) {
		return 0;
	}

	const before = history?.transition ?? null;
	const same = before !== null && before.patch === current.patch && before.direction === current.direction;
	return (same ? (history?.invisiblePolls ?? 0) : 0) + 1;
}

/** This poll's events in time order; events of equal time keep the order the steps made them in. */
export function orderEvents(drafts: readonly Draft[]): HistoryEvent[] {
	return drafts
		.map((d, i) => ({d, i}))
		.sort((a, b) => a.d.time - b.d.time || a.i - b.i)
		.map(({d}) => d);
}

/**
Fold one snapshot into the history. `history` null starts a new one (first poll).
Pure: neither argument is modified.
*/
export function foldSnapshot(
	history: History | null,
	snapshot: Snapshot,
	options: FoldOptions = {},
): History {
	const prev = history?.snapshot ?? null;
	const now = snapshot.time;
	const poll: PollContext = {
		snapshot,
		prev,
		now,
		between: prev ? prev.time + Math.max(0, now - prev.time) / 2 : now,
	};
	const previous = (history?.transition ?? null) as TrackedTransition | null;

	const logged = followKernelLog(carriedTrack(previous), poll);
	const current = effectiveTransition(history, snapshot);
	// A load still initialising holds nobody back (the kernel has not tried a task yet): where only the
	// history knows it is one, the reader's blockers for the unpatching it saw go.
	const seen =
		current === snapshot.transition
			? snapshot
			: {
					...snapshot,
					transition: current,
					...(current?.initializing && !snapshot.transition?.initializing ? {blockers: []} : {}),
				};
	const {track: live, ended, events: transitionEvents} = reconcileWithSysfs(logged, current, poll);
	// Step 3: the transitions that ended, each with its outcome.
	const finished = ended.map((e) => finishTransition(e, prev));
	const retryPhase = learnRetryPhase(
		history?.retryPhase ?? null,
		snapshot.kernelLog,
		snapshot.kernel.bootTime,
	);
	const {progress, events: signalEvents} = transitionProgress(
		current,
		live,
		previous,
		poll,
		retryClockOf(retryPhase, snapshot.kernel.bootTime, snapshot.time),
	);
	// Step 6: blockers' stuck time, and the threads that stopped blocking.
	const blockers = foldBlockers(history, seen, progress, live?.freshDirection ?? false);
	const threadDrafts = threadEvents(prev, seen, {
		endedThisPoll: ended.length > 0,
		reversed: (live?.freshDirection ?? false) && (live?.reversals ?? 0) > 0 && (live?.carried ?? false),
		forced: ended.some((e) => e.track.forcedAt !== null) || (live?.forcedAt ?? null) !== null,
	});
	const invisiblePolls = invisiblePollsOf(history, current, snapshot);

	const fresh = orderEvents([
		...transitionEvents,
		...finished.map((f) => f.event),
		...patchListEvents(poll),
		...signalEvents,
		...threadDrafts,
		...warningEvents(poll),
	]);
	return {
		// The stored snapshot carries the transition as the history understands it (initialising, see
		// `effectiveTransition`), so that every consumer reads the same direction.
		snapshot: seen,
		previous: prev,
		transition: progress,
		lastTransition: finished.at(-1)?.last ?? history?.lastTransition ?? null,
		blockers,
		hiddenBlocker: invisiblePolls > 2,
		invisiblePolls,
		events: appendEvents(history?.events ?? [], fresh, options.maxEvents ?? defaultMaxEvents),
		polls: (history?.polls ?? 0) + 1,
		timeline: foldTimeline(history?.timeline ?? null, fresh, progress, now),
		retryPhase,
	};
}

/**
The transition as it really is. The reader already calls a transition patch with `enabled`=0 a patching
transition that is initialising when `patched` shows it (6.1+, `reader.ts`); this adds what needs more
than one snapshot, for when `patched` is absent:
- the kernel log of this poll: the last lifecycle line for the patch is `enabling patch` or
  `initializing patching transition` (or `starting patching transition` after one of those);
- the previous poll already saw it initialising (`enabled` cannot go back to 0 while `insmod` holds
  klp_mutex, so it still is), even where `patched` reads 1 (6.4-6.15, see below);
- the patch was not there a poll earlier: an unpatching transition needs an enabled patch first.
*/
export function effectiveTransition(history: History | null, snapshot: Snapshot): TransitionInfo | null {
	const t = snapshot.transition;
	if (t && !t.initializing && t.direction === 'patching') {
		return unpatchingStart(history, snapshot, t);
	}

	const before = history?.snapshot?.transition ?? null;
	if (
		t?.initializing &&
		before?.patch === t.patch &&
		before.direction === 'unpatching' &&
		!before.initializing
	) {
		// Not a load but the end of that unpatching: `patched` drops to 0 before the kernel synchronises and
		// clears `transition` (tenths of a second under QEMU TCG).
		return {patch: t.patch, direction: 'unpatching', target: 0};
	}

	if (!t || t.initializing || t.direction !== 'unpatching') {
		return t;
	}

	const patch = snapshot.patches.find((p) => p.name === t.patch);
	if (!patch || patch.enabled) {
		return t;
	}

	const initializing: TransitionInfo = {patch: t.patch, direction: 'patching', target: 1, initializing: true};
	let loading: boolean | null = null;
	for (const line of snapshot.kernelLog) {
		const rec = parseLivepatchLine(line.text);
		if (!('patch' in rec) || rec.patch !== t.patch || rec.kind === 'other') {
			continue;
		}

		if (rec.kind === 'enabling' || (rec.kind === 'initializing' && rec.direction === 'patching')) {
			loading = true;
		} else if (!(rec.kind === 'starting' && rec.direction === 'patching' && loading === true)) {
			loading = false;
		}
	}

	if (loading !== null) {
		return loading ? initializing : t;
	}

	// Before `patched`: on 6.4-6.15 the load reads `patched` 1 for seconds under a slow host while the start
	// of the transition rewrites the preemption static calls, `enabled` still 0 (klp_mutex still held).
	const tracked = history?.transition ?? null;
	if (tracked?.patch === t.patch && tracked.initializing && tracked.direction === 'patching') {
		return initializing;
	}

	if (patch.objects.some((object) => object.patched !== null)) {
		// `patched` was there to read and the reader did not see a load: believe it.
		return t;
	}

	const prev = history?.snapshot ?? null;
	if (prev && !prev.patches.some((p) => p.name === t.patch)) {
		return initializing;
	}

	return t;
}

/**
A disable being set up on 6.4-6.15: `starting unpatching transition` is logged, then the preemption static
calls are rewritten (seconds under QEMU TCG) while `enabled` still reads 1 and every task is at 1, which
reads like a patching transition nobody holds back. Observed on Debian's 6.12: 0.5 s under TCG. The last
lifecycle line of the patch in this poll's log says so, or the previous poll already saw it.
*/
function unpatchingStart(history: History | null, snapshot: Snapshot, t: TransitionInfo): TransitionInfo {
	let unpatching: boolean | null = null;
	for (const line of snapshot.kernelLog) {
		const rec = parseLivepatchLine(line.text);
		if ('patch' in rec && rec.patch === t.patch && rec.kind !== 'other') {
			unpatching = (rec.kind === 'starting' || rec.kind === 'initializing') && rec.direction === 'unpatching';
		}
	}

	const before = history?.snapshot?.transition ?? null;
	const still =
		unpatching ?? (before?.patch === t.patch && before.direction === 'unpatching' && before.initializing);
	return still ? {patch: t.patch, direction: 'unpatching', target: 0, initializing: true} : t;
}

/**
A patch that shows `enabled`=0 `transition`=0 while another patch is in transition is an `insmod` the
kernel is about to refuse with EBUSY (`__klp_enable_patch` checks `klp_transition_patch` after the
sysfs directory exists; observed ~0.8 s under TCG). Returns the transition patch's name, else null.
*/
function refusedLoad(snapshot: Snapshot, name: string): string | null {
	const patch = snapshot.patches.find((p) => p.name === name);
	const busy = snapshot.transition?.patch ?? null;
	if (!patch || patch.enabled || patch.transition || busy === null || busy === name) {
		return null;
	}

	return busy;
}

/** Append an event (an action's result, say) to the history. Pure. */
export function recordEvent(history: History, event: HistoryEvent, options: FoldOptions = {}): History {
	return {...history, events: appendEvents(history.events, [event], options.maxEvents ?? defaultMaxEvents)};
}

const milestoneKinds: ReadonlySet<HistoryEventKind> = new Set<HistoryEventKind>([
	'transition-started',
	'transition-completed',
	'transition-reversed',
	'transition-forced',
	'fake-signal',
	'patch-appeared',
	'patch-disappeared',
	'action',
]);

/** Whether an event is a milestone (kept out of the routine events' rolling bound, never collapsed). */
export function isMilestone(event: Pick<HistoryEvent, 'kind'>): boolean {
	return milestoneKinds.has(event.kind);
}

function repeatKey(event: HistoryEvent): string {
	return `${event.kind}\u0000${event.patch ?? ''}\u0000${event.tid ?? ''}\u0000${event.text}`;
}

/**
The log with `fresh` (in time order) appended. A routine event that repeats one still in the log
(the kernel's "is sleeping on function" line for the same task, every second) replaces it, counted
in `repeats`, at its new place and time: 500 identical lines become one "x500". Then the routine
events are bounded to `maxEvents` and the milestones to `maxMilestones`, each dropping its oldest,
so routine lines never push a milestone out. Pure.
*/
function appendEvents(
	log: readonly HistoryEvent[],
	fresh: readonly HistoryEvent[],
	maxEvents: number,
): readonly HistoryEvent[] {
	const all: Array<HistoryEvent | null> = [...log];
	const latest = new Map<string, number>();
	for (let i = 0; i < all.length; i++) {
		if (!isMilestone(all[i]!)) {
			latest.set(repeatKey(all[i]!), i);
		}
	}

	for (const event of fresh) {
		if (isMilestone(event)) {
			all.push(event);
			continue;
		}

		const key = repeatKey(event);
		const before = latest.get(key);
		if (before === undefined) {
			all.push(event);
		} else {
			const repeats = (all[before]!.repeats ?? 1) + (event.repeats ?? 1);
			all[before] = null;
			all.push({...event, repeats});
		}

		latest.set(key, all.length - 1);
	}

	let routine = 0;
	let milestones = 0;
	for (const event of all) {
		if (event !== null) {
			if (isMilestone(event)) {
				milestones++;
			} else {
				routine++;
			}
		}
	}

	// Drop the oldest of each kind beyond its bound.
	let dropRoutine = Math.max(0, routine - Math.max(0, Math.floor(maxEvents)));
	let dropMilestones = Math.max(0, milestones - maxMilestones);
	const out: HistoryEvent[] = [];
	for (const event of all) {
		if (event === null) {
			continue;
		}

		if (isMilestone(event) ? dropMilestones-- > 0 : dropRoutine-- > 0) {
			continue;
		}

		out.push(event);
	}

	return out;
}

/** Step 3: how a transition that ended this poll ended (its outcome), and the event that says so. */
export function finishTransition(
	e: Ended,
	prev: Snapshot | null,
): {readonly last: LastTransition; readonly event: Draft} {
	const t = e.track;
	let outcome: LastTransition['outcome'];
	let text: string;
	if (t.forcedAt !== null) {
		outcome = 'forced';
		text = `${t.patch}: ${t.direction} transition ended after force (the consistency model was bypassed)`;
	} else if (t.canceled) {
		outcome = 'vanished';
		text = `${t.patch}: patching transition canceled (kernel log: the enable failed)`;
	} else if (t.reversals > 0) {
		outcome = 'reversed-completed';
		text = `${t.patch}: reversed transition completed (${t.direction})`;
	} else if (e.by === 'log' || e.patchPresent || t.direction === 'unpatching') {
		// After unpatching completes the kernel frees the patch and its directory goes away.
		outcome = 'completed';
		text = `${t.patch}: ${t.direction} complete`;
		const hadStuck =
			prev?.transition?.patch === t.patch && prev.blockers.some((b) => b.class === 'uninterruptible');
		if (e.by === 'observed' && hadStuck) {
			// Uninterruptible sleepers rarely leave all at once; force would look like this too.
			text +=
				' (uninterruptible blockers cleared at once; no force line in the kernel log, if it is readable)';
		}
	} else {
		outcome = 'vanished';
		text = `${t.patch}: patching transition vanished without completing (patch directory gone)`;
	}

	const measured = t.startedAt !== null && t.startedFrom !== 'first-seen';
	const last: LastTransition = {
		patch: t.patch,
		direction: t.direction,
		outcome,
		endedAt: e.endedAt,
		elapsedS: measured ? Math.max(0, (e.endedAt - t.startedAt!) / 1000) : null,
	};
	return {last, event: draft(e.endedAt, 'transition-completed', t.patch, null, text)};
}

function birthTime(thread: ThreadInfo, bootTime: number | null): number | null {
	return bootTime === null || !Number.isFinite(thread.starttime)
		? null
		: bootTime + (thread.starttime / userHz) * 1000;
}

/** Step 6a: how long each blocker has been blocking, keyed by `tid:starttime`. */
export function foldBlockers(
	history: History | null,
	snapshot: Snapshot,
	progress: TrackedTransition | null,
	freshDirection: boolean,
): ReadonlyMap<string, BlockerMemory> {
	const out = new Map<string, BlockerMemory>();
	const old = freshDirection ? undefined : history?.blockers;
	const now = snapshot.time;
	for (const b of snapshot.blockers) {
		const key = blockerKey(b);
		const seen = old?.get(key);
		if (seen) {
			out.set(key, {firstSeen: seen.firstSeen, lastSeen: now});
			continue;
		}

		let firstSeen = now;
		// In the first poll of a direction whose start we know, every pending task has been pending
		// since that start (the kernel sets all of them at once), unless it was born later.
		if (
			freshDirection &&
			progress?.directionSince !== null &&
			progress?.directionSince !== undefined &&
			progress.startedFrom !== 'first-seen'
		) {
			const born = birthTime(b, snapshot.kernel.bootTime);
			firstSeen = Math.min(now, Math.max(progress.directionSince, born ?? progress.directionSince));
		}

		out.set(key, {firstSeen, lastSeen: now});
	}

	return out;
}

/** Step 6b: former blockers that no longer block, each as switched or exited (as far as can be known). */
export /** The threads of TIDs `wanted` the scan listed (the last one listed for a TID), null when it listed none. */
function listedByTid(snapshot: Snapshot, wanted: ReadonlySet<number>): Map<number, ThreadInfo> | null {
	const threads = new Map<number, ThreadInfo>();
	if (snapshot.threads !== null) {
		for (const th of snapshot.threads) if (wanted.has(th.tid)) threads.set(th.tid, th);
		return threads;
	}

	const table = snapshot.threadTable ?? null;
	if (table === null) return null;
	// Only the rows of the wanted TIDs are looked up (the table, in TID order, holds 100,000) and made.
	for (const tid of wanted) {
		const row = lastRowOfTid(table, tid);
		if (row >= 0) threads.set(tid, threadAt(table, row));
	}

	return threads;
}

/** The last row of `tid` in a table in TID order (its latest start time), -1 when none. */
function lastRowOfTid(table: ThreadTable, tid: number): number {
	// The first row past `tid`: the row before it is `tid`'s last, if it is `tid` at all.
	const past = upperBound(table.tid, tid, table.count);
	return past > 0 && table.tid[past - 1] === tid ? past - 1 : -1;
}

function threadEvents(
	prev: Snapshot | null,
	snapshot: Snapshot,
	context: {readonly endedThisPoll: boolean; readonly reversed: boolean; readonly forced: boolean},
): Draft[] {
	const events: Draft[] = [];
	if (!prev || prev.blockers.length === 0) {
		return events;
	}

	const now = snapshot.time;
	const stillBlocking = new Set(snapshot.blockers.map((b) => blockerKey(b)));
	const blockerTids = new Map<number, Blocker>(snapshot.blockers.map((b) => [b.tid, b]));
	// Only the former blockers are looked up: no map of every thread (there may be 100,000).
	const threads = listedByTid(snapshot, new Set(prev.blockers.map((b) => b.tid)));

	const patch = prev.transition?.patch ?? null;
	const counts = {'thread-switched': 0, 'thread-exited': 0};
	const emitThread = (kind: 'thread-switched' | 'thread-exited', tid: number, text: string) => {
		counts[kind] += 1;
		if (counts[kind] <= maxThreadEventsPerPoll) {
			events.push(draft(now, kind, patch, tid, text));
		}
	};

	for (const b of prev.blockers) {
		if (stillBlocking.has(blockerKey(b))) {
			continue;
		}

		const who = `${b.tid} (${b.comm})`;
		const listed = threads?.get(b.tid);
		const reused =
			(listed && listed.starttime !== b.starttime) ||
			(blockerTids.get(b.tid)?.starttime ?? b.starttime) !== b.starttime;
		if (reused) {
			emitThread('thread-exited', b.tid, `${who} exited; its TID now belongs to a new thread`);
		} else if (threads && !listed) {
			emitThread('thread-exited', b.tid, `${who} exited`);
		} else if (context.forced) {
			emitThread('thread-switched', b.tid, `${who} forced to the target state (it never switched by itself)`);
		} else if (context.reversed) {
			emitThread(
				'thread-switched',
				b.tid,
				`${who} no longer blocks: after the reversal it is already at the new target`,
			);
		} else if (listed) {
			emitThread('thread-switched', b.tid, `${who} switched`);
		} else if (context.endedThisPoll) {
			emitThread('thread-switched', b.tid, `${who} switched (the transition completed)`);
		} else {
			emitThread(
				'thread-switched',
				b.tid,
				`${who} no longer blocks: switched, or exited (only blockers were scanned, so which is unknown)`,
			);
		}
	}

	for (const kind of ['thread-switched', 'thread-exited'] as const) {
		const extra = counts[kind] - maxThreadEventsPerPoll;
		if (extra > 0) {
			events.push(
				draft(
					now,
					kind,
					patch,
					null,
					`and ${extra} more ${kind === 'thread-exited' ? 'exited' : 'switched'}`,
				),
			);
		}
	}

	return events;
}

/** Seconds the blocker with this key has been blocking at the history's latest snapshot, or null. */
export function stuckSeconds(history: History, key: string): number | null {
	const memory = history.blockers.get(key);
	return memory === undefined ? null : Math.max(0, (history.snapshot.time - memory.firstSeen) / 1000);
}
