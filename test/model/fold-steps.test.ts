// The named steps of foldSnapshot, each tested on its own (the fold as a whole: history.test.ts).
import {describe, expect, it} from 'vitest';
import {
	carriedTrack,
	estimatedSignalRounds,
	followKernelLog,
	invisiblePollsOf,
	orderEvents,
	patchListEvents,
	reconcileWithSysfs,
	transitionProgress,
	warningEvents,
	foldSnapshot,
} from '../../source/model/history.js';
import type {PollContext, Track} from '../../source/model/history.js';
import type {Snapshot} from '../../source/model/types.js';
import {blocker, bootTime, idle, klog, patch, patching, t0} from './snapshots.js';

function poll(snapshot: Snapshot, prev: Snapshot | null): PollContext {
	const between = prev ? prev.time + (snapshot.time - prev.time) / 2 : snapshot.time;
	return {snapshot, prev, now: snapshot.time, between};
}

/** Seconds after t0 as kernel log boot seconds. */
const boot = (seconds: number) => (t0 - bootTime) / 1000 + seconds;

function track(fields: Partial<Track> = {}): Track {
	return {
		patch: 'p',
		direction: 'patching',
		startedAt: t0,
		startedFrom: 'observed',
		directionSince: t0,
		reversals: 0,
		forcedAt: null,
		carried: true,
		reversedByLine: false,
		canceled: false,
		freshDirection: false,
		...fields,
	};
}

describe('followKernelLog', () => {
	it('starts a transition dated by its line, and ends it on its complete line', () => {
		const snapshot = idle(5, [patch('p')], {
			kernelLog: [
				klog(boot(1), "'p': starting patching transition"),
				klog(boot(3), "'p': patching complete"),
			],
		});
		const followed = followKernelLog(null, poll(snapshot, idle(0)));
		expect(followed.track).toBeNull();
		expect(followed.ended).toHaveLength(1);
		expect(followed.ended[0]).toMatchObject({endedAt: t0 + 3000, by: 'log', patchPresent: true});
		expect(followed.ended[0]!.track).toMatchObject({startedAt: t0 + 1000, startedFrom: 'kernel-log'});
		expect(followed.events.map((e) => e.kind)).toEqual(['kernel-log', 'transition-started', 'kernel-log']);
	});

	it('reverses on a reversing line and lets the next starting line date the new direction', () => {
		const snapshot = patching(5, 'p', 1, {
			kernelLog: [
				klog(boot(2), "'p': reversing transition from patching to unpatching"),
				klog(boot(2.5), "'p': starting unpatching transition"),
			],
		});
		const start = track();
		const followed = followKernelLog(start, poll(snapshot, patching(1, 'p', 1)));
		expect(followed.track).toMatchObject({direction: 'unpatching', reversals: 1, directionSince: t0 + 2500});
		expect(followed.events.filter((e) => e.kind === 'transition-reversed')).toHaveLength(1);
		// The caller's track is not modified.
		expect(start).toEqual(track());
	});

	it('marks a force and a signal round on the transition it follows', () => {
		const snapshot = patching(5, 'p', 1, {
			kernelLog: [
				klog(boot(2), 'signaling remaining tasks'),
				klog(boot(3), 'forcing remaining tasks to the patched state'),
			],
		});
		const followed = followKernelLog(track(), poll(snapshot, patching(1, 'p', 1)));
		expect(followed.track?.forcedAt).toBe(t0 + 3000);
		expect(followed.events.filter((e) => e.kind !== 'kernel-log').map((e) => [e.kind, e.patch])).toEqual([
			['fake-signal', 'p'],
			['transition-forced', 'p'],
		]);
	});
});

describe('reconcileWithSysfs', () => {
	const none = {track: null, ended: [], events: []};

	it('starts a transition seen between two polls at their midpoint', () => {
		const snapshot = patching(4, 'p', 1);
		const out = reconcileWithSysfs(none, snapshot.transition, poll(snapshot, idle(2)));
		expect(out.track).toMatchObject({patch: 'p', startedAt: t0 + 3000, startedFrom: 'observed'});
		expect(out.events.map((e) => e.text)).toEqual(['p: patching transition started (seen between polls)']);
	});

	it('calls a transition already running on the first poll first-seen', () => {
		const snapshot = patching(4, 'p', 1);
		const out = reconcileWithSysfs(none, snapshot.transition, poll(snapshot, null));
		expect(out.track).toMatchObject({startedFrom: 'first-seen', directionSince: null});
	});

	it('ends the followed transition when sysfs no longer shows it, and reverses on a flipped direction', () => {
		const gone = reconcileWithSysfs(
			{...none, track: track()},
			null,
			poll(idle(6, [patch('p')]), patching(4, 'p', 1)),
		);
		expect(gone.track).toBeNull();
		expect(gone.ended).toEqual([{track: track(), endedAt: t0 + 5000, by: 'observed', patchPresent: true}]);
		const flipped = reconcileWithSysfs(
			{...none, track: track()},
			{patch: 'p', direction: 'unpatching', target: 0},
			poll(patching(6, 'p', 1), patching(4, 'p', 1)),
		);
		expect(flipped.track).toMatchObject({direction: 'unpatching', reversals: 1, directionSince: t0 + 5000});
	});

	it('keeps following a transition the log says is complete while sysfs still shows it', () => {
		const ended = {track: track(), endedAt: t0 + 3000, by: 'log' as const, patchPresent: false};
		const snapshot = patching(4, 'p', 0);
		const out = reconcileWithSysfs(
			{...none, ended: [ended]},
			snapshot.transition,
			poll(snapshot, patching(2, 'p', 1)),
		);
		expect(out.ended).toEqual([]);
		expect(out.track).toEqual(track());
	});
});

describe('patchListEvents', () => {
	it('names the patches that appeared and disappeared between the polls', () => {
		const events = patchListEvents(poll(idle(4, [patch('b')]), idle(2, [patch('a')])));
		expect(events.map((e) => [e.kind, e.patch, e.time])).toEqual([
			['patch-appeared', 'b', t0 + 3000],
			['patch-disappeared', 'a', t0 + 3000],
		]);
		expect(patchListEvents(poll(idle(4, [patch('b')]), null))).toEqual([]);
	});
});

describe('estimatedSignalRounds and transitionProgress', () => {
	it('estimates the rounds every 15 s from the direction start that fell between two scans', () => {
		const rounds = estimatedSignalRounds(track({directionSince: t0}), t0 + 14_000, t0 + 31_000);
		expect(rounds.map((e) => e.time)).toEqual([t0 + 15_000, t0 + 30_000]);
		expect(rounds[1]!.text).toMatch(/round 2 \(estimated/);
		expect(estimatedSignalRounds(track({directionSince: null}), t0, t0 + 60_000)).toEqual([]);
	});

	it('counts pending threads toward the target, the rate over the polls and the next round', () => {
		const snapshot = patching(20, 'p', 4);
		const previous = {
			...transitionProgress(snapshot.transition, track(), null, poll(patching(10, 'p', 14), null)).progress!,
		};
		const {progress, events} = transitionProgress(
			snapshot.transition,
			track(),
			previous,
			poll(snapshot, patching(10, 'p', 14)),
		);
		expect(progress).toMatchObject({pending: 4, total: 54, ratePerS: 1, elapsedS: 20, nextSignalS: 10});
		expect(events.map((e) => e.time)).toEqual([t0 + 15_000]);
		expect(transitionProgress(null, track(), previous, poll(snapshot, null))).toEqual({
			progress: null,
			events: [],
		});
	});
});

describe('warningEvents, invisiblePollsOf, orderEvents', () => {
	it('makes events of new warnings only', () => {
		const events = warningEvents(poll(idle(2, [], {warnings: ['a', 'b']}), idle(1, [], {warnings: ['a']})));
		expect(events.map((e) => e.text)).toEqual(['b']);
	});

	it('counts polls in a row of the same transition without a visible blocker', () => {
		const first = foldSnapshot(null, patching(1, 'p', 1));
		expect(first.invisiblePolls).toBe(1);
		expect(invisiblePollsOf(first, patching(2, 'p', 1).transition, patching(2, 'p', 1))).toBe(2);
		const seen = patching(2, 'p', 1, {blockers: [blocker(182)]});
		expect(invisiblePollsOf(first, seen.transition, seen)).toBe(0);
		expect(invisiblePollsOf(first, {patch: 'q', direction: 'patching', target: 1}, patching(2, 'q', 1))).toBe(
			1,
		);
	});

	it('orders by time and keeps the order of equal times', () => {
		const at = (time: number, text: string) => ({
			time,
			kind: 'warning' as const,
			patch: null,
			tid: null,
			text,
		});
		expect(orderEvents([at(2, 'x'), at(1, 'y'), at(2, 'z'), at(1, 'w')]).map((e) => e.text)).toEqual([
			'y',
			'w',
			'x',
			'z',
		]);
	});
});

describe('carriedTrack', () => {
	it('carries the previous progress into a working track, or none', () => {
		expect(carriedTrack(null)).toBeNull();
		const progress = foldSnapshot(foldSnapshot(null, idle(0)), patching(2, 'p', 1)).transition;
		expect(carriedTrack(progress)).toMatchObject({
			patch: 'p',
			carried: true,
			freshDirection: false,
			forcedAt: null,
		});
	});
});
