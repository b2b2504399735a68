import type {EventEmitter} from 'node:events';
import {afterEach, describe, expect, it} from 'vitest';
import {runBatch} from '../../source/script/batch.js';
import {makeTree, type Tree} from '../helpers/tree.js';
import {emulated, hasControl, memoryIo, ndjson, treeSource} from './helpers.js';

type Doc = {
	schema_version: number;
	time: string;
	transition: null | {patch: string; pending: number; elapsed_s: number | null; next_signal_s: number | null};
	blockers: Array<{tid: number; comm: string; stuck_s: number | null; class: string}>;
	last_transition: null | {patch: string; outcome: string};
};

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

describe('batch on the emulator (virtual time)', () => {
	it('prints -n NDJSON documents whose history-derived fields grow by the delay', async () => {
		const io = memoryIo();
		const code = await runBatch({opened: emulated('stuck-interruptible'), n: 5, delayS: 1, json: true}, io);
		expect(code).toBe(0);
		expect(io.stderr.text()).toBe('');
		expect(io.stdout.text().endsWith('\n')).toBe(true);
		const docs = ndjson(io.stdout.text()) as unknown as Doc[];
		expect(docs).toHaveLength(5);
		const times = docs.map((doc) => Date.parse(doc.time));
		for (const [i, doc] of docs.entries()) {
			expect(doc.schema_version).toBe(1);
			expect(doc.transition?.patch).toBe('klp_sleeper_patch');
			const cat = doc.blockers.find((b) => b.tid === 182);
			expect(cat?.class).toBe('interruptible');
			// Stuck time grows by the delay from frame to frame.
			expect(cat?.stuck_s).toBeCloseTo(docs[0]!.blockers.find((b) => b.tid === 182)!.stuck_s! + i, 3);
			if (i > 0) {
				expect(times[i]! - times[i - 1]!).toBe(1000);
				expect(doc.transition!.elapsed_s!).toBeCloseTo(docs[i - 1]!.transition!.elapsed_s! + 1, 3);
			}
		}

		// The kernel log dated the start: elapsed is known from the first frame.
		expect(docs[0]!.transition!.elapsed_s).not.toBeNull();
		expect(docs[0]!.transition!.next_signal_s).not.toBeNull();
	});

	it('follows the transition to its end: the fake-signal round frees cat 182 at ~15 s', async () => {
		const io = memoryIo();
		await runBatch({opened: emulated('stuck-interruptible'), n: 20, delayS: 1, json: true}, io);
		const docs = ndjson(io.stdout.text()) as unknown as Doc[];
		expect(docs).toHaveLength(20);
		const firstIdle = docs.findIndex((doc) => doc.transition === null);
		// Started ~0.5 s before the first frame; fake signal ~15 s after the start, completion at the next retry.
		expect(firstIdle).toBeGreaterThanOrEqual(14);
		expect(firstIdle).toBeLessThanOrEqual(18);
		const catGone = docs.findIndex((doc) => !doc.blockers.some((b) => b.tid === 182));
		expect(catGone).toBeGreaterThanOrEqual(14);
		expect(firstIdle - catGone).toBeLessThanOrEqual(2);
		expect(docs.at(-1)!.last_transition).toMatchObject({patch: 'klp_sleeper_patch', outcome: 'completed'});
	});

	it('is deterministic: same scenario and seed, same output', async () => {
		const a = memoryIo();
		const b = memoryIo();
		await runBatch({opened: emulated('churn'), n: 6, delayS: 0.5, json: true}, a);
		await runBatch({opened: emulated('churn'), n: 6, delayS: 0.5, json: true}, b);
		expect(a.stdout.text()).toBe(b.stdout.text());
	});

	it('prints text frames like top -b: one per frame, a blank line between, within the width', async () => {
		const io = memoryIo();
		await runBatch({opened: emulated('stuck-killable'), n: 3, delayS: 2, json: false, width: 72}, io);
		const text = io.stdout.text();
		const frames = text.split(/\n\n(?=Source: )/);
		expect(frames).toHaveLength(3);
		for (const frame of frames) {
			expect(frame.startsWith('Source: EMULATOR, scenario stuck-killable')).toBe(true);
			expect(frame).toContain('539');
		}

		for (const line of text.split('\n')) {
			expect([...line].length).toBeLessThanOrEqual(72);
		}

		expect(text.includes('\u001b')).toBe(false);
	});

	it('runs until the signal aborts when -n is absent', async () => {
		const io = memoryIo();
		const controller = new AbortController();
		const write = io.stdout.write;
		io.stdout.write = (chunk: string) => {
			if (io.stdout.chunks.length === 3) {
				controller.abort();
			}

			return write(chunk);
		};

		const code = await runBatch(
			{opened: emulated('quick'), delayS: 1, json: true, signal: controller.signal},
			io,
		);
		expect(code).toBe(0);
		expect(ndjson(io.stdout.text())).toHaveLength(4);
	});

	it('stops quietly when stdout goes away (EPIPE)', async () => {
		const io = memoryIo();
		let writes = 0;
		io.stdout.write = (chunk: string) => {
			writes++;
			io.stdout.chunks.push(chunk);
			if (writes === 2) {
				queueMicrotask(() => {
					(io.stdout as EventEmitter).emit('error', Object.assign(new Error('EPIPE'), {code: 'EPIPE'}));
				});
			}

			return true;
		};

		const code = await runBatch({opened: emulated('quick'), n: 1000, delayS: 1, json: true}, io);
		expect(code).toBe(0);
		expect(writes).toBeLessThan(5);
		expect(io.stdout.listenerCount('error')).toBe(0);
	});

	it('refuses a bad -n or -d with exit code 2 and a message on stderr', async () => {
		const io = memoryIo();
		expect(await runBatch({opened: emulated('quick'), n: 0, delayS: 1, json: true}, io)).toBe(2);
		expect(await runBatch({opened: emulated('quick'), n: 1.5, delayS: 1, json: true}, io)).toBe(2);
		expect(await runBatch({opened: emulated('quick'), n: 1, delayS: Number.NaN, json: true}, io)).toBe(2);
		expect(io.stdout.text()).toBe('');
		expect(io.stderr.text()).toContain('-n takes');
	});
});

describe('batch on a tree on disk (real clock)', () => {
	it('reads the tree each frame, sees it change, and sanitises names', async () => {
		const tree = makeTree({
			patches: [{name: 'p', enabled: 1, transition: 1, objects: [{name: 'vmlinux', functions: ['f,1']}]}],
			threads: [
				{pid: 1, comm: 'init', patchState: 1},
				{
					pid: 77,
					comm: 'ev\u001b]0;pwn\u0007il',
					state: 'S',
					patchState: 0,
					wchan: 'f',
					stack: ['[<0>] f+0x1/0x2'],
				},
			],
		});
		trees.push(tree);
		const io = memoryIo();
		const write = io.stdout.write;
		io.stdout.write = (chunk: string) => {
			if (io.stdout.chunks.length === 0) {
				// After the first frame the thread switches and the transition completes.
				tree.write('/proc/77/task/77/patch_state', '-1\n', 0o400);
				tree.write('/proc/1/task/1/patch_state', '-1\n', 0o400);
				tree.write('/sys/kernel/livepatch/p/transition', '0\n', 0o444);
			}

			return write(chunk);
		};

		const started = Date.now();
		await runBatch({opened: treeSource(tree.root), n: 3, delayS: 0.05, json: true}, io);
		expect(Date.now() - started).toBeGreaterThanOrEqual(90);
		const docs = ndjson(io.stdout.text()) as unknown as Doc[];
		expect(docs).toHaveLength(3);
		expect(docs[0]!.blockers[0]!.comm).toBe('ev?]0;pwn?il');
		expect(docs[1]!.transition).toBeNull();
		expect(docs[2]!.last_transition?.outcome).toBe('completed');
		expect(hasControl(io.stdout.text())).toBe(false);
	});
});
