/*
The whole `--once` path on an on-disk tree: the real reader scans an S2-like world (kernel-livepatch.md
§8: `cat` sleeping interruptibly in klp_sleeper_wait), the history folds it, and both outputs say
what the doc's observed run would lead one to expect.
*/
import {afterEach, describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import {toJsonDocument} from '../../source/output/json.js';
import {toText} from '../../source/output/text.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {createReader} from '../../source/sources/reader.js';
import {makeTree, STACKS, sleeperPatch, type Tree} from '../helpers/tree.js';

const btime = 1_700_000_000;
let tree: Tree | null = null;

afterEach(() => {
	tree?.cleanup();
	tree = null;
});

function s2World(): Tree {
	const others = Array.from({length: 53}, (_, i) => ({
		pid: 200 + i,
		comm: `task${i}`,
		patchState: 1,
		starttime: 50,
	}));
	return makeTree({
		btime,
		patches: [sleeperPatch()],
		threads: [
			{
				pid: 182,
				comm: 'cat',
				state: 'S',
				patchState: 0,
				starttime: 100,
				wchan: 'klp_sleeper_wait',
				stack: STACKS.interruptibleReader,
			},
			...others,
		],
		kmsg: [
			"5,98,3383992,-;livepatch: enabling patch 'klp_sleeper_patch'",
			"7,99,3384112,-;livepatch: 'klp_sleeper_patch': initializing patching transition",
			"5,100,3399578,-;livepatch: 'klp_sleeper_patch': starting patching transition",
		],
	});
}

describe('--once on a tree', () => {
	it('folds the reader snapshot into the schema_version 1 document', () => {
		tree = s2World();
		const reader = createReader(createHostPort(tree.root), {kind: 'tree', root: tree.root, scenario: null});
		// Boot second 10: 6.600422 s after the start line.
		const now = btime * 1000 + 10_000;
		const history = foldSnapshot(null, reader.scan({threads: 'blockers', clock: () => now}));
		const doc = toJsonDocument(history);
		expect(doc.source).toEqual({kind: 'tree', root: tree.root, scenario: null});
		expect(doc.kernel).toEqual({
			release: '6.1.0-56-cloud-amd64',
			livepatch: true,
			boot_time: new Date(btime * 1000).toISOString(),
		});
		expect(doc.transition).toEqual({
			patch: 'klp_sleeper_patch',
			direction: 'patching',
			target: 1,
			pending: 1,
			total: 54,
			elapsed_s: 6.6,
			next_signal_s: 8.4,
			started_from: 'kernel-log',
			rate_per_s: null,
			reversals: 0,
			initializing: false,
			unknown: 0,
			// The start line's boot second 3.399578.
			started_at: new Date(btime * 1000 + 3_399.578).toISOString(),
			direction_since: new Date(btime * 1000 + 3_399.578).toISOString(),
		});
		expect(doc.blockers).toHaveLength(1);
		expect(doc.blockers[0]).toMatchObject({
			tid: 182,
			tgid: 182,
			comm: 'cat',
			state: 'S',
			kthread: false,
			patch_state: 0,
			class: 'interruptible',
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			wchan: 'klp_sleeper_wait',
			// Born at boot second 1, pending since the start line.
			stuck_s: 6.6,
			remedies: ['nudge', 'wait', 'reverse', 'force'],
		});
		expect(doc.hidden_blocker).toBe(false);
	});

	it('prints the text snapshot naming the tree', () => {
		tree = s2World();
		const reader = createReader(createHostPort(tree.root), {kind: 'tree', root: tree.root, scenario: null});
		const now = btime * 1000 + 10_000;
		const history = foldSnapshot(null, reader.scan({threads: 'blockers', clock: () => now}));
		const text = toText(history, {width: 1000});
		expect(text).toContain(`Source: tree ${tree.root} (files under a directory`);
		expect(text).toContain('Transition: klp_sleeper_patch patching (target patch_state 1)');
		expect(text).toContain('running 6s (start from the kernel log)');
		expect(text).toContain('1 of 54 threads still to switch');
		expect(text).toContain('next kernel fake-signal round in ~9s');
		const row = text
			.split('\n')
			.find((l) => l.trimStart().startsWith('182 '))!
			.split(/ +/)
			.filter(Boolean);
		expect(row).toEqual([
			'182',
			'182',
			'S',
			'-',
			'interruptible',
			'6s',
			'klp_sleeper_wait',
			'[klp_sleeper]',
			'cat',
		]);
	});
});
