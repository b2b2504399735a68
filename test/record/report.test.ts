// `klptop report` (source/record/report.ts, report-text.ts) on recordings of emulated transitions
// whose story is known: who held it, where, for how long, what was done, and how it ended.
import {describe, expect, it} from 'vitest';
import {loadRecording} from '../../source/record/load.js';
import {buildReport} from '../../source/record/report.js';
import {reportJson, reportText} from '../../source/record/report-text.js';
import {recordScenario, reverseAs} from './helpers.js';

describe('the post-mortem', () => {
	it('of a D-state stall reversed by an operator: the blocker, its function, the action, the outcome', async () => {
		const {file} = await recordScenario('stuck-killable', 40, {
			atSecond: {20: reverseAs('alice')},
		});
		const recording = loadRecording(file);
		const report = buildReport(recording);
		expect(report.transitions).toHaveLength(1);
		const t = report.transitions[0]!;
		const start = recording.header.start;
		expect(t).toMatchObject({
			patch: 'klp_sleeper_patch',
			direction: 'patching',
			finalDirection: 'unpatching',
			outcome: 'reversed-completed',
			reversals: 1,
			startedFrom: 'kernel-log',
		});
		expect(t.endedAt).toBeGreaterThan(start + 20_000);
		expect(t.endedAt).toBeLessThan(start + 24_000);
		const cat = t.blockers[0]!;
		expect(cat).toMatchObject({
			tid: 539,
			comm: 'cat',
			function: 'klp_sleeper_wait_killable',
			object: 'klp_sleeper',
			class: 'uninterruptible',
			ended: 'reversal',
		});
		// From the start of the transition to the first poll after the reversal (written just before
		// the poll at 20 s: the kernel reverses at once, so that poll no longer lists it).
		expect(cat.from).toBe(t.startedAt);
		expect(cat.until).toBe(start + 20_000);
		expect(cat.heldS).toBeCloseTo((start + 20_000 - t.startedAt) / 1000, 3);
		expect(t.actions.map(({entry}) => [entry.action, entry.user, entry.result])).toEqual([
			['reverse', 'alice', 'ok'],
		]);
		const kinds = t.marks.map((mark) => mark.kind);
		// The write and the kernel's reversal line share a moment: either may sort first.
		expect(kinds.slice(0, 2)).toEqual(['started', 'fake-signal']);
		expect(new Set(kinds.slice(2, 4))).toEqual(new Set(['action', 'reversed']));
		expect(kinds.slice(4)).toEqual(['completed']);
		const round = t.marks.find((mark) => mark.kind === 'fake-signal')!;
		// The kernel's own line (observed 14.81-15.56 s after the start), not the 15 s estimate.
		expect(round.text).toContain('kernel log');
		expect((round.time - t.startedAt) / 1000).toBeGreaterThan(14.8);
		expect((round.time - t.startedAt) / 1000).toBeLessThan(15.6);

		const text = reportText(report);
		expect(text).toContain('Transition 1: klp_sleeper_patch patching');
		expect(text).toContain('reversed, and the reversal completed after 21s');
		expect(text).toMatch(/ 539 cat +klp_sleeper_wait_killable \[klp_sl~ uninterruptible +20s +reversal/);
		expect(text).toContain('reverse klp_sleeper_patch: ok, now unpatching (by alice)');

		const json = reportJson(report);
		expect(json.format).toBe('klptop-report');
		expect(json.transitions[0]!.outcome).toBe('reversed-completed');
		expect(json.transitions[0]!.blockers[0]).toMatchObject({tid: 539, ended: 'reversal'});
		expect(json.transitions[0]!.blockers[0]!.held_s).toBe(Math.round(cat.heldS * 1000) / 1000);
		expect(json.transitions[0]!.pending[0]).toEqual([new Date(start).toISOString(), 1]);
	});

	it('of a recording that ends mid-transition, and of a transition that completes by itself', async () => {
		const running = buildReport(loadRecording((await recordScenario('stuck-killable', 10)).file));
		expect(running.transitions[0]).toMatchObject({outcome: 'still running', endedAt: null, pendingAtEnd: 1});
		expect(running.transitions[0]!.blockers[0]).toMatchObject({tid: 539, ended: 'still blocking'});
		// Started 0.4 s before the first poll, recorded to the tenth (second 9).
		expect(reportText(running)).toContain('still running when the recording ended (9s recorded)');

		const done = buildReport(loadRecording((await recordScenario('stuck-interruptible', 30)).file));
		expect(done.transitions).toHaveLength(1);
		expect(done.transitions[0]).toMatchObject({outcome: 'completed', reversals: 0, pendingAtEnd: 0});
		// cat 182 is freed by the kernel's first fake-signal round (~15 s), the transition completes right after.
		expect(done.transitions[0]!.blockers).toMatchObject([
			{tid: 182, function: 'klp_sleeper_wait', ended: 'switched'},
		]);
		expect(done.transitions[0]!.durationS).toBeGreaterThan(15);
		expect(done.transitions[0]!.durationS).toBeLessThan(18);
	});
});
