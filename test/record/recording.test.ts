// Writing and reading recordings (source/record/delta.ts, writer.ts, load.ts) against the emulated
// kernel: every recorded poll comes back as the reader saw it, idle polls cost nothing, rotation
// keeps FILE.1..FILE.3 and reads them back as one run, and a file that is not ours is never touched.
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {blockerKey} from '../../source/model/types.js';
import type {Snapshot} from '../../source/model/types.js';
import {applyFrame, encodeFrame, recordedSnapshot} from '../../source/record/delta.js';
import {loadRecording} from '../../source/record/load.js';
import {createReplay} from '../../source/record/replay.js';
import {createReader} from '../../source/sources/reader.js';
import {emulated} from '../script/helpers.js';
import {recordScenario} from './helpers.js';

/**
What a recording keeps of a snapshot: everything but the thread list, the per-task log lines and
what the live scan cost (scanCost: a replay scans nothing).
*/
function kept(snapshot: Snapshot) {
	const {scanCost: _cost, ...rest} = snapshot;
	return {
		...rest,
		threads: null,
		blockers: [...snapshot.blockers].sort((a, b) => (blockerKey(a) < blockerKey(b) ? -1 : 1)),
		kernelLog: snapshot.kernelLog.filter((line) => !line.text.includes('klp_try_switch_task')),
	};
}

function scans(scenario: string, seconds: number, threads?: number): Snapshot[] {
	const opened = emulated(scenario, threads === undefined ? {} : {threads});
	const reader = createReader(opened.port, opened.source);
	const out: Snapshot[] = [];
	for (let s = 0; s < seconds; s++) {
		out.push(reader.scan({threads: 'blockers', clock: opened.emulation.now}));
		opened.emulation.advance(1000);
	}

	return out;
}

describe('frames', () => {
	it.each([
		['many', 2000],
		['churn', undefined],
		['unpatch-fake-signal', undefined],
		['demo', undefined],
	] as const)('rebuild every poll of %s as the reader saw it', (scenario, threads) => {
		const seen = scans(scenario, 40, threads);
		const start = seen[0]!.time;
		let recorded: Snapshot | null = null;
		let rebuilt: Snapshot | null = null;
		let sawBlockerChange = false;
		for (const [i, snapshot] of seen.entries()) {
			const frame = encodeFrame(recorded, snapshot, {t: snapshot.time - start, full: i === 0});
			if (i > 0 && (frame.blockers !== undefined || frame.gone !== undefined)) sawBlockerChange = true;
			recorded = recordedSnapshot(recorded, snapshot, frame);
			// Through JSON, as the file stores it.
			rebuilt = applyFrame(rebuilt, JSON.parse(JSON.stringify(frame)), start, snapshot.source);
			expect(kept(rebuilt)).toEqual(kept(snapshot));
		}

		expect(sawBlockerChange).toBe(true);
	});

	it('write only the changed blockers: a poll where nothing moved is its time stamp', () => {
		const [a, b] = scans('stuck-killable', 2);
		const frame = encodeFrame(a!, b!, {t: 1000, full: false});
		expect(a!.blockers.length).toBe(1);
		expect(frame).toEqual({k: 'd', t: 1000});
	});
});

describe('the recorder', () => {
	it('writes every poll of a transition and almost nothing while idle', async () => {
		// 'quick' completes within ~2 s; the next 598 s are idle.
		const {file, code} = await recordScenario('quick', 600);
		expect(code).toBe(0);
		const recording = loadRecording(file);
		const busy = recording.frames.filter((frame) => frame.transition !== undefined || frame.k === 'f');
		expect(busy.length).toBeGreaterThan(0);
		// One tick a minute (counts), one full frame every ten minutes: about a dozen frames for 600 polls.
		expect(recording.frames.length).toBeLessThan(20);
		expect(recording.end?.reason).toBe('600 polls done');
		const replay = createReplay(recording);
		const last = replay.historyAt(replay.count - 1);
		expect(last.lastTransition?.outcome).toBe('completed');
		expect(statSync(file).size).toBeLessThan(4096);
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});

	it('rotates at the size cap, keeps three old files and reads them back as one run', async () => {
		const {file, stderr} = await recordScenario('many', 240, {threads: 2000, maxSizeMb: 0.001});
		expect(stderr).toMatch(/\d+ rotations/);
		for (const n of [1, 2, 3]) expect(existsSync(`${file}.${n}`)).toBe(true);
		expect(existsSync(`${file}.4`)).toBe(false);
		const recording = loadRecording(file);
		expect(recording.files).toEqual([`${file}.3`, `${file}.2`, `${file}.1`, file]);
		// Each file starts with a full frame; together they end at the last poll.
		expect(recording.frames.filter((frame) => frame.k === 'f').length).toBeGreaterThanOrEqual(4);
		expect(recording.frames.at(-1)!.t).toBe(239_000);
		const replay = createReplay(recording);
		expect(replay.historyAt(replay.count - 1).snapshot.transition?.patch).toBe('klp_many_patch');
	});

	it('rotates a previous run out of the way, and never touches a file that is not a recording', async () => {
		const first = await recordScenario('stuck-killable', 3);
		const again = await recordScenario('stuck-killable', 5, {
			extra: {file: first.file, stateDir: first.stateDir},
		});
		expect(again.code).toBe(0);
		expect(loadRecording(`${first.file}.1`).frames.length).toBe(3);
		// A new run: its FILE does not chain the previous run's FILE.1.
		expect(loadRecording(first.file).files).toEqual([first.file]);

		const precious = path.join(first.dir, 'notes.txt');
		writeFileSync(precious, 'my notes\n');
		const refused = await recordScenario('stuck-killable', 2, {extra: {file: precious}});
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain(`${precious} exists and is not a klptop recording: not touching it`);
		expect(readFileSync(precious, 'utf8')).toBe('my notes\n');
		expect(existsSync(`${precious}.1`)).toBe(false);
	});
});
