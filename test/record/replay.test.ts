// Replaying a recording (source/record/replay.ts, commands.ts): the history at any recorded poll is
// the one the dashboard folded live, in any visiting order; our recorded actions and the kernel's
// fake-signal rounds are events to jump to; --at and --once/-b pick polls as documented.
import {describe, expect, it} from 'vitest';
import {startIndex, printReplay, resolveAt} from '../../source/record/commands.js';
import {loadRecording} from '../../source/record/load.js';
import {checkpointEvery, createReplay} from '../../source/record/replay.js';
import {parseAt} from '../../source/cli/flags.js';
import {memoryIo, ndjson} from '../script/helpers.js';
import {liveHistories, recordScenario, reverseAs} from './helpers.js';

describe('a replay', () => {
	it('shows at every poll, visited in any order, the history the dashboard folded live', async () => {
		const polls = checkpointEvery * 2 + 10;
		const {file} = await recordScenario('demo', polls);
		const replay = createReplay(loadRecording(file));
		const live = liveHistories('demo', polls);
		// Every poll of a stall is recorded (a transition runs throughout).
		expect(replay.count).toBe(polls);
		const order = [polls - 1, 3, 2, checkpointEvery, checkpointEvery - 1, 0, polls - 2, 70, 71, 72];
		for (const i of order) {
			const at = replay.historyAt(i);
			const want = live[i]!;
			expect(at.snapshot.time).toBe(want.snapshot.time);
			// The fake-signal estimate is dated on the retries' times, learnt from the per-task kernel log lines
			// a recording does not keep (learnRetryPhase): without them the replay counts 15 s from the start,
			// up to about a second off the live estimate (0.46 s here), and its estimated rounds are not compared.
			const {nextSignalS, ...rest} = at.transition!;
			const {nextSignalS: wantNext, ...wantRest} = want.transition!;
			expect(rest).toEqual(wantRest);
			expect(nextSignalS === null).toBe(wantNext === null);
			expect(Math.abs((nextSignalS ?? 0) - (wantNext ?? 0))).toBeLessThan(1);
			expect(at.lastTransition).toEqual(want.lastTransition);
			expect([...at.blockers]).toEqual([...want.blockers]);
			const estimated = (e: {text: string}) => e.text.includes('(estimated');
			expect(at.events.filter((e) => !estimated(e)).map((e) => [e.time, e.kind])).toEqual(
				want.events
					.filter((e) => !e.text.includes('klp_try_switch_task') && !estimated(e))
					.map((e) => [e.time, e.kind]),
			);
		}
	});

	it('jumps to the start, the fake-signal rounds, our actions, the reversal and the end', async () => {
		const {file} = await recordScenario('stuck-killable', 40, {atSecond: {20: reverseAs('alice')}});
		const recording = loadRecording(file);
		expect(recording.actions.map((a) => [a.entry.action, a.entry.user])).toEqual([['reverse', 'alice']]);
		const replay = createReplay(recording);
		const kinds = replay.jumps.map((jump) => jump.event.kind);
		expect(kinds[0]).toBe('transition-started');
		expect(kinds).toContain('fake-signal');
		expect(kinds).toContain('action');
		expect(kinds).toContain('transition-reversed');
		expect(kinds.at(-1)).toBe('transition-completed');
		const action = replay.jumps.find((jump) => jump.event.kind === 'action')!;
		// The action is in the history from the poll after it was audited, with its own time.
		expect(replay.timeAt(action.index)).toBeGreaterThanOrEqual(action.event.time);
		expect(replay.historyAt(action.index).events.some((e) => e.kind === 'action')).toBe(true);
		expect(replay.historyAt(action.index - 1).events.some((e) => e.kind === 'action')).toBe(false);
		// Jumping walks the points in order and stops at the ends.
		let at = 0;
		const visited: number[] = [];
		for (let next = replay.nextJump(at); next !== null; next = replay.nextJump(at)) {
			visited.push(next);
			at = next;
		}

		expect(visited).toEqual([...new Set(replay.jumps.map((jump) => jump.index))].filter((i) => i > 0));
		expect(replay.previousJump(visited[0]!)).toBe(
			replay.jumps[0]!.index < visited[0]! ? replay.jumps[0]!.index : null,
		);
	});

	it('starts where --at says: an offset, an ISO time, a clock time; by default at the first transition', async () => {
		const {file} = await recordScenario('stuck-interruptible', 30);
		const replay = createReplay(loadRecording(file));
		const start = replay.recording.header.start;
		expect(resolveAt(parseAt('+90s'), replay.recording)).toBe(start + 90_000);
		expect(resolveAt(parseAt('2m'), replay.recording)).toBe(start + 120_000);
		expect(resolveAt(parseAt(new Date(start + 5000).toISOString()), replay.recording)).toBe(start + 5000);
		const local = new Date(start + 7000);
		const clock = `${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}:${String(local.getSeconds()).padStart(2, '0')}`;
		expect(resolveAt(parseAt(clock), replay.recording)).toBe(start + 7000);
		expect(startIndex(replay, '+10s')).toBe(replay.indexAt(start + 10_000));
		expect(replay.timeAt(startIndex(replay, '+10s'))).toBeLessThanOrEqual(start + 10_000);
		expect(replay.snapshotAt(startIndex(replay, undefined)).transition).not.toBeNull();
		expect(() => startIndex(replay, '+3h')).toThrow(/outside the recording/);
		expect(() => parseAt('yesterday')).toThrow(/--at takes seconds from the start/);
	});

	it('prints --once and -b frames of the recording, as JSON with where they come from', async () => {
		const {file} = await recordScenario('stuck-interruptible', 30);
		const replay = createReplay(loadRecording(file));
		const once = memoryIo();
		await printReplay({replay, start: startIndex(replay, '+15s'), json: true, width: 100, batch: null}, once);
		const doc = JSON.parse(once.stdout.text()) as {
			time: string;
			transition: {pending: number} | null;
			replay: {host: string; poll: number; polls: number};
		};
		expect(doc.replay).toMatchObject({host: 'testhost', poll: 16, polls: replay.count});
		expect(doc.time).toBe(new Date(replay.timeAt(15)).toISOString());

		const batch = memoryIo();
		await printReplay({replay, start: 0, json: true, width: 100, batch: {n: 5, everyS: 2}}, batch);
		const frames = ndjson(batch.stdout.text());
		expect(frames.map((frame) => frame['time'])).toEqual(
			[0, 2, 4, 6, 8].map((s) =>
				new Date(replay.timeAt(replay.indexAt(replay.timeAt(0) + s * 1000))).toISOString(),
			),
		);

		const text = memoryIo();
		await printReplay({replay, start: 0, json: false, width: 100, batch: {n: null, everyS: null}}, text);
		expect(text.stdout.text().match(/^Replay of /gm)).toHaveLength(replay.count);
	});
});
