/*
--pid and --tid in the printed outputs (issue 16): `--once`, `--json` and `-b` list only the
selected blockers, as the dashboard does, and say how many they left out; the counts stay whole.
The `demo` scenario holds three blockers: cat 182 (S), kthread 398, cat 539 (D).
*/
import {describe, expect, it} from 'vitest';
import {klptop} from './run.js';

type Doc = {
	blockers: Array<{tid: number}>;
	tasks: {total: number};
	transition: {pending: number};
	filter?: unknown;
};

describe('--pid and --tid outside the dashboard', () => {
	it('--once --json lists only the selected blockers and says how many there are in all', () => {
		const all = JSON.parse(klptop('--once', '--json', '--emulate', 'demo').stdout) as Doc;
		expect(all.blockers.map((b) => b.tid).sort()).toEqual([182, 398, 539]);
		expect(all.filter).toBeUndefined();
		const run = klptop('--once', '--json', '--emulate', 'demo', '--tid', '539,398');
		expect(run.status).toBe(0);
		const doc = JSON.parse(run.stdout) as Doc;
		expect(doc.blockers.map((b) => b.tid).sort()).toEqual([398, 539]);
		expect(doc.filter).toEqual({pids: null, tids: [539, 398], blockers_total: 3});
		expect({tasks: doc.tasks, pending: doc.transition.pending}).toEqual({
			tasks: all.tasks,
			pending: all.transition.pending,
		});
	});

	it('--once text lists and advises only the selected process', () => {
		const run = klptop('--once', '--emulate', 'demo', '--pid', '182');
		expect(run.status).toBe(0);
		expect(run.stdout).toContain('Blockers (1 of 3, only --pid 182)');
		expect(run.stdout).toMatch(/^ +182 +182 S/m);
		expect(run.stdout).not.toMatch(/^ +(398|539) /m);
		expect(run.stdout).not.toMatch(/^ {2}(398|539) /m);
	});

	it('-b applies them to every frame, text and NDJSON', () => {
		const ndjson = klptop('-b', '-n', '3', '-d', '1', '--json', '--emulate', 'demo', '--pid', '539');
		const frames = ndjson.stdout
			.trim()
			.split('\n')
			.map((line) => JSON.parse(line) as Doc);
		expect(frames).toHaveLength(3);
		for (const frame of frames) {
			expect(frame.blockers.map((b) => b.tid)).toEqual([539]);
		}

		const text = klptop('-b', '-n', '2', '-d', '1', '--emulate', 'demo', '--pid', '999');
		expect(text.stdout.match(/Blockers \(0 of 3, only --pid 999\)/g)).toHaveLength(2);
	});
});
