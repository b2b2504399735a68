import {describe, expect, it} from 'vitest';
import fc from 'fast-check';
import {
	fakeSignalRoundAt,
	foldSnapshot,
	isMilestone,
	kernelSendsFakeSignals,
	learnRetryPhase,
	maxMilestones,
	recordEvent,
	retryPhaseS,
} from '../../source/model/history.js';
import type {History, HistoryEvent, Snapshot} from '../../source/model/types.js';
import {blocker, bootTime, idle, klog, patch, patching, snap, t0, thread, unpatching} from './snapshots.js';

function foldAll(snapshots: readonly Snapshot[], maxEvents?: number): History {
	let h: History | null = null;
	for (const s of snapshots) {
		h = foldSnapshot(h, s, maxEvents === undefined ? {} : {maxEvents});
	}

	return h!;
}

function kinds(h: History, kind: HistoryEvent['kind']): HistoryEvent[] {
	return h.events.filter((e) => e.kind === kind);
}

describe('transition start and completion', () => {
	it('dates an observed start at the midpoint between the two scans', () => {
		const h = foldAll([
			idle(0),
			patching(2, 'p', 1, {blockers: [blocker(182)]}),
			patching(3, 'p', 1, {blockers: [blocker(182)]}),
		]);
		expect(h.transition).toMatchObject({
			patch: 'p',
			direction: 'patching',
			target: 1,
			startedFrom: 'observed',
			startedAt: t0 + 1000,
			directionSince: t0 + 1000,
			elapsedS: 2,
			pending: 1,
			total: 54,
			reversals: 0,
		});
		expect(kinds(h, 'transition-started')).toHaveLength(1);
		expect(kinds(h, 'transition-started')[0]!.time).toBe(t0 + 1000);
	});

	it('marks a transition already running on the first poll as first-seen, a lower bound', () => {
		const h1 = foldSnapshot(null, patching(10, 'p', 1, {blockers: [blocker(182)]}));
		expect(h1.transition?.startedFrom).toBe('first-seen');
		expect(h1.transition?.elapsedS).toBe(0);
		expect(h1.transition?.directionSince).toBeNull();
		// Without a known start no fake-signal estimate is possible.
		expect(h1.transition?.nextSignalS).toBeNull();
		expect(kinds(h1, 'transition-started')[0]!.text).toMatch(/first seen/);
		const h2 = foldSnapshot(h1, patching(13, 'p', 1, {blockers: [blocker(182)]}));
		expect(h2.transition?.elapsedS).toBe(3);
		expect(h2.transition?.startedFrom).toBe('first-seen');
	});

	it('records completion with the elapsed time and the outcome', () => {
		const h = foldAll([
			idle(0),
			patching(2, 'p', 1, {blockers: [blocker(182)]}),
			patching(3, 'p', 1, {blockers: [blocker(182)]}),
			idle(5, [patch('p')]),
		]);
		expect(h.transition).toBeNull();
		// Started at 1 (midpoint of 0 and 2), ended at 4 (midpoint of 3 and 5).
		expect(h.lastTransition).toEqual({
			patch: 'p',
			direction: 'patching',
			outcome: 'completed',
			endedAt: t0 + 4000,
			elapsedS: 3,
		});
		const done = kinds(h, 'transition-completed');
		expect(done).toHaveLength(1);
		expect(done[0]!.text).not.toMatch(/forc/);
		expect(kinds(h, 'thread-switched').map((e) => e.tid)).toEqual([182]);
	});

	it('calls an unpatching transition whose directory vanished completed, a patching one vanished', () => {
		const unp = foldAll([idle(0, [patch('p')]), unpatching(1, 'p', 1), unpatching(2, 'p', 1), idle(3)]);
		expect(unp.lastTransition?.outcome).toBe('completed');
		expect(kinds(unp, 'patch-disappeared').map((e) => e.patch)).toEqual(['p']);

		const pat = foldAll([idle(0), patching(1, 'p', 1), idle(2)]);
		expect(pat.lastTransition?.outcome).toBe('vanished');
		expect(kinds(pat, 'patch-appeared').map((e) => e.patch)).toEqual(['p']);
		expect(kinds(pat, 'patch-disappeared').map((e) => e.patch)).toEqual(['p']);
	});

	it('takes the start from the kernel log line, converted with the boot time', () => {
		// bootTime = t0 - 100 s, so boot second 97.5 is t0 - 2.5 s.
		const h = foldSnapshot(
			null,
			patching(0, 'klp_sleeper_patch', 1, {
				blockers: [blocker(182)],
				kernelLog: [
					klog(97.4, "enabling patch 'klp_sleeper_patch'"),
					klog(97.45, "'klp_sleeper_patch': initializing patching transition"),
					klog(97.5, "'klp_sleeper_patch': starting patching transition"),
				],
			}),
		);
		expect(h.transition?.startedFrom).toBe('kernel-log');
		expect(h.transition?.startedAt).toBe(t0 - 2500);
		expect(h.transition?.directionSince).toBe(t0 - 2500);
		expect(h.transition?.elapsedS).toBe(2.5);
		expect(kinds(h, 'kernel-log')).toHaveLength(3);
		expect(kinds(h, 'transition-started')).toHaveLength(1);
	});

	it('refines an observed start when the start line arrives a poll late', () => {
		const h = foldAll([
			idle(0),
			patching(2, 'p', 1),
			patching(3, 'p', 1, {kernelLog: [klog(101.8, "'p': starting patching transition")]}),
		]);
		expect(h.transition?.startedFrom).toBe('kernel-log');
		expect(h.transition?.startedAt).toBe(t0 + 1800);
		expect(kinds(h, 'transition-started')).toHaveLength(1);
	});

	it('ignores an old start line of an earlier, completed transition in the backlog', () => {
		const h = foldSnapshot(
			null,
			unpatching(0, 'p', 1, {
				kernelLog: [klog(3.3, "'p': starting patching transition"), klog(5.0, "'p': patching complete")],
			}),
		);
		expect(h.transition?.startedFrom).toBe('first-seen');
		expect(h.lastTransition).toMatchObject({patch: 'p', direction: 'patching', outcome: 'completed'});
		expect(h.lastTransition?.elapsedS).toBeCloseTo(1.7, 6);
	});
});

describe('reversal', () => {
	it('detects a direction flip between polls and restarts the fake-signal count', () => {
		const h = foldAll([
			idle(0),
			patching(2, 'p', 1, {blockers: [blocker(539, {class: 'uninterruptible', state: 'D'})]}),
			patching(22, 'p', 1, {blockers: [blocker(539, {class: 'uninterruptible', state: 'D'})]}),
			unpatching(24, 'p', 52, {blockers: [blocker(1, {patchState: 1})]}),
		]);
		expect(h.transition).toMatchObject({direction: 'unpatching', target: 0, reversals: 1});
		expect(h.transition?.startedAt).toBe(t0 + 1000);
		expect(h.transition?.directionSince).toBe(t0 + 23_000);
		// 1 s into the new direction: the next round is 14 s away.
		expect(h.transition?.nextSignalS).toBe(14);
		expect(kinds(h, 'transition-reversed')).toHaveLength(1);
		const switched = kinds(h, 'thread-switched');
		expect(switched.map((e) => e.tid)).toEqual([539]);
		expect(switched[0]!.text).toMatch(/reversal/);
	});

	it('takes the reversal from the kernel log lines (S5) and ends as reversed-completed', () => {
		const log = [
			klog(100.0, "'klp_sleeper_patch': reversing transition from patching to unpatching"),
			klog(100.5, "'klp_sleeper_patch': starting unpatching transition"),
		];
		const h = foldAll([
			idle(-21),
			patching(-20, 'klp_sleeper_patch', 1),
			patching(0, 'klp_sleeper_patch', 1),
			unpatching(1, 'klp_sleeper_patch', 52, {kernelLog: log}),
			unpatching(2, 'klp_sleeper_patch', 10),
			idle(3, [], {
				kernelLog: [
					klog(102.0, "'klp_sleeper_patch': completing unpatching transition"),
					klog(102.4, "'klp_sleeper_patch': unpatching complete"),
				],
			}),
		]);
		expect(kinds(h, 'transition-reversed')).toHaveLength(1);
		expect(h.lastTransition).toEqual({
			patch: 'klp_sleeper_patch',
			direction: 'unpatching',
			outcome: 'reversed-completed',
			endedAt: t0 + 2400,
			// Started at -20.5 (observed midpoint), ended at 2.4 (kernel log).
			elapsedS: 22.9,
		});
	});

	it('dates the new direction from the start line after the reversal', () => {
		const h = foldAll([
			idle(-1),
			patching(0, 'p', 1),
			unpatching(1, 'p', 52, {
				kernelLog: [
					klog(100.2, "'p': reversing transition from patching to unpatching"),
					klog(100.3, "'p': starting unpatching transition"),
				],
			}),
		]);
		expect(h.transition?.reversals).toBe(1);
		expect(h.transition?.directionSince).toBe(t0 + 300);
	});

	it('counts a double reversal inside one poll from the start lines alone', () => {
		const h = foldAll([
			idle(-1),
			patching(0, 'p', 1),
			patching(1, 'p', 1, {
				kernelLog: [
					klog(100.2, "'p': starting unpatching transition"),
					klog(100.6, "'p': starting patching transition"),
				],
			}),
		]);
		expect(h.transition?.reversals).toBe(2);
		expect(h.transition?.directionSince).toBe(t0 + 600);
		expect(kinds(h, 'transition-reversed')).toHaveLength(2);
	});
});

describe('force', () => {
	it('claims forced only with the kernel line (S6), in the exact kernel format', () => {
		const d = blocker(539, {class: 'uninterruptible', state: 'D'});
		const h = foldAll([
			idle(-2),
			patching(-1, 'klp_sleeper_patch', 1, {blockers: [d]}),
			patching(0, 'klp_sleeper_patch', 0, {
				kernelLog: [klog(99.5, 'forcing remaining tasks to the patched state')],
			}),
			idle(1, [patch('klp_sleeper_patch')], {
				kernelLog: [
					klog(100.1, "'klp_sleeper_patch': completing patching transition"),
					klog(100.6, "'klp_sleeper_patch': patching complete"),
				],
			}),
		]);
		const forced = kinds(h, 'transition-forced');
		expect(forced).toHaveLength(1);
		expect(forced[0]!.time).toBe(t0 - 500);
		expect(forced[0]!.patch).toBe('klp_sleeper_patch');
		expect(h.lastTransition?.outcome).toBe('forced');
		expect(h.lastTransition?.endedAt).toBe(t0 + 600);
		expect(kinds(h, 'thread-switched')[0]!.text).toMatch(/forced/);
	});

	it('does not claim forced when all blockers vanish without the line', () => {
		const d = blocker(539, {class: 'uninterruptible', state: 'D'});
		const h = foldAll([
			idle(-2),
			patching(-1, 'p', 2, {blockers: [d, blocker(540, {class: 'uninterruptible', state: 'D'})]}),
			idle(0, [patch('p')]),
		]);
		expect(h.lastTransition?.outcome).toBe('completed');
		expect(kinds(h, 'transition-forced')).toHaveLength(0);
		expect(kinds(h, 'transition-completed')[0]!.text).toMatch(/no force line/);
	});
});

describe('blockers', () => {
	it('keys stuck time by tid and starttime, so a recycled TID starts from zero', () => {
		const h1 = foldAll([
			patching(0, 'p', 1, {blockers: [blocker(700, {starttime: 1000})]}),
			patching(10, 'p', 1, {blockers: [blocker(700, {starttime: 1000})]}),
		]);
		expect(h1.blockers.get('700:1000')).toEqual({firstSeen: t0, lastSeen: t0 + 10_000});

		const h2 = foldSnapshot(h1, patching(11, 'p', 1, {blockers: [blocker(700, {starttime: 9000})]}));
		expect([...h2.blockers.keys()]).toEqual(['700:9000']);
		expect(h2.blockers.get('700:9000')).toEqual({firstSeen: t0 + 11_000, lastSeen: t0 + 11_000});
		const exited = kinds(h2, 'thread-exited');
		expect(exited.map((e) => e.tid)).toEqual([700]);
		expect(exited[0]!.text).toMatch(/TID now belongs to a new thread/);
	});

	it('prunes threads that no longer block', () => {
		const h = foldAll([
			patching(0, 'p', 2, {blockers: [blocker(1), blocker(2)]}),
			patching(1, 'p', 1, {blockers: [blocker(2)]}),
		]);
		expect([...h.blockers.keys()]).toEqual(['2:5000']);
	});

	it('dates blockers of an observed start from the start, or from their birth when later', () => {
		// bootTime = t0 - 100 s; starttime 10100 ticks = boot second 101 = t0 + 1 s.
		const h = foldAll([
			idle(0),
			patching(2, 'p', 2, {blockers: [blocker(1, {starttime: 100}), blocker(2, {starttime: 10_150})]}),
		]);
		expect(h.blockers.get('1:100')?.firstSeen).toBe(t0 + 1000);
		expect(h.blockers.get('2:10150')?.firstSeen).toBe(t0 + 1500);
	});

	it('tells exited from switched only when the thread list is present', () => {
		const withList = foldAll([
			patching(0, 'p', 2, {blockers: [blocker(1), blocker(2)], threads: []}),
			patching(1, 'p', 0, {threads: [thread(2, 5000)]}),
		]);
		expect(kinds(withList, 'thread-exited').map((e) => e.tid)).toEqual([1]);
		expect(kinds(withList, 'thread-switched').map((e) => e.tid)).toEqual([2]);

		const blind = foldAll([patching(0, 'p', 2, {blockers: [blocker(1)]}), patching(1, 'p', 1)]);
		expect(kinds(blind, 'thread-exited')).toHaveLength(0);
		expect(kinds(blind, 'thread-switched')[0]!.text).toMatch(/switched, or exited/);
	});

	it('summarises a mass switch after 20 thread events', () => {
		const many = Array.from({length: 30}, (_, i) => blocker(100 + i));
		const h = foldAll([patching(0, 'p', 30, {blockers: many}), idle(1, [patch('p')])]);
		const switched = kinds(h, 'thread-switched');
		expect(switched).toHaveLength(21);
		expect(switched.at(-1)).toMatchObject({tid: null, text: 'and 10 more switched'});
	});
});

describe('hidden blocker', () => {
	it('is flagged when a transition runs with no visible blocker for more than two polls', () => {
		const seq = [patching(0, 'p', 0), patching(1, 'p', 0), patching(2, 'p', 0), patching(3, 'p', 0)];
		let h = foldSnapshot(null, seq[0]!);
		expect([h.invisiblePolls, h.hiddenBlocker]).toEqual([1, false]);
		h = foldSnapshot(h, seq[1]!);
		expect([h.invisiblePolls, h.hiddenBlocker]).toEqual([2, false]);
		h = foldSnapshot(h, seq[2]!);
		expect([h.invisiblePolls, h.hiddenBlocker]).toEqual([3, true]);
		h = foldSnapshot(h, patching(3, 'p', 1, {blockers: [blocker(5)]}));
		expect([h.invisiblePolls, h.hiddenBlocker]).toEqual([0, false]);
	});

	it('restarts the count for a new transition and is never set without one', () => {
		const h = foldAll([patching(0, 'p', 0), patching(1, 'p', 0), patching(2, 'q', 0), patching(3, 'q', 0)]);
		expect(h.invisiblePolls).toBe(2);
		expect(h.hiddenBlocker).toBe(false);
		const none = foldAll([idle(0), idle(1), idle(2), idle(3)]);
		expect(none.hiddenBlocker).toBe(false);
		expect(none.invisiblePolls).toBe(0);
	});
});

describe('fake-signal rounds', () => {
	const start = [klog(100, "'p': starting patching transition")];

	it('at start + 14 s the next round is 1 s away; at start + 16 s, 14 s', () => {
		const h1 = foldSnapshot(null, patching(14, 'p', 1, {kernelLog: start}));
		expect(h1.transition?.nextSignalS).toBe(1);
		const h2 = foldSnapshot(h1, patching(16, 'p', 1));
		expect(h2.transition?.nextSignalS).toBe(14);
		const rounds = kinds(h2, 'fake-signal');
		expect(rounds).toHaveLength(1);
		expect(rounds[0]!.time).toBe(t0 + 15_000);
		expect(rounds[0]!.text).toMatch(/estimated/);
	});

	it('emits one estimated round per 15 s period crossed, and the kernel line as such', () => {
		const h = foldAll([
			patching(1, 'p', 1, {kernelLog: start}),
			patching(46, 'p', 1, {kernelLog: [klog(115.04, 'signaling remaining tasks')]}),
		]);
		const rounds = kinds(h, 'fake-signal');
		// The kernel's line (at x.04) also dates the retries' phase: the estimated rounds fall on x.04 too.
		expect(rounds.map((e) => e.time)).toEqual([t0 + 15_040, t0 + 15_040, t0 + 30_040, t0 + 45_040]);
		expect(rounds.filter((e) => /estimated/.test(e.text))).toHaveLength(3);
		expect(rounds.filter((e) => /kernel log/.test(e.text))).toHaveLength(1);
	});

	describe("on the retries' whole seconds, learnt from the kernel log", () => {
		// Retries at x.038 (a boot's jiffies seconds against the log clock); the start at 100.2 tries once at
		// once (its line at 100.201 is no retry), then at 101.038: round 1 is 14 s after that, at 115.038.
		const retries = [
			klog(100.2, "'p': starting patching transition"),
			klog(100.201, 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait'),
			klog(101.038, 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait'),
			klog(101.039, 'klp_try_switch_task: cat:539 is sleeping on function klp_sleeper_wait_killable'),
			klog(102.039, 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait'),
			klog(103.037, 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait'),
		];

		it("takes one sample per retry and none from the start's own attempt", () => {
			const phase = learnRetryPhase(null, retries, bootTime);
			expect(phase?.samples.map((x) => Math.round(x * 1000))).toEqual([38, 39, 37]);
			expect(retryPhaseS(phase)).toBeCloseTo(0.038, 6);
			expect(learnRetryPhase(null, retries.slice(0, 2), bootTime)?.samples).toEqual([]);
		});

		it('dates round 1 at 14 s after the first retry, which round_jiffies puts on the next whole second', () => {
			const h = foldSnapshot(null, patching(4, 'p', 1, {kernelLog: retries}));
			expect(h.transition?.nextSignalS).toBeCloseTo(115.038 - 104, 6);
			// A start more than a quarter second past a whole second: its first retry is rounded up.
			const late = [klog(100.5, "'p': starting patching transition"), ...retries.slice(2)];
			expect(foldSnapshot(null, patching(4, 'p', 1, {kernelLog: late})).transition?.nextSignalS).toBeCloseTo(
				116.038 - 104,
				2,
			);
			// Later rounds every 15 s on the same phase.
			expect(foldSnapshot(h, patching(20, 'p', 1)).transition?.nextSignalS).toBeCloseTo(130.038 - 120, 6);
		});

		it('dates round 1 of a reversal 15 s after the next whole second', () => {
			const reversed = [
				...retries,
				klog(110.6, "'p': reversing transition from patching to unpatching"),
				klog(110.601, "'p': starting unpatching transition"),
			];
			const h = foldSnapshot(null, unpatching(12, 'p', 52, {kernelLog: reversed}));
			expect(h.transition?.reversals).toBe(1);
			expect(h.transition?.nextSignalS).toBeCloseTo(126.038 - 112, 6);
		});

		it('learns from the first signaling line alone (no dynamic debug), and across polls', () => {
			const h1 = foldSnapshot(
				null,
				patching(16, 'p', 1, {
					kernelLog: [
						klog(100.9, "'p': starting patching transition"),
						klog(115.77, 'signaling remaining tasks'),
					],
				}),
			);
			expect(retryPhaseS(h1.retryPhase)).toBeCloseTo(0.77, 6);
			expect(h1.transition?.nextSignalS).toBeCloseTo(130.77 - 116, 6);
			const h2 = foldSnapshot(h1, patching(17, 'p', 1));
			expect(h2.transition?.nextSignalS).toBeCloseTo(130.77 - 117, 6);
		});

		it('keeps the phase with most samples near it (one late retry does not move it), per boot', () => {
			const noisy = [...retries, klog(104.5, 'klp_try_switch_task: cat:182 is sleeping on function x')];
			expect(retryPhaseS(learnRetryPhase(null, noisy, bootTime))).toBeCloseTo(0.038, 6);
			// Samples on both sides of a whole second are near each other: 0.99 is nearest to 0.98 and 0.01.
			const wrap = [1.98, 3.01, 4.99].map((at) => klog(at, 'signaling remaining tasks'));
			expect(retryPhaseS(learnRetryPhase(null, wrap, bootTime))).toBeCloseTo(0.99, 6);
			const learnt = learnRetryPhase(null, retries, bootTime);
			expect(learnRetryPhase(learnt, [], bootTime + 60_000)).toBeNull();
		});

		it('dates round 1 from the first retry itself when the first attempt came late (6.12 under QEMU)', () => {
			// Observed on Debian 6.12: `starting` at 67.418, the first attempt only at 68.086 (the static calls
			// are rewritten first), so the first retry came at 69.861 (on the 0.745 phase, a little late) and
			// the kernel signalled at 83.746; from the start line alone the estimate would be 82.745.
			const earlier = [
				klog(40.5, "'q': starting patching transition"),
				klog(40.52, 'klp_try_switch_task: cat:144 is sleeping on function x'),
				...[1, 2, 3].map((k) => klog(40.745 + k, 'klp_try_switch_task: cat:144 is sleeping on function x')),
			];
			const lines = [
				...earlier,
				klog(67.418, "'p': starting patching transition"),
				klog(68.086, 'klp_try_switch_task: cat:144 is sleeping on function klp_sleeper_wait'),
				klog(69.861, 'klp_try_switch_task: cat:144 is sleeping on function klp_sleeper_wait'),
				klog(70.73, 'klp_try_switch_task: cat:144 is sleeping on function klp_sleeper_wait'),
			];
			expect(learnRetryPhase(null, lines, bootTime)?.firstRetryS).toBe(69.861);
			const h = foldSnapshot(null, patching(-29, 'p', 1, {kernelLog: lines}));
			expect(h.transition?.nextSignalS).toBeCloseTo(83.745 - 71, 2);
			// Before the first retry shows, from the first attempt's lines: 68.086 + 1 s is past a quarter second
			// after 68.745, so round_jiffies takes 69.745 and round 1 comes 14 retries on.
			const early = foldSnapshot(null, patching(-32, 'p', 1, {kernelLog: lines.slice(0, 7)}));
			expect(early.transition?.nextSignalS).toBeCloseTo(83.745 - 68, 2);
			// Before the first attempt shows, on a kernel known to print them: it has not run by the time the log
			// was read (68.0), so round 1 comes no earlier than from an attempt then.
			const waiting = foldSnapshot(null, patching(-32, 'p', 1, {kernelLog: lines.slice(0, 6)}));
			expect(waiting.transition?.nextSignalS).toBeCloseTo(83.745 - 68, 2);
			// Observed in CI on Debian 6.12 at load: the first attempt 4 s after `starting` (209.17 -> 213.13).
			const late = foldSnapshot(null, patching(-28, 'p', 1, {kernelLog: lines.slice(0, 6)}));
			expect(late.transition?.nextSignalS).toBeCloseTo(87.745 - 72, 2);
			// Awaited no longer than 10 s: its lines lost, or dynamic debug turned off, the start line dates it.
			const lost = foldSnapshot(null, patching(-20, 'p', 1, {kernelLog: lines.slice(0, 6)}));
			expect(lost.transition?.nextSignalS).toBeCloseTo(82.745 - 80, 2);
			// Without dynamic debug on this boot (no earlier task lines), from the start line's rounding as before.
			const plain = [klog(40.745, 'signaling remaining tasks'), lines[5]!];
			const blind = foldSnapshot(null, patching(-28, 'p', 1, {kernelLog: plain}));
			expect(blind.transition?.nextSignalS).toBeCloseTo(82.745 - 72, 2);
		});

		it('counts the retries the log shows (dynamic debug): one that ran late moves the rounds by whole seconds', () => {
			// Observed on Debian 6.12 under a busy host: a retry due at 103.038 ran a second late (the worker ran
			// after a quarter second past its second, and round_jiffies took the next one), so round 1, the
			// kernel's 15th retry, came at 116.04 instead of 115.04.
			const task = 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait';
			const slipped = [
				klog(100.2, "'p': starting patching transition"),
				klog(100.201, task),
				...[101.038, 102.039, 104.04, 105.039].map((at) => klog(at, task)),
			];
			expect(learnRetryPhase(null, slipped, bootTime)?.count).toMatchObject({retries: 4, dense: true});
			const h = foldSnapshot(null, patching(6, 'p', 1, {kernelLog: slipped}));
			expect(h.transition?.nextSignalS).toBeCloseTo(116.039 - 106, 6);
			// The kernel's own line for round 1 dates it; round 2 is 15 retries on.
			const signalled = [
				...slipped,
				...[106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116].map((s) => klog(s + 0.039, task)),
				klog(116.041, 'signaling remaining tasks'),
			];
			const later = foldSnapshot(null, patching(16.5, 'p', 1, {kernelLog: signalled}));
			expect(later.transition?.nextSignalS).toBeCloseTo(131.039 - 116.5, 6);
		});

		it("counts a reversal's retries from its first: round 1 is its 16th retry", () => {
			const task = 'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait';
			const lines = [
				klog(100.2, "'p': starting patching transition"),
				klog(100.201, task),
				klog(101.038, task),
				klog(102.6, "'p': reversing transition from patching to unpatching"),
				klog(102.601, "'p': starting unpatching transition"),
				klog(103.039, task),
				klog(105.04, task), // a second late
			];
			expect(learnRetryPhase(null, lines, bootTime)?.count).toMatchObject({reversal: true, retries: 2});
			const h = foldSnapshot(null, unpatching(6, 'p', 1, {kernelLog: lines}));
			expect(h.transition?.nextSignalS).toBeCloseTo(119.039 - 106, 2);
		});

		it('without any retry line, every 15 s from the start as before', () => {
			const h = foldSnapshot(null, patching(4, 'p', 1, {kernelLog: retries.slice(0, 2)}));
			expect(h.transition?.nextSignalS).toBeCloseTo(115.2 - 104, 6);
			expect(fakeSignalRoundAt(t0, 2, null, false)).toBe(t0 + 30_000);
		});
	});

	it('has no estimate on kernels before 5.1 or with the signal file', () => {
		const old = foldSnapshot(null, patching(14, 'p', 1, {kernelLog: start, release: '4.19.0'}));
		expect(old.transition?.nextSignalS).toBeNull();
		const withSignal = patching(14, 'p', 1, {
			kernelLog: start,
			release: null,
			patches: [patch('p', {transition: true, hasSignal: true})],
		});
		expect(foldSnapshot(null, withSignal).transition?.nextSignalS).toBeNull();
		const unknown = patching(14, 'p', 1, {kernelLog: start, release: null});
		expect(foldSnapshot(null, unknown).transition?.nextSignalS).toBe(1);
	});

	it('parses the release generation', () => {
		const at = (release: string | null) => kernelSendsFakeSignals(snap({at: 0, release}));
		expect([
			at('5.0.21'),
			at('5.1.0'),
			at('6.1.0-56-amd64'),
			at('4.12.14-lp150'),
			at('garbage'),
			at('10.0'),
		]).toEqual([false, true, true, false, true, true]);
	});
});

describe('rate', () => {
	it('is null until two polls, then threads switched per second over the last polls', () => {
		let h = foldSnapshot(null, patching(0, 'p', 50));
		expect(h.transition?.ratePerS).toBeNull();
		h = foldSnapshot(h, patching(2, 'p', 40));
		expect(h.transition?.ratePerS).toBe(5);
		h = foldSnapshot(h, patching(4, 'p', 38));
		expect(h.transition?.ratePerS).toBe(3);
	});

	it('uses a window of five polls and restarts after a reversal', () => {
		let h: History | null = null;
		for (const [at, pending] of [
			[0, 54],
			[1, 50],
			[2, 40],
			[3, 30],
			[4, 20],
			[5, 10],
		] as const) {
			h = foldSnapshot(h, patching(at, 'p', pending));
		}

		// Window is polls 1..5: (50 - 10) / 4 s.
		expect(h!.transition?.ratePerS).toBe(10);
		h = foldSnapshot(h, unpatching(6, 'p', 44));
		expect(h.transition?.ratePerS).toBeNull();
	});
});

describe('events', () => {
	it('keeps at most maxEvents routine events, the most recent', () => {
		const lines = Array.from({length: 12}, (_, i) =>
			klog(90 + i, `klp_try_switch_task: cat:182 is sleeping on function x${i}`),
		);
		const h = foldAll([patching(0, 'p', 1, {kernelLog: lines})], 5);
		// Five routine lines, and the milestone of the start beside them.
		expect(h.events.filter((e) => !isMilestone(e))).toHaveLength(5);
		expect(kinds(h, 'transition-started')).toHaveLength(1);
		expect(h.events.at(-1)?.time).toBeGreaterThanOrEqual(h.events[0]!.time);
		const log = kinds(h, 'kernel-log');
		expect(log.at(-1)?.text).toMatch(/x11$/);
		expect(log.at(-1)?.tid).toBe(182);
	});

	it('recordEvent appends without touching the original', () => {
		const h = foldSnapshot(null, idle(0));
		const event: HistoryEvent = {time: t0, kind: 'action', patch: null, tid: 182, text: 'SIGSTOP 182'};
		const h2 = recordEvent(h, event);
		expect(h2.events.at(-1)).toBe(event);
		expect(h.events).not.toContain(event);
		// Actions are milestones: never collapsed, never pushed out by routine lines.
		expect(recordEvent(h2, event, {maxEvents: 1}).events).toEqual([event, event]);
		const warning: HistoryEvent = {time: t0, kind: 'warning', patch: null, tid: null, text: 'w'};
		expect(recordEvent(recordEvent(h, warning), {...warning, text: 'v'}, {maxEvents: 1}).events).toEqual([
			{...warning, text: 'v'},
		]);
	});

	it('collapses a repeated line into one, counted, at its latest time', () => {
		// The kernel prints "is sleeping on function" for every blocker on every ~1 s retry.
		const sleeping = (tid: number) =>
			`klp_try_switch_task: cat:${tid} is sleeping on function klp_sleeper_wait`;
		const polls = Array.from({length: 5}, (_, i) =>
			patching(2 + i, 'p', 2, {
				blockers: [blocker(182), blocker(183)],
				kernelLog: [klog(101 + i, sleeping(182)), klog(101.5 + i, sleeping(183))],
			}),
		);
		const h = foldAll([idle(0), ...polls]);
		const log = kinds(h, 'kernel-log');
		expect(log.map((e) => [e.tid, e.repeats, e.time])).toEqual([
			[182, 5, t0 + 5000],
			[183, 5, t0 + 5500],
		]);
	});

	it('keeps the milestones when routine lines overflow the bound', () => {
		// 20 polls of 30 distinct lines each: 600 routine events for a bound of 50.
		const polls = Array.from({length: 20}, (_, i) =>
			patching(2 + i, 'p', 1, {
				blockers: [blocker(182)],
				kernelLog: Array.from({length: 30}, (_, j) =>
					klog(101 + i + j / 100, `klp_try_switch_task: w${j}:${1000 * i + j} is running`),
				),
			}),
		);
		const h = foldAll([idle(0), ...polls, idle(25)], 50);
		expect(h.events.filter((e) => !isMilestone(e))).toHaveLength(50);
		expect(kinds(h, 'transition-started')).toHaveLength(1);
		expect(kinds(h, 'transition-completed')).toHaveLength(1);
		expect(kinds(h, 'fake-signal').length).toBeGreaterThan(0);
	});

	it('reports a warning once, not on every poll', () => {
		const h = foldAll([
			idle(0, [], {warnings: ['stack: EACCES']}),
			idle(1, [], {warnings: ['stack: EACCES']}),
		]);
		expect(kinds(h, 'warning')).toHaveLength(1);
	});

	it('does not mutate its inputs', () => {
		const a = idle(0);
		const h1 = foldSnapshot(null, a);
		const copy = JSON.stringify(h1.events);
		foldSnapshot(h1, patching(1, 'p', 1, {blockers: [blocker(1)]}));
		expect(JSON.stringify(h1.events)).toBe(copy);
		expect(h1.polls).toBe(1);
	});
});

describe('any sequence of snapshots', () => {
	const patchName = fc.constantFrom('p', 'q');
	const logLine = fc.oneof(
		fc
			.tuple(patchName, fc.constantFrom('patching', 'unpatching'))
			.map(([p, d]) => `'${p}': starting ${d} transition`),
		fc.tuple(patchName, fc.constantFrom('patching', 'unpatching')).map(([p, d]) => `'${p}': ${d} complete`),
		patchName.map((p) => `'${p}': reversing transition from patching to unpatching`),
		fc.constant('forcing remaining tasks to the patched state'),
		fc.constant('signaling remaining tasks'),
		fc.string({maxLength: 20}),
	);
	const step = fc.record({
		dt: fc.integer({min: 0, max: 20_000}),
		kind: fc.constantFrom('idle', 'patching', 'unpatching'),
		patch: patchName,
		tids: fc.uniqueArray(fc.integer({min: 1, max: 8}), {maxLength: 4}),
		starttime: fc.integer({min: 0, max: 3}),
		// Up to 200 s before the poll that reads them (a kernel log line is never from the future).
		log: fc.array(fc.tuple(fc.integer({min: 0, max: 200_000}), logLine), {maxLength: 3}),
		release: fc.constantFrom('6.1.0', '4.19.0', null, 'x'),
		threads: fc.boolean(),
	});

	it('never throws and keeps its invariants', () => {
		fc.assert(
			fc.property(fc.array(step, {minLength: 1, maxLength: 25}), (steps) => {
				let h: History | null = null;
				let at = 0;
				for (const s of steps) {
					at += s.dt / 1000;
					const blockers =
						s.kind === 'idle' ? [] : s.tids.map((tid) => blocker(tid, {starttime: s.starttime}));
					const extra = {
						blockers,
						kernelLog: s.log.map(([ms, text]) => klog(Math.max(0, at - ms / 1000), text)),
						release: s.release,
						threads: s.threads ? s.tids.map((tid) => thread(tid, s.starttime)) : null,
					};
					const snapshot =
						s.kind === 'idle'
							? idle(at, [patch(s.patch)], extra)
							: s.kind === 'patching'
								? patching(at, s.patch, blockers.length, extra)
								: unpatching(at, s.patch, blockers.length, extra);
					h = foldSnapshot(h, snapshot, {maxEvents: 50});
					expect(h.events.filter((e) => !isMilestone(e)).length).toBeLessThanOrEqual(50);
					expect(h.events.filter((e) => isMilestone(e)).length).toBeLessThanOrEqual(maxMilestones);
					// A start still being set up holds nobody back yet (the kernel has not tried a task).
					expect([...h.blockers.keys()].sort()).toEqual(
						h.transition?.initializing ? [] : blockers.map((b) => `${b.tid}:${b.starttime}`).sort(),
					);
					for (const memory of h.blockers.values()) {
						expect(memory.firstSeen).toBeLessThanOrEqual(snapshot.time);
					}

					expect(h.hiddenBlocker).toBe(h.invisiblePolls > 2);
					if (s.kind === 'idle') {
						expect(h.transition).toBeNull();
					} else {
						const t = h.transition!;
						expect(t.patch).toBe(s.patch);
						// A start being set up may read as the other direction (a load, a disable on 6.4-6.15).
						expect(t.direction === s.kind || t.initializing).toBe(true);
						// (A disable being set up: every task is still at 1, all of them pending.)
						expect(t.direction !== s.kind || t.pending === blockers.length).toBe(true);
						expect(t.elapsedS === null || t.elapsedS >= 0).toBe(true);
						// Round 1 comes at most 15.75 s after a start and 16 s after a reversal (fakeSignalRoundAt), or
						// 14-15 s after a first retry seen up to 3 s in: at most 18.5 s ahead.
						expect(t.nextSignalS === null || (t.nextSignalS > 0 && t.nextSignalS <= 18.5)).toBe(true);
						expect(t.startedAt === null || t.startedAt <= snapshot.time).toBe(true);
					}
				}
			}),
			{numRuns: 300},
		);
	});
});

describe('a patch being disabled on 6.4-6.15 (enabled still 1 while the static calls are rewritten)', () => {
	it('is an unpatching transition being set up, not a patching one that reverses', () => {
		const before = foldSnapshot(null, idle(1, [patch('p')]));
		// Every task still at 1 (the kernel has not tried one yet): all of them pending, nobody a blocker.
		const start = patching(2, 'p', 0, {kernelLog: [klog(101.9, "'p': starting unpatching transition")]});
		const h1 = foldSnapshot(before, start);
		expect(h1.transition).toMatchObject({
			direction: 'unpatching',
			target: 0,
			initializing: true,
			pending: 54,
		});
		// The next poll has no new line: the previous one already saw it.
		const h2 = foldSnapshot(h1, patching(2.5, 'p', 0));
		expect(h2.transition).toMatchObject({direction: 'unpatching', initializing: true});
		const h3 = foldSnapshot(h2, unpatching(3, 'p', 1));
		expect(h3.transition).toMatchObject({direction: 'unpatching', pending: 1});
		expect(h3.events.filter((e) => e.kind === 'transition-reversed')).toEqual([]);
		// Its end: `patched` drops to 0 before `transition` does, which alone reads like a load initialising.
		const ending = snap({
			at: 4,
			patches: [patch('p', {enabled: false, transition: true})],
			transition: {patch: 'p', direction: 'patching', target: 1, initializing: true},
			byPatchState: {'-1': 0, '0': 54, '1': 0},
		});
		const h4 = foldSnapshot(h3, ending);
		expect(h4.transition).toMatchObject({direction: 'unpatching', pending: 0});
		expect(h4.events.filter((e) => e.kind === 'transition-reversed')).toEqual([]);
		// Without the line, enabled 1 and transition 1 stay a patching transition.
		expect(foldSnapshot(before, patching(2, 'p', 0)).transition?.direction).toBe('patching');
	});
});

describe('a patch being loaded (enabled 0, transition 1 inside insmod)', () => {
	/** What the reader returns before 6.1 (no `patched`) during the init window: sysfs taken at its word. */
	const noPatched = [{name: 'vmlinux', patched: null, functions: [{name: 'cmdline_proc_show', sympos: 1}]}];
	const loadingRaw = (at: number, extra: Partial<Parameters<typeof snap>[0]> = {}) =>
		snap({
			at,
			release: '5.10.0-30-amd64',
			patches: [patch('p', {enabled: false, transition: true, objects: noPatched})],
			transition: {patch: 'p', direction: 'unpatching', target: 0},
			byPatchState: {'-1': 0, '0': 70, '1': 0},
			...extra,
		});
	const patchingOld = (at: number, pending: number) =>
		patching(at, 'p', pending, {
			release: '5.10.0-30-amd64',
			patches: [patch('p', {enabled: true, transition: true, objects: noPatched})],
		});

	it('the reader saw it (patched=0): one patching transition, initialising then running, no reversal', () => {
		const h1 = foldAll([
			idle(0),
			snap({
				at: 1,
				patches: [
					patch('p', {
						enabled: false,
						transition: true,
						objects: [{name: 'vmlinux', patched: false, functions: []}],
					}),
				],
				transition: {patch: 'p', direction: 'patching', target: 1, initializing: true},
				byPatchState: {'-1': 0, '0': 70, '1': 0},
			}),
		]);
		expect(h1.transition).toMatchObject({direction: 'patching', target: 1, initializing: true, pending: 70});
		expect(kinds(h1, 'transition-started').map((e) => e.text)).toEqual([
			'p: patching transition initialising (insmod in progress)',
		]);
		const h2 = foldSnapshot(h1, patching(2, 'p', 3));
		expect(h2.transition).toMatchObject({direction: 'patching', reversals: 0, pending: 3});
		expect(h2.transition?.initializing).toBeUndefined();
		expect(kinds(h2, 'transition-reversed')).toEqual([]);
	});

	it('no patched file: a patch absent a poll earlier is initialising, and stays so while enabled reads 0', () => {
		const h = foldAll([idle(0), loadingRaw(1)]);
		expect(h.transition).toMatchObject({patch: 'p', direction: 'patching', target: 1, initializing: true});
		expect(h.transition?.pending).toBe(70);
		expect(h.snapshot.transition).toEqual({patch: 'p', direction: 'patching', target: 1, initializing: true});
		const h2 = foldSnapshot(h, loadingRaw(1.25));
		expect(h2.transition).toMatchObject({direction: 'patching', initializing: true});
		const h3 = foldSnapshot(h2, patchingOld(2, 2));
		expect(h3.transition).toMatchObject({direction: 'patching', reversals: 0, startedAt: t0 + 500});
		expect(kinds(h3, 'transition-reversed')).toEqual([]);
		expect(kinds(h3, 'transition-started')).toHaveLength(1);
	});

	it('6.4-6.15: patched reads 1 while the start rewrites the static calls; still the load, not a reversal', () => {
		// insmod: klp_patch_object() set `patched` 1, klp_start_transition() is rewriting cond_resched(),
		// `enabled` still 0 (seconds under TCG on 6.12); the kernel log spoke only on the first poll.
		const rewriting = (at: number, kernelLog: ReturnType<typeof klog>[] = []) =>
			snap({
				at,
				release: '6.12.118+deb12-cloud-amd64',
				patches: [
					patch('p', {
						enabled: false,
						transition: true,
						objects: [{name: 'vmlinux', patched: true, functions: []}],
					}),
				],
				transition: {patch: 'p', direction: 'unpatching', target: 0},
				byPatchState: {'-1': 0, '0': 60, '1': 10},
				kernelLog,
			});
		const h = foldAll([
			idle(0),
			rewriting(1, [klog(100.5, "enabling patch 'p'"), klog(100.6, "'p': starting patching transition")]),
			rewriting(2),
			rewriting(3),
		]);
		expect(h.transition).toMatchObject({patch: 'p', direction: 'patching', initializing: true});
		// The reader's blockers of the unpatching it saw are not the load's.
		expect(foldSnapshot(h, {...rewriting(3.5), blockers: [blocker(77)]}).snapshot.blockers).toEqual([]);
		const h2 = foldSnapshot(h, patching(4, 'p', 1));
		expect(kinds(h2, 'transition-reversed')).toEqual([]);
		expect(kinds(h2, 'transition-started')).toHaveLength(1);
		// Without the first poll's log line nothing tells it from an unpatching transition: sysfs is believed.
		expect(foldAll([idle(0), rewriting(2), rewriting(3)]).transition).toMatchObject({
			direction: 'unpatching',
		});
	});

	it('no patched file: a patch already there a poll earlier is a real unpatching transition', () => {
		const before = snap({
			at: 0,
			release: '5.10.0-30-amd64',
			patches: [patch('p', {enabled: true, objects: noPatched})],
		});
		const h = foldAll([before, loadingRaw(1, {byPatchState: {'-1': 0, '0': 53, '1': 1}})]);
		expect(h.transition).toMatchObject({direction: 'unpatching', target: 0});
		expect(h.transition?.initializing).toBeUndefined();
	});

	it('the kernel log decides when it speaks: enabling/initializing means loading, a later line does not', () => {
		const present = snap({
			at: 0,
			release: '5.10.0-30-amd64',
			patches: [patch('p', {enabled: false, transition: false, objects: noPatched})],
		});
		const loadingLog = [
			klog(100.5, "enabling patch 'p'"),
			klog(100.6, "'p': initializing patching transition"),
		];
		// The directory was there already (the load's sysfs step), so only the log can tell.
		expect(foldAll([present, loadingRaw(1, {kernelLog: loadingLog})]).transition).toMatchObject({
			direction: 'patching',
			initializing: true,
		});
		expect(foldAll([present, loadingRaw(1)]).transition).toMatchObject({direction: 'unpatching'});
		// --once: one snapshot, its log says it.
		expect(foldSnapshot(null, loadingRaw(1, {kernelLog: loadingLog})).transition).toMatchObject({
			direction: 'patching',
			initializing: true,
		});
		const unpatchLog = [
			...loadingLog,
			klog(100.7, "'p': starting patching transition"),
			klog(101, "'p': patching complete"),
			klog(102, "'p': initializing unpatching transition"),
		];
		expect(foldSnapshot(null, loadingRaw(3, {kernelLog: unpatchLog})).transition).toMatchObject({
			direction: 'unpatching',
		});
	});

	it('with the starting line a poll later the transition is followed, not reversed', () => {
		const h = foldAll([
			idle(0),
			loadingRaw(1, {kernelLog: [klog(100.5, "enabling patch 'p'")]}),
			patchingOld(2, 5),
		]);
		const h2 = foldSnapshot(h, patchingOld(3, 4));
		const withLine = foldSnapshot(h, {
			...patchingOld(2.5, 4),
			kernelLog: [klog(100.7, "'p': starting patching transition")],
		});
		expect(kinds(h2, 'transition-reversed')).toEqual([]);
		expect(kinds(withLine, 'transition-reversed')).toEqual([]);
		expect(withLine.transition).toMatchObject({
			direction: 'patching',
			startedFrom: 'kernel-log',
			reversals: 0,
		});
	});
});

describe('a refused load (EBUSY): its directory shows enabled 0 transition 0 while insmod runs', () => {
	it('appears and disappears as such, and is never a transition', () => {
		const busy = (at: number, withNew: boolean) =>
			unpatching(at, 'old', 1, {
				patches: [
					patch('old', {enabled: false, transition: true}),
					...(withNew ? [patch('new', {enabled: false, transition: false})] : []),
				],
			});
		const h = foldAll([busy(0, false), busy(1, true), busy(2, false)]);
		expect(kinds(h, 'patch-appeared').map((e) => e.text)).toEqual([
			"new: patch appeared while old's transition runs (its load is refused with EBUSY)",
		]);
		expect(kinds(h, 'patch-disappeared').map((e) => e.text)).toEqual([
			"new: patch disappeared (its load was refused while old's transition ran)",
		]);
		expect(h.events.filter((e) => e.patch === 'new').map((e) => e.kind)).toEqual([
			'patch-appeared',
			'patch-disappeared',
		]);
		expect(h.transition).toMatchObject({patch: 'old', direction: 'unpatching', reversals: 0});
		expect(h.lastTransition).toBeNull();
	});
});
