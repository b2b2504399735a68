import {afterEach, describe, expect, it} from 'vitest';
import type {TaskWalk, TaskWalkOptions} from '../../source/sources/fs-port.js';
import {threadAt} from '../../source/model/types.js';
import {spawnSync} from 'node:child_process';
import {createHostPort, prewarmWalkHelper, releasePrewarmedHelper} from '../../source/sources/host-port.js';
import {parsePatchState} from '../../source/sources/parse.js';
import {
	makeFsWalkIo,
	mergeWalks,
	packTaskFiles,
	portWalkIo,
	readTaskFiles,
	unpackTaskFiles,
	walkTasks,
} from '../../source/sources/walk.js';
import * as fs from 'node:fs';
import {makeTree, sleeperPatch, type ThreadSpec, type Tree} from '../helpers/tree.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

/** 40 processes of 1-3 threads, states cycling -1/0/1, some garbage, some without patch_state. */
function bigTree(): Tree {
	const threads: ThreadSpec[] = [];
	for (let p = 0; p < 40; p++) {
		const pid = 100 + p * 10;
		for (let t = 0; t < 1 + (p % 3); t++) {
			const n = threads.length;
			threads.push({
				pid,
				tid: pid + t,
				patchState: n % 17 === 5 ? 'junk\n' : n % 19 === 7 ? null : [-1, 0, 1][n % 3]!,
				comm: `t${n}`,
				wchan: `wait_${n}`,
				stack: [`[<0>] frame_${n}+0x1/0x2`, '[<0>] do_syscall_64+0x1/0x2'],
			});
		}
	}

	const made = makeTree({threads});
	// Not a thread (procfs has none such; a copied tree might): skipped, and a file is no link.
	made.write('/proc/100/task/notatid', '0\n');
	// A blocker whose stat is gone (it exited after its patch_state was read) and one without a stack.
	fs.rmSync(`${made.root}/proc/110/task/110/stat`);
	fs.rmSync(`${made.root}/proc/120/task/121/stack`);
	trees.push(made);
	return made;
}

/** The big tree, a port that walks it on the calling thread, one that walks it on a helper, and its pids. */
function helperPorts() {
	const made = bigTree();
	const generic = createHostPort(made.root);
	const background = createHostPort(made.root, {parallelMinPids: 2, chunk: 1});
	return {made, generic, background, pids: generic.readdir('/proc')};
}

/** Every thread's columns, patch_state read against target 1. */
const collectAll: TaskWalkOptions = {readStates: true, target: 1, collect: 'all'};

/** A host port's helper counters, zero where not given. */
function helperStats({runs = 0, cancelled = 0, failures = 0, starts = 0, joins = 0, refilled = 0}) {
	return {
		helperRuns: runs,
		helperCancelled: cancelled,
		helperFailures: failures,
		helperStarts: starts,
		helperJoins: joins,
		tablesRefilled: refilled,
	};
}

async function sleepMs(ms: number): Promise<void> {
	await new Promise((resolve) => {
		setTimeout(resolve, ms);
	});
}

function sorted(walk: TaskWalk): TaskWalk {
	const triples: number[][] = [];
	for (let i = 0; i < walk.threads.length; i += 3) {
		triples.push(walk.threads.slice(i, i + 3));
	}

	const details = walk.details;
	const order = triples
		.map((_, i) => i)
		.sort((a, b) => triples[a]![0]! - triples[b]![0]! || triples[a]![1]! - triples[b]![1]!);
	return {
		...walk,
		threads: order.flatMap((i) => triples[i]!),
		firstTask: walk.firstTask === null ? null : 'some',
		...(details === undefined ? {} : {details: order.map((i) => details[i]!)}),
	};
}

const optionSets: TaskWalkOptions[] = [
	{readStates: true, target: 1, collect: 'blocking'},
	{readStates: true, target: 0, collect: 'blocking'},
	{readStates: true, target: 1, collect: 'all'},
	{readStates: false, target: null, collect: 'all'},
	{readStates: false, target: null, collect: 'blocking'},
	{readStates: true, target: 1, collect: 'blocking', details: true},
	{readStates: true, target: 0, collect: 'blocking', details: true},
	// Every thread's stat and owner, and the blockers' wchan and stack too.
	{readStates: true, target: 1, collect: 'all', details: true},
	{readStates: false, target: null, collect: 'all', details: true},
];

describe('thread walk', () => {
	it('counts, blocking triples and errors', () => {
		const made = bigTree();
		const port = createHostPort(made.root, {parallelMinPids: Number.POSITIVE_INFINITY});
		const walk = port.walkTasks!(port.readdir('/proc'), {readStates: true, target: 1, collect: 'blocking'});
		// 40 processes with 1, 2 or 3 threads: 14*1 + 13*2 + 13*3 = 79 threads. Thread n has garbage
		// when n % 17 == 5 (5 of them), no patch_state (gone: not counted) when n % 19 == 7 (4), else
		// state [-1, 0, 1][n % 3].
		const expected = {minus: 0, zero: 0, one: 0};
		for (let n = 0; n < 79; n++) {
			if (n % 17 === 5 || n % 19 === 7) {
				continue;
			}

			expected[(['minus', 'zero', 'one'] as const)[n % 3]!]++;
		}

		expect(walk).toMatchObject({total: 75, ...expected, errors: {'garbage:EINVAL': 5}});
		expect(walk.threads.length / 3).toBe(expected.zero);
		for (let i = 0; i < walk.threads.length; i += 3) {
			expect(walk.threads[i + 2]).toBe(0);
		}

		expect(walk.details).toBeUndefined();
	});

	it("details: a blocker's stat, owner, wchan and stack; with collect 'all' every thread's stat and owner, as columns", () => {
		const made = bigTree();
		const port = createHostPort(made.root, {parallelMinPids: Number.POSITIVE_INFINITY});
		for (const collect of ['blocking', 'all'] as const) {
			const walk = port.walkTasks!(port.readdir('/proc'), {
				readStates: true,
				target: 1,
				collect,
				details: true,
			});
			expect(walk.details).toHaveLength(walk.threads.length / 3);
			let blockers = 0;
			for (let i = 0; i < walk.threads.length; i += 3) {
				const [tid, state] = [walk.threads[i + 1]!, walk.threads[i + 2]!];
				const files = walk.details![i / 3]!;
				expect(state).toBe(0);
				if (tid === 110) {
					// Its stat is gone: it exited after its patch_state was read (counted: a walk of blockers
					// leaves the rest to the reader).
					expect(collect).toBe('blocking');
					expect(files).toMatchObject({stat: null, statError: 'ENOENT', wchan: null, stack: null});
					continue;
				}

				// The tree names thread n `t<n>` in stat, `wait_<n>` in wchan, `frame_<n>` on its stack.
				const n = /\(t(\d+)\)/.exec(files.stat ?? '')?.[1];
				expect(files.stat).toMatch(new RegExp(`^${tid} \\(t${n}\\) `));
				expect(files.uid).toBe(process.getuid!());
				blockers++;
				expect(files.wchan).toBe(`wait_${n}`);
				if (tid === 121) {
					expect(files).toMatchObject({stack: null, stackError: 'ENOENT'});
				} else {
					expect(files.stack).toContain(`frame_${n}+0x1/0x2`);
					expect(files.stackError).toBeNull();
				}
			}

			expect(blockers).toBeGreaterThan(0);
			if (collect === 'blocking') {
				expect(walk.table).toBeUndefined();
				continue;
			}

			// Every thread counted, in TID order, with its stat's fields and owner; 110 exited.
			const table = walk.table!;
			expect(table.count).toBe(walk.total);
			expect(walk.total).toBe(74);
			expect([...table.tid]).toEqual([...table.tid].sort((a, b) => a - b));
			expect(table.tid.includes(110)).toBe(false);
			for (let i = 0; i < table.count; i++) {
				const thread = threadAt(table, i);
				expect(thread.comm).toMatch(/^t\d+$/);
				expect(thread.uid).toBe(process.getuid!());
				expect(thread.tgid).toBe(Math.floor(thread.tid / 10) * 10);
				expect(thread.state).toBe('S');
			}
		}
	});

	it('details travel from the helper as columns and come back the same, nulls, empty texts and all', () => {
		const details = [
			{
				stat: '1 (a b) S 0',
				statError: null,
				uid: 0,
				wchan: 'pipe_read',
				stack: '[<0>] x+0x1/0x2\n',
				stackError: null,
			},
			{stat: null, statError: 'ENOENT', uid: null, wchan: null, stack: null, stackError: 'ENOENT'},
			{stat: '', statError: null, uid: 1000, wchan: '', stack: null, stackError: 'EACCES'},
			{
				stat: '3 (\u0000\u001B[31m\u00E9\u{1F600}) R',
				statError: null,
				uid: 65_534,
				wchan: null,
				stack: '',
				stackError: null,
			},
		];
		const packed = packTaskFiles(details);
		expect(packed.count).toBe(4);
		expect(unpackTaskFiles(packed)).toEqual(details);
		expect(unpackTaskFiles(packTaskFiles([]))).toEqual([]);
	});

	it('the host fast path, with or without its helper thread, equals the generic walk', () => {
		const made = bigTree();
		const generic = createHostPort(made.root);
		const sequential = createHostPort(made.root, {parallelMinPids: Number.POSITIVE_INFINITY});
		// One pid per claim and a head start for the helper, so both threads get chunks.
		const parallel = createHostPort(made.root, {
			parallelMinPids: 2,
			loadCheck: false,
			chunk: 1,
			waitForHelperMs: 5000,
		});
		// The helper fails after two chunks: what it claimed is walked again by the main thread.
		const faulty = createHostPort(made.root, {
			parallelMinPids: 2,
			loadCheck: false,
			chunk: 1,
			waitForHelperMs: 5000,
			helperFaultAfter: 2,
		});
		// Without a head start the main thread may finish first and cancel the helper: same result.
		const racing = createHostPort(made.root, {parallelMinPids: 2, loadCheck: false});
		const pids = generic.readdir('/proc');
		for (const options of optionSets) {
			const expected = sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options));
			expect(sorted(sequential.walkTasks!(pids, options))).toEqual(expected);
			expect(sorted(parallel.walkTasks!(pids, options))).toEqual(expected);
			expect(sorted(faulty.walkTasks!(pids, options))).toEqual(expected);
			expect(sorted(racing.walkTasks!(pids, options))).toEqual(expected);
		}

		expect(sequential.stats).toEqual(helperStats({}));
		// One helper thread for all the walks: kept from one to the next.
		expect(parallel.stats).toEqual(helperStats({runs: optionSets.length, starts: 1}));
		// A helper that failed is not kept: each walk starts a new one.
		expect(faulty.stats).toEqual(helperStats({failures: optionSets.length, starts: optionSets.length}));
		for (const port of [generic, sequential, parallel, faulty, racing]) {
			port.close();
		}
		expect(racing.stats.helperRuns + racing.stats.helperCancelled).toBe(optionSets.length);
		expect(racing.stats.helperFailures).toBe(0);
	});

	it('walks in the background on its helper while the calling thread stays free, equal to the generic walk', async () => {
		const {made, generic, background, pids} = helperPorts();
		const faulty = createHostPort(made.root, {parallelMinPids: 2, chunk: 1, helperFaultAfter: 2});
		for (const [i, options] of optionSets.entries()) {
			const expected = sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options));
			// The calling thread turns its event loop while the helper starts and walks (later walks, on
			// the kept helper, can end before the loop's first turn on a tree this small).
			let turns = 0;
			let spinning = true;
			const spin = () => {
				turns++;
				if (spinning) setImmediate(spin);
			};

			setImmediate(spin);
			const walking = background.walkTasksInBackground!(pids, options);
			expect(walking).not.toBeNull();
			const walked = await walking!;
			spinning = false;
			if (i === 0) expect(turns).toBeGreaterThan(0);
			expect(sorted(walked)).toEqual(expected);
			// A helper that fails mid-walk: the calling thread walks it all again, same result.
			expect(sorted(await faulty.walkTasksInBackground!(pids, options)!)).toEqual(expected);
		}

		// Every chunk on the helper (kept from one walk to the next); the failed ones redone here.
		expect(background.stats).toEqual(helperStats({runs: optionSets.length, starts: 1}));
		expect(faulty.stats).toEqual(helperStats({failures: optionSets.length, starts: optionSets.length}));
		// Too small for a helper: the caller walks on its own thread.
		expect(createHostPort(made.root).walkTasksInBackground!(pids, optionSets[0]!)).toBeNull();
		for (const port of [generic, background, faulty]) {
			port.close();
		}
	});

	it('a background walk the calling thread joins (its modules loaded) walks its share there, equal to the generic walk', async () => {
		const made = bigTree();
		const generic = createHostPort(made.root);
		const pids = generic.readdir('/proc');
		for (const options of optionSets) {
			const expected = sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options));
			// Joined once the helper is under way (chunks of one pid: it has most left), joined at once (the
			// helper may not have started: it is cancelled), joined by a helper that fails after two chunks
			// (what it claimed is walked here again), and a join that never comes (the helper walks it all).
			const port = createHostPort(made.root, {parallelMinPids: 2, chunk: 1});
			const faulty = createHostPort(made.root, {parallelMinPids: 2, chunk: 1, helperFaultAfter: 2});
			const never = createHostPort(made.root, {parallelMinPids: 2, chunk: 1});
			const soon = new Promise((resolve) => {
				setTimeout(resolve, 5);
			});
			expect(sorted(await port.walkTasksInBackground!(pids, options, soon)!)).toEqual(expected);
			expect(sorted(await port.walkTasksInBackground!(pids, options, Promise.resolve())!)).toEqual(expected);
			expect(sorted(await faulty.walkTasksInBackground!(pids, options, Promise.resolve())!)).toEqual(
				expected,
			);
			expect(
				sorted(await never.walkTasksInBackground!(pids, options, new Promise(() => undefined))!),
			).toEqual(expected);
			expect(port.stats.helperJoins).toBe(2);
			expect(port.stats.helperRuns + port.stats.helperCancelled).toBe(2);
			expect(port.stats.helperFailures).toBe(0);
			// Failed after its two chunks, or cancelled before it began: either way joined and walked here.
			expect(faulty.stats.helperJoins).toBe(1);
			expect(faulty.stats.helperFailures + faulty.stats.helperCancelled).toBe(1);
			expect(never.stats).toEqual(helperStats({runs: 1, starts: 1}));
			for (const each of [port, faulty, never]) each.close();
		}

		// Joined while a slow helper is under way (40 ms a chunk, joined 0.5 s in): both walk, the helper's last
		// chunk is waited for, its part kept; a rejected join frees the caller all the same.
		const joins = [
			async () => sleepMs(500),
			async () => sleepMs(500).then(async () => Promise.reject(new Error('no'))),
		];
		for (const makeJoin of joins) {
			const join = makeJoin();
			join.catch(() => undefined);
			const slow = createHostPort(made.root, {parallelMinPids: 2, chunk: 1, helperChunkDelayMs: 40});
			const options = optionSets[0]!;
			const started = Date.now();
			const walked = await slow.walkTasksInBackground!(pids, options, join)!;
			expect(sorted(walked)).toEqual(sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options)));
			expect(slow.stats).toEqual(helperStats({runs: 1, starts: 1, joins: 1}));
			// The helper alone would take 40 chunks x 40 ms.
			expect(Date.now() - started).toBeLessThan(1500);
			slow.close();
		}

		// The joined thread walks in slices: its event loop turns between them (the dashboard's keys).
		const sliced = createHostPort(made.root, {parallelMinPids: 2, chunk: 1, joinSliceMs: 0});
		const options = optionSets[0]!;
		let turns = 0;
		let spinning = false;
		const spin = () => {
			turns++;
			if (spinning) setImmediate(spin);
		};

		const join = Promise.resolve().then(() => {
			spinning = true;
			setImmediate(spin);
		});
		const walked = await sliced.walkTasksInBackground!(pids, options, join)!;
		spinning = false;
		expect(sorted(walked)).toEqual(sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options)));
		expect(sliced.stats.helperJoins).toBe(1);
		// One turn a chunk this thread walked (40 chunks in all; a fresh helper has hardly started).
		expect(turns).toBeGreaterThan(10);
		sliced.close();
		generic.close();
	});

	it("reuses the owners a helper kept of the table it made, as a walk handed that table's owners would", async () => {
		const {made, generic, background, pids} = helperPorts();
		const options = collectAll;
		const first = (await background.walkTasksInBackground!(pids, options)!).table!;
		// A thread changes owner after the first walk: an owner known from an earlier table is not read
		// again (until the reader drops its owners), whichever thread walks.
		fs.chownSync(`${made.root}/proc/110/task/111`, 4321, 4321);
		const io = portWalkIo(generic, parsePatchState);
		for (const owners of [first, walkTasks(io, pids, options).table!]) {
			const expected = walkTasks(io, pids, {...options, owners}).table!;
			const walked = (await background.walkTasksInBackground!(pids, {...options, owners})!).table!;
			expect(walked).toEqual(expected);
		}

		const stale = walkTasks(io, pids, {...options, owners: first}).table!;
		expect(threadAt(stale, stale.tid.indexOf(111)).uid).toBe(threadAt(first, first.tid.indexOf(111)).uid);
		// Without owners, every one is read.
		const fresh = (await background.walkTasksInBackground!(pids, options)!).table!;
		expect(threadAt(fresh, fresh.tid.indexOf(111)).uid).toBe(4321);
		expect(background.stats).toEqual(helperStats({runs: 4, starts: 1}));
		generic.close();
		background.close();
	});

	it('a table given back is moved to the helper and its next table made in it, equal to a fresh walk', async () => {
		const {generic, background, pids} = helperPorts();
		const options = collectAll;
		const expected = walkTasks(portWalkIo(generic, parsePatchState), pids, options).table!;
		const first = (await background.walkTasksInBackground!(pids, options)!).table!;
		const second = (await background.walkTasksInBackground!(pids, options)!).table!;
		background.recycleTable!(first);
		background.recycleTable!(first); // Given twice: moved once.
		const third = (await background.walkTasksInBackground!(pids, options)!).table!;
		expect(first.count).toBe(expected.count);
		expect(first.tid.length).toBe(0); // Its memory went to the helper (detached here).
		expect(third).toEqual(expected);
		expect(second).toEqual(expected);
		// A walk that makes no table takes no spare; the next one that does, does.
		background.recycleTable!(second);
		await background.walkTasksInBackground!(pids, {...options, collect: 'blocking'});
		expect(second.tid.length).toBe(expected.count);
		expect((await background.walkTasksInBackground!(pids, options)!).table).toEqual(expected);
		expect(second.tid.length).toBe(0);
		expect(background.stats).toEqual(helperStats({runs: 5, starts: 1, refilled: 2}));
		generic.close();
		background.close();
	});

	it('the bundled helper program (the single file and the executable run it by eval) walks like the compiled one', async () => {
		// scripts/bundle.mjs embeds this source where the compiled module has no file beside it.
		const bundleScript = '../../scripts/bundle.mjs';
		const {walkHelperSource} = (await import(bundleScript)) as {walkHelperSource(): Promise<string>};
		const global = globalThis as {__KLPTOP_WALK_HELPER_SOURCE__?: string};
		global.__KLPTOP_WALK_HELPER_SOURCE__ = await walkHelperSource();
		try {
			const made = bigTree();
			const generic = createHostPort(made.root);
			const bundled = createHostPort(made.root, {parallelMinPids: 2, chunk: 1});
			const pids = generic.readdir('/proc');
			for (const options of optionSets) {
				const expected = sorted(walkTasks(portWalkIo(generic, parsePatchState), pids, options));
				expect(sorted(await bundled.walkTasksInBackground!(pids, options)!)).toEqual(expected);
			}

			expect(bundled.stats).toEqual(helperStats({runs: optionSets.length, starts: 1}));
			generic.close();
			bundled.close();
		} finally {
			delete global.__KLPTOP_WALK_HELPER_SOURCE__;
		}
	});

	it('closing the port during a background walk ends its helper and rejects the walk', async () => {
		const made = bigTree();
		const port = createHostPort(made.root, {parallelMinPids: 2, chunk: 1});
		const pids = port.readdir('/proc');
		const walking = port.walkTasksInBackground!(pids, optionSets[0]!)!;
		port.close();
		await expect(walking).rejects.toMatchObject({code: 'ECANCELED'});
		// The port stays usable: the next walk needs a helper of its own, and keeps that one.
		const expected = sorted(walkTasks(portWalkIo(port, parsePatchState), pids, optionSets[0]!));
		expect(sorted(await port.walkTasksInBackground!(pids, optionSets[0]!)!)).toEqual(expected);
		expect(sorted(await port.walkTasksInBackground!(pids, optionSets[0]!)!)).toEqual(expected);
		expect(port.stats).toEqual(helperStats({runs: 2, starts: 2}));
		port.close();
	});

	it('a background walk keeps the process alive until it is in', () => {
		// Nothing else holds the event loop: a pending Atomics.waitAsync alone would let node exit
		// with the walk unsettled (exit code 13).
		const made = bigTree();
		const hostPortModule = new URL('../../dist/source/sources/host-port.js', import.meta.url).href;
		const child = spawnSync(
			process.execPath,
			[
				'--input-type=module',
				'-e',
				`import {createHostPort} from ${JSON.stringify(hostPortModule)};
				const port = createHostPort(${JSON.stringify(made.root)}, {parallelMinPids: 2});
				const walk = await port.walkTasksInBackground(port.readdir('/proc'), {readStates: true, target: 1, collect: 'blocking'});
				console.log(JSON.stringify({total: walk.total, runs: port.stats.helperRuns}));
				port.close();`,
			],
			{encoding: 'utf8', timeout: 60_000},
		);
		expect(child.stderr).toBe('');
		expect(child.status).toBe(0);
		expect(JSON.parse(child.stdout)).toEqual({total: expect.any(Number), runs: 1});
	});

	it('a helper started early (one-shot scans) is taken by the next big walk, whatever the load', () => {
		// 1,000 processes: the size from which a helper is worth its start.
		const threads: ThreadSpec[] = [];
		for (let p = 0; p < 1000; p++) {
			threads.push({pid: 1000 + p, tid: 1000 + p, patchState: p % 10 === 0 ? 0 : 1});
		}

		const made = makeTree({threads, patches: [sleeperPatch()]});
		trees.push(made);
		// No patch loaded: no transition can run, the walk would only count, which takes a helper
		// only from 8,000 processes on.
		const unpatched = makeTree({threads});
		trees.push(unpatched);
		expect(prewarmWalkHelper(unpatched.root)).toBe(false);
		const small = bigTree();
		expect(prewarmWalkHelper(small.root)).toBe(false); // 40 processes: not worth a thread.
		expect(prewarmWalkHelper(made.root)).toBe(true);
		expect(prewarmWalkHelper(made.root)).toBe(false); // One at a time.
		// A load check that would refuse a new helper: the prewarmed one is used all the same.
		const port = createHostPort(made.root, {waitForHelperMs: 5000});
		const options: TaskWalkOptions = {readStates: true, target: 1, collect: 'blocking'};
		const walk = port.walkTasks!(port.readdir('/proc'), options);
		const reference = createHostPort(made.root, {parallelMinPids: Number.POSITIVE_INFINITY});
		expect(sorted(walk)).toEqual(sorted(reference.walkTasks!(reference.readdir('/proc'), options)));
		expect(walk.zero).toBe(100);
		expect(port.stats).toEqual(helperStats({runs: 1, starts: 1}));
		port.close();
		// Taken: the next prewarm starts a new one, which is given back unused.
		expect(prewarmWalkHelper(made.root)).toBe(true);
		releasePrewarmedHelper();
		expect(prewarmWalkHelper(made.root)).toBe(true);
		releasePrewarmedHelper();
	});

	it('an early helper that gets no work does not keep the process alive', () => {
		const made = makeTree({
			threads: Array.from({length: 1000}, (_, p) => ({pid: 2000 + p, tid: 2000 + p})),
			patches: [sleeperPatch()],
		});
		trees.push(made);
		const module = new URL('../../dist/source/sources/host-port.js', import.meta.url).href;
		const script = `import {prewarmWalkHelper} from '${module}'; console.log(prewarmWalkHelper(${JSON.stringify(made.root)}));`;
		// The helper would idle for 30 s; the process must end as soon as its own work is done.
		const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
			encoding: 'utf8',
			timeout: 20_000,
		});
		expect(run.signal).toBeNull();
		expect(run.stdout.trim()).toBe('true');
		expect(run.status).toBe(0);
	});

	it('a helper kept between walks does not keep the process alive either', {timeout: 120_000}, () => {
		const made = makeTree({
			threads: Array.from({length: 1000}, (_, p) => ({pid: 3000 + p, tid: 3000 + p, patchState: 0})),
			patches: [sleeperPatch()],
		});
		trees.push(made);
		const module = new URL('../../dist/source/sources/host-port.js', import.meta.url).href;
		const script = [
			`import {createHostPort} from '${module}';`,
			// A head start for the helper (a loaded machine can take seconds to start a thread).
			`const port = createHostPort(${JSON.stringify(made.root)}, {loadCheck: false, waitForHelperMs: 20000});`,
			`const options = {readStates: true, target: 1, collect: 'blocking'};`,
			`const a = port.walkTasks(port.readdir('/proc'), options);`,
			`const b = port.walkTasks(port.readdir('/proc'), options);`,
			`console.log(JSON.stringify({a: a.zero, b: b.zero, stats: port.stats, end: Date.now()}));`,
		].join('\n');
		const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
			encoding: 'utf8',
			timeout: 90_000,
		});
		const exited = Date.now();
		expect(run.signal).toBeNull();
		const out = JSON.parse(run.stdout) as {end: number};
		expect(out).toEqual({
			a: 1000,
			b: 1000,
			stats: helperStats({runs: 2, starts: 1}),
			end: out.end,
		});
		// The kept helper would idle for 30 s: the process ended as soon as its own work was done.
		expect(exited - out.end).toBeLessThan(10_000);
		expect(run.status).toBe(0);
	});

	it('decodes patch_state bytes like parsePatchState', () => {
		const made = makeTree({});
		trees.push(made);
		const io = makeFsWalkIo(fs as Parameters<typeof makeFsWalkIo>[0], made.root, readTaskFiles);
		for (const [content, expected] of [
			['-1\n', -1],
			['0\n', 0],
			['1\n', 1],
			[' 1 \n', 1],
			['1', 1],
			['2\n', 3],
			['', 3],
			['-\n', 3],
			['10\n', 3],
			['x'.repeat(100), 3],
		] as const) {
			made.write('/f', content);
			expect(io.readPatchState('/f')).toBe(expected);
			expect(parsePatchState(content) ?? 3).toBe(expected);
		}

		expect(() => io.readPatchState('/missing')).toThrow(expect.objectContaining({code: 'ENOENT'}));
	});

	it('mergeWalks adds disjoint results', () => {
		const a: TaskWalk = {
			total: 2,
			minus: 1,
			zero: 1,
			one: 0,
			threads: [1, 1, 0],
			errors: {'x:E': 1},
			firstTask: null,
			maxTid: 1,
		};
		const b: TaskWalk = {
			total: 3,
			minus: 0,
			zero: 1,
			one: 2,
			threads: [2, 2, 0],
			errors: {'x:E': 2, 'y:E': 1},
			firstTask: '/t',
			maxTid: 2,
			known: 3,
			contradicted: 1,
		};
		expect(mergeWalks(a, b)).toEqual({
			total: 5,
			minus: 1,
			zero: 2,
			one: 2,
			threads: [1, 1, 0, 2, 2, 0],
			errors: {'x:E': 3, 'y:E': 1},
			firstTask: '/t',
			maxTid: 2,
			known: 3,
			contradicted: 1,
		});
	});
});
