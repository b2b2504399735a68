// The transition's timeline in the history (source/model/timeline.ts) and how the views draw it
// (source/views/timeline.ts): folded live from the emulated kernel, and drawn from hand-made ones.
import {describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import {foldTimeline, maxTimelineSamples} from '../../source/model/timeline.js';
import type {TransitionTimeline} from '../../source/model/types.js';
import type {History, TransitionProgress} from '../../source/model/types.js';
import {createReader} from '../../source/sources/reader.js';
import {markRow, sparkline, transitionHistory} from '../../source/views/timeline.js';
import {emulated} from '../script/helpers.js';
import {liveHistories} from '../record/helpers.js';

describe('the history timeline', () => {
	it('follows a transition from start to end: pending per poll, the kernel round once, the end', () => {
		const histories = liveHistories('stuck-interruptible', 25);
		const during = histories.filter((h) => h.transition !== null);
		const last = histories.at(-1)!.timeline!;
		expect(last.patch).toBe('klp_sleeper_patch');
		expect(last.samples.map((s) => s.pending)).toEqual(during.map((h) => h.transition!.pending));
		expect(last.samples.map((s) => s.time)).toEqual(during.map((h) => h.snapshot.time));
		// The kernel's "signaling remaining tasks" line and the 15 s estimate are one round.
		expect(last.marks.map((m) => m.kind)).toEqual(['started', 'fake-signal', 'completed']);
		expect(last.marks[1]!.text).toContain('kernel log');
		expect(last.endedAt).toBe(histories.at(-1)!.lastTransition!.endedAt);
		// It stays, ended, on the idle polls after.
		expect(histories.at(-1)!.transition).toBeNull();
	});

	it('marks a reversal and keeps one timeline across it', () => {
		const opened = emulated('stuck-killable');
		const reader = createReader(opened.port, opened.source);
		let history: History | null = null;
		for (let s = 0; s < 24; s++) {
			if (s === 20)
				void opened.emulation.control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0');
			history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: opened.emulation.now}));
			opened.emulation.advance(1000);
		}

		const kinds = history!.timeline!.marks.map((m) => m.kind);
		expect(kinds).toEqual(['started', 'fake-signal', 'reversed', 'completed']);
		expect(history!.timeline!.direction).toBe('patching');
	});

	it('keeps at most maxTimelineSamples samples, the newest always', () => {
		const progress = (pending: number): TransitionProgress => ({
			patch: 'p',
			direction: 'patching',
			target: 1,
			startedAt: 0,
			startedFrom: 'observed',
			directionSince: 0,
			elapsedS: 0,
			pending,
			total: 10_000,
			ratePerS: null,
			nextSignalS: null,
			reversals: 0,
		});
		let timeline: TransitionTimeline | null = null;
		for (let i = 0; i < 3 * maxTimelineSamples; i++) {
			timeline = foldTimeline(timeline, [], progress(10_000 - i), i * 1000);
		}

		expect(timeline!.samples.length).toBeLessThanOrEqual(maxTimelineSamples);
		expect(timeline!.samples.at(-1)).toEqual({
			time: (3 * maxTimelineSamples - 1) * 1000,
			pending: 10_000 - (3 * maxTimelineSamples - 1),
		});
		expect(timeline!.samples[0]).toEqual({time: 0, pending: 10_000});
	});
});

describe('drawing the timeline', () => {
	// 4 s, 8 cells of 0.5 s: pending 4 at 0 s, 2 at 1 s, 1 at 2 s, ended at 4 s.
	const timeline: TransitionTimeline = {
		patch: 'p',
		direction: 'patching',
		startedAt: 0,
		endedAt: 4000,
		samples: [
			{time: 0, pending: 4},
			{time: 1000, pending: 2},
			{time: 2000, pending: 1},
		],
		marks: [
			{time: 0, kind: 'started', text: 'p: started'},
			{time: 1000, kind: 'fake-signal', text: 'round 1'},
			{time: 3000, kind: 'reversed', text: 'p: reversed'},
			{time: 4000, kind: 'completed', text: 'p: done'},
		],
	};

	it('as a sparkline: the most pending of each slice, carried over gaps, blank once ended', () => {
		expect(sparkline(timeline, 4000, 8, false)).toBe('██▄▄▂   ');
		expect(sparkline(timeline, 4000, 8, true)).toBe('##~~.   ');
		// While it runs, the last count carries to now.
		expect(sparkline({...timeline, endedAt: null}, 4000, 8, false)).toBe('██▄▄▂▂▂▂');
	});

	it('with its marks under the same columns: F over R over A over S', () => {
		const marks = [...timeline.marks, {time: 1200, kind: 'action' as const}];
		expect(markRow(marks, 0, 4000, 8)).toBe('  A   R ');
		expect(markRow(timeline.marks, 0, 4000, 8)).toBe('  S   R ');
		expect(markRow([{time: 3100, kind: 'forced'}, ...timeline.marks], 0, 4000, 8)).toBe('  S   F ');
		// An action audited just after the end it caused (a nudge reports once its thread switched)
		// is drawn at the end; one long after belongs to no mark.
		expect(markRow([{time: 6000, kind: 'action'}], 0, 4000, 8)).toBe('       A');
		expect(markRow([{time: 20_000, kind: 'action'}], 0, 4000, 8)).toBe('        ');
	});

	it('as the patch detail history: the first two rounds, then one line for the rest', () => {
		const rounds = Array.from({length: 6}, (_, i) => ({
			time: (i + 1) * 15_000,
			kind: 'fake-signal' as const,
			text: `round ${i + 1}`,
		}));
		const marks = [
			{time: 0, kind: 'started' as const, text: 'started'},
			...rounds,
			{time: 100_000, kind: 'action' as const, text: 'reverse p: ok'},
			{time: 101_000, kind: 'completed' as const, text: 'done'},
		];
		expect(transitionHistory(marks, 10).map((line) => [line.time, line.word, line.text])).toEqual([
			[0, 'started', 'started'],
			[15_000, 'signalled', 'round 1'],
			[30_000, 'signalled', 'round 2'],
			[90_000, 'signalled', '4 more fake-signal rounds, the last one here'],
			[100_000, 'our action', 'reverse p: ok'],
			[101_000, 'completed', 'done'],
		]);
		// Short of room: the first lines and the last one.
		expect(transitionHistory(marks, 3).map((line) => line.word)).toEqual([
			'started',
			'signalled',
			'completed',
		]);
	});
});
