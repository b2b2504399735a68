import {writeFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import type {FsPort} from '../../source/sources/fs-port.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {createReader, scan} from '../../source/sources/reader.js';
import type {Snapshot} from '../../source/model/types.js';
import {
	faultyPort,
	makeTree,
	PF_KTHREAD,
	sleeperPatch,
	STACKS,
	type ThreadSpec,
	type Tree,
	type TreeSpec,
} from '../helpers/tree.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

function tree(spec: TreeSpec): Tree {
	const made = makeTree(spec);
	trees.push(made);
	return made;
}

const NOW = 1_700_000_123_456;

function source(root: string) {
	return {kind: 'tree', root, scenario: null} as const;
}

function scanTree(made: Tree, options: {threads?: 'all' | 'blockers'; port?: FsPort} = {}): Snapshot {
	const port = options.port ?? createHostPort(made.root);
	return scan(port, source(made.root), {threads: options.threads ?? 'blockers', clock: () => NOW});
}

/** `count` plain user threads (one per process) at the given patch_state. */
function switched(count: number, patchState: number, firstPid = 1000): ThreadSpec[] {
	return Array.from({length: count}, (_, i) => ({pid: firstPid + i, comm: `worker${i}`, patchState}));
}

const cat182: ThreadSpec = {
	pid: 182,
	comm: 'cat',
	state: 'S',
	ppid: 150,
	patchState: 0,
	wchan: 'klp_sleeper_wait',
	stack: STACKS.interruptibleReader,
	starttime: 4242,
};
const kthread398: ThreadSpec = {
	pid: 398,
	comm: 'klp_sleeper_kt',
	state: 'S',
	ppid: 2,
	flags: PF_KTHREAD | 0x40,
	patchState: 0,
	wchan: 'klp_sleeper_kthread_wait',
	stack: STACKS.kthread,
};
const cat539: ThreadSpec = {
	pid: 539,
	comm: 'cat',
	state: 'D',
	patchState: 0,
	wchan: 'klp_sleeper_wait_killable',
	stack: STACKS.killableReader,
};
const running: ThreadSpec = {pid: 600, tid: 601, comm: 'spin', state: 'R', patchState: 0, stack: []};

describe('reader: no transition', () => {
	it('reports a kernel without CONFIG_LIVEPATCH and counts threads without reading patch_state', () => {
		const made = tree({livepatch: false, threads: switched(3, -1)});
		const snapshot = scanTree(made);
		expect(snapshot.kernel).toEqual({
			release: '6.1.0-56-cloud-amd64',
			livepatch: false,
			bootTime: 1_700_000_000_000,
		});
		expect(snapshot.patches).toEqual([]);
		expect(snapshot.transition).toBeNull();
		expect(snapshot.tasks).toEqual({total: 3, byPatchState: {'-1': 0, '0': 0, '1': 0}});
		expect(snapshot.threads).toBeNull();
		expect(snapshot.time).toBe(NOW);
		expect(snapshot.source).toEqual(source(made.root));
		expect(snapshot.warnings).toEqual([]);
	});

	it('dates boot to the hundredth of a second from /proc/uptime when it agrees with btime', () => {
		// btime 1_700_000_000 is the boot time truncated; the machine really booted 0.25 s later.
		const made = tree({threads: switched(2, -1)});
		const uptime = (NOW - 1_700_000_000_250) / 1000;
		writeFileSync(path.join(made.root, 'proc/uptime'), `${uptime.toFixed(2)} 9.00\n`);
		expect(scanTree(made).kernel.bootTime).toBe(NOW - Math.round(uptime * 100) * 10);
		expect(scanTree(made).kernel.bootTime! - 1_700_000_000_000).toBeCloseTo(250, -1);
		// A stale uptime (a tree copied from a host long ago) disagrees with btime: btime stays.
		writeFileSync(path.join(made.root, 'proc/uptime'), '5.00 1.00\n');
		expect(scanTree(made).kernel.bootTime).toBe(1_700_000_000_000);
		writeFileSync(path.join(made.root, 'proc/uptime'), 'garbage\n');
		expect(scanTree(made).kernel.bootTime).toBe(1_700_000_000_000);
	});

	it('an empty livepatch dir: every task is at -1 without reading a single patch_state', () => {
		const made = tree({threads: switched(4, -1)});
		const reads: string[] = [];
		const port = createHostPort(made.root);
		const spy: FsPort = {...port, walkTasks: undefined, readFile: (p) => (reads.push(p), port.readFile(p))};
		const snapshot = scanTree(made, {port: spy});
		expect(snapshot.kernel.livepatch).toBe(true);
		expect(snapshot.patches).toEqual([]);
		expect(snapshot.tasks).toEqual({total: 4, byPatchState: {'-1': 4, '0': 0, '1': 0}});
		const perThread = reads.filter((p) => p.startsWith('/proc/1'));
		// At most the one stack-readability probe the reader makes in its lifetime.
		expect(perThread.filter((p) => !p.endsWith('/stack'))).toEqual([]);
		expect(perThread.length).toBeLessThanOrEqual(1);
	});

	it('threads: all reads stat and patch_state of every thread', () => {
		const made = tree({
			patches: [sleeperPatch({transition: 0})],
			threads: [...switched(2, -1), {pid: 1000, tid: 1005, comm: 'worker0-t', patchState: -1}],
		});
		const snapshot = scanTree(made, {threads: 'all'});
		expect(snapshot.tasks).toEqual({total: 3, byPatchState: {'-1': 3, '0': 0, '1': 0}});
		const threads = [...snapshot.threads!].sort((a, b) => a.tgid - b.tgid || a.tid - b.tid);
		expect(threads.map((t) => [t.tgid, t.tid, t.comm, t.patchState])).toEqual([
			[1000, 1000, 'worker0', -1],
			[1000, 1005, 'worker0-t', -1],
			[1001, 1001, 'worker1', -1],
		]);
		expect(threads[0]!.uid).toBe(process.geteuid!());
	});

	it('reads a 6.1 patch: objects, functions, patched, force by presence, no replace/stack_order', () => {
		const made = tree({
			patches: [
				{
					name: 'klp_vmlinux_patch',
					enabled: 1,
					transition: 0,
					objects: [{name: 'vmlinux', patched: 1, functions: ['cmdline_proc_show,1']}],
				},
			],
		});
		const snapshot = scanTree(made);
		expect(snapshot.patches).toEqual([
			{
				name: 'klp_vmlinux_patch',
				enabled: true,
				transition: false,
				replace: null,
				stackOrder: null,
				hasForce: true,
				hasSignal: false,
				objects: [{name: 'vmlinux', patched: true, functions: [{name: 'cmdline_proc_show', sympos: 1}]}],
			},
		]);
		expect(snapshot.transition).toBeNull();
	});
});

describe('reader: patching transition with blockers', () => {
	const spec: TreeSpec = {
		patches: [sleeperPatch()],
		threads: [cat182, kthread398, cat539, running, ...switched(50, 1)],
	};

	it('finds every blocker with class, function, object and remedies', () => {
		const snapshot = scanTree(tree(spec));
		expect(snapshot.transition).toEqual({patch: 'klp_sleeper_patch', direction: 'patching', target: 1});
		expect(snapshot.tasks).toEqual({total: 54, byPatchState: {'-1': 0, '0': 4, '1': 50}});
		const byTid = new Map(snapshot.blockers.map((b) => [b.tid, b]));
		expect(byTid.size).toBe(4);

		const reader = byTid.get(182)!;
		expect(reader).toMatchObject({
			tgid: 182,
			comm: 'cat',
			state: 'S',
			ppid: 150,
			kthread: false,
			starttime: 4242,
			patchState: 0,
			class: 'interruptible',
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			wchan: 'klp_sleeper_wait',
			matchedFrame: 0,
			matchedBy: 'stack',
			remedies: ['nudge', 'wait', 'reverse', 'force'],
		});
		expect(reader.stack![0]).toEqual({
			raw: '[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]',
			func: 'klp_sleeper_wait',
			module: 'klp_sleeper',
		});
		expect(reader.stack).toHaveLength(7);

		expect(byTid.get(398)).toMatchObject({
			kthread: true,
			class: 'interruptible',
			function: 'klp_sleeper_kthread_wait',
			object: 'klp_sleeper',
			remedies: ['wait', 'reverse', 'force'],
		});
		expect(byTid.get(539)).toMatchObject({
			class: 'uninterruptible',
			function: 'klp_sleeper_wait_killable',
			killable: true,
			remedies: ['reverse', 'kill', 'force'],
		});
		expect(byTid.get(601)).toMatchObject({
			tgid: 600,
			class: 'running',
			function: null,
			object: null,
			wchan: null,
			matchedBy: null,
			remedies: ['wait', 'reverse', 'force'],
		});
		expect(snapshot.privileges).toEqual({root: process.geteuid!() === 0, stacksReadable: true});
		expect(snapshot.warnings).toEqual([]);
	});

	it('scanAsync (the walk on the helper thread) gives the same snapshot as scan, in both views', async () => {
		const made = tree(spec);
		// A helper from the first /proc entry on, so that this small tree takes the background path.
		const port = createHostPort(made.root, {parallelMinPids: 1});
		const reader = createReader(port, source(made.root), {clock: () => NOW});
		// The second scan reads incrementally (only the threads not known at the target), on the helper.
		for (const [threads, mode] of [
			['blockers', 'full'],
			['all', 'incremental'],
		] as const) {
			const {scanCost, ...snapshot} = await reader.scanAsync({threads});
			expect(scanCost?.mode).toBe(mode);
			expect(snapshot).toEqual({...scanTree(made, {threads}), scanCost: undefined});
		}

		expect(port.stats).toMatchObject({helperRuns: 2, helperFailures: 0});
		port.close();
	});

	it("gives a scan's thread table back to its port, but not the one the next scan takes owners from", () => {
		const made = tree(spec);
		const port = createHostPort(made.root);
		const given: unknown[] = [];
		const reader = createReader({...port, recycleTable: (table) => given.push(table)}, source(made.root), {
			clock: () => NOW,
		});
		const first = reader.scan({threads: 'columns'}).threadTable!;
		const second = reader.scan({threads: 'columns'}).threadTable!;
		reader.recycle(second);
		expect(given).toEqual([]);
		reader.recycle(first);
		expect(given).toHaveLength(1);
		expect(given[0]).toBe(first);
		port.close();
	});

	it('threads sleeping in one place share one parsed stack; others keep their own', () => {
		const twin: ThreadSpec = {...cat182, pid: 183, comm: 'cat2'};
		const snapshot = scanTree(tree({...spec, threads: [...(spec.threads ?? []), twin]}));
		const byTid = new Map(snapshot.blockers.map((b) => [b.tid, b]));
		expect(byTid.get(183)!.stack).toBe(byTid.get(182)!.stack);
		expect(byTid.get(183)).toMatchObject({comm: 'cat2', function: 'klp_sleeper_wait', matchedFrame: 0});
		expect(byTid.get(539)!.stack).not.toBe(byTid.get(182)!.stack);
		expect(byTid.get(539)!.stack![0]!.func).toBe('klp_sleeper_wait_killable');
	});

	it('reads stat, wchan and stack of blockers only', () => {
		const made = tree(spec);
		const reads: string[] = [];
		const port = createHostPort(made.root);
		const spy: FsPort = {...port, walkTasks: undefined, readFile: (p) => (reads.push(p), port.readFile(p))};
		scanTree(made, {port: spy});
		const perThread = reads.filter((p) => /^\/proc\/\d+\//.test(p) && !p.endsWith('/patch_state'));
		const tids = new Set(perThread.map((p) => p.split('/')[4]));
		expect([...tids].sort()).toEqual(['182', '398', '539', '601']);
		expect(reads.filter((p) => p.endsWith('/patch_state'))).toHaveLength(54);
	});

	it('falls back to wchan when the stack is unreadable (EACCES), and says so', () => {
		const made = tree(spec);
		const port = faultyPort(createHostPort(made.root), [
			{method: 'readFile', path: (p) => p.endsWith('/stack'), code: 'EACCES'},
		]);
		const snapshot = scanTree(made, {port});
		const reader = snapshot.blockers.find((b) => b.tid === 182)!;
		expect(reader).toMatchObject({
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			stack: null,
			matchedBy: 'wchan',
			matchedFrame: null,
		});
		expect(snapshot.privileges.stacksReadable).toBe(false);
		expect(snapshot.warnings).toEqual([
			'stack unreadable for 4 blockers (EACCES): needs root with CAP_SYS_ADMIN; falling back to wchan',
		]);
	});

	it('EACCES on patch_state is one warning with a count, and the scan goes on', () => {
		const made = tree(spec);
		const port = faultyPort(
			createHostPort(made.root),
			[{method: 'readFile', path: (p) => p.endsWith('/patch_state') && p.includes('/10'), code: 'EACCES'}],
			1000,
		);
		const snapshot = scanTree(made, {port});
		expect(snapshot.privileges.root).toBe(false);
		expect(snapshot.warnings).toEqual(['patch_state unreadable for 50 threads (EACCES): not root?']);
		// The 50 unreadable ones are neither pending nor switched: unknown (issue 16).
		expect(snapshot.tasks).toEqual({total: 54, unknown: 50, byPatchState: {'-1': 0, '0': 4, '1': 0}});
		expect(snapshot.blockers).toHaveLength(4);
	});

	it('a thread that exits between readdir and read is skipped (ENOENT on patch_state, ESRCH on stat)', () => {
		const made = tree(spec);
		const port = faultyPort(createHostPort(made.root), [
			{method: 'readFile', path: '/proc/1003/task/1003/patch_state', code: 'ENOENT'},
			{method: 'readFile', path: '/proc/539/task/539/stat', code: 'ESRCH'},
			{method: 'readdir', path: '/proc/1004/task', code: 'ENOENT'},
		]);
		const snapshot = scanTree(made, {port});
		expect(snapshot.warnings).toEqual([]);
		expect(snapshot.blockers.map((b) => b.tid).sort((a, b) => a - b)).toEqual([182, 398, 601]);
		// 54 threads, minus 1003 and 1004 (gone before their patch_state) and 539 (gone before its stat).
		expect(snapshot.tasks).toEqual({total: 51, byPatchState: {'-1': 0, '0': 3, '1': 48}});
	});

	it('a thread that vanished from disk after readdir (real ENOENT) is skipped', () => {
		const made = tree(spec);
		const port = createHostPort(made.root);
		const racing: FsPort = {
			...port,
			walkTasks: undefined,
			readdir(p) {
				const names = port.readdir(p);
				if (p === '/proc/1010/task') {
					made.remove('/proc/1010');
				}

				return names;
			},
		};
		const snapshot = scanTree(made, {port: racing});
		expect(snapshot.tasks.total).toBe(53);
		expect(snapshot.warnings).toEqual([]);
	});

	it('the patch dir vanishing mid-scan drops the patch, not the scan', () => {
		const made = tree(spec);
		const port = faultyPort(createHostPort(made.root), [
			{method: 'readFile', path: '/sys/kernel/livepatch/klp_sleeper_patch/transition', code: 'ENOENT'},
		]);
		const snapshot = scanTree(made, {port});
		expect(snapshot.patches).toEqual([]);
		expect(snapshot.transition).toBeNull();
		expect(snapshot.warnings).toEqual([]);
		expect(snapshot.tasks.total).toBe(54);

		const gone = faultyPort(createHostPort(made.root), [
			{method: 'readdir', path: '/sys/kernel/livepatch/klp_sleeper_patch', code: 'ENOENT'},
		]);
		expect(scanTree(made, {port: gone}).patches).toEqual([]);
		const objectGone = faultyPort(createHostPort(made.root), [
			{method: 'readdir', path: '/sys/kernel/livepatch/klp_sleeper_patch/klp_sleeper', code: 'ENOENT'},
		]);
		expect(scanTree(made, {port: objectGone}).patches[0]!.objects).toEqual([]);
	});
});

describe('reader: unpatching, vmlinux, atomic replace, kernel generations', () => {
	it('unpatching: the blocker sits in the patch module (new code)', () => {
		const made = tree({
			patches: [sleeperPatch({enabled: 0})],
			threads: [{...cat182, patchState: 1, wchan: 'patched_wait', stack: STACKS.newCode}, ...switched(53, 0)],
		});
		const snapshot = scanTree(made);
		expect(snapshot.transition).toEqual({patch: 'klp_sleeper_patch', direction: 'unpatching', target: 0});
		expect(snapshot.tasks.byPatchState).toEqual({'-1': 0, '0': 53, '1': 1});
		expect(snapshot.blockers).toHaveLength(1);
		expect(snapshot.blockers[0]).toMatchObject({
			tid: 182,
			patchState: 1,
			function: 'patched_wait',
			object: 'klp_sleeper',
			matchedFrame: 0,
			matchedBy: 'stack',
			wchan: 'patched_wait',
		});
	});

	it('vmlinux object: matches frames without a [module] only', () => {
		const vmlinuxPatch = {
			name: 'klp_vmlinux_patch',
			enabled: 1,
			transition: 1,
			objects: [{name: 'vmlinux', patched: 1, functions: ['cmdline_proc_show,1']}],
		};
		const made = tree({
			patches: [vmlinuxPatch],
			threads: [
				{pid: 700, comm: 'cat', state: 'S', patchState: 0, stack: STACKS.cmdline},
				{
					pid: 701,
					comm: 'impostor',
					state: 'S',
					patchState: 0,
					stack: ['[<0>] cmdline_proc_show+0x1c/0x40 [somemod]', '[<0>] vfs_read+0x201/0x350'],
				},
			],
		});
		const snapshot = scanTree(made);
		const byTid = new Map(snapshot.blockers.map((b) => [b.tid, b]));
		expect(byTid.get(700)).toMatchObject({function: 'cmdline_proc_show', object: 'vmlinux', matchedFrame: 0});
		expect(byTid.get(701)).toMatchObject({function: null, object: null, matchedBy: null});
	});

	it('6.14 atomic replace: stack_order/replace read, older patch new code matched, patches in stack order', () => {
		const made = tree({
			release: '6.14.2',
			patches: [
				{
					name: 'zz_old',
					enabled: 1,
					transition: 0,
					replace: 0,
					stackOrder: 1,
					objects: [{name: 'vmlinux', patched: 1, functions: ['cmdline_proc_show,1']}],
				},
				{
					name: 'aa_new',
					enabled: 1,
					transition: 1,
					replace: 1,
					stackOrder: 2,
					objects: [{name: 'vmlinux', patched: 1, functions: ['cmdline_proc_show,1', 'meminfo_proc_show,1']}],
				},
			],
			threads: [
				{
					pid: 800,
					comm: 'reader',
					state: 'S',
					patchState: 0,
					stack: ['[<0>] livepatch_cmdline_proc_show+0x10/0x30 [zz_old]', '[<0>] seq_read_iter+0x11f/0x4b0'],
				},
				{pid: 801, comm: 'reader2', state: 'S', patchState: 0, stack: STACKS.cmdline},
			],
		});
		const snapshot = scanTree(made);
		expect(snapshot.patches.map((p) => [p.name, p.stackOrder, p.replace])).toEqual([
			['zz_old', 1, false],
			['aa_new', 2, true],
		]);
		expect(snapshot.transition).toEqual({patch: 'aa_new', direction: 'patching', target: 1});
		const byTid = new Map(snapshot.blockers.map((b) => [b.tid, b]));
		expect(byTid.get(800)).toMatchObject({
			function: 'livepatch_cmdline_proc_show',
			object: 'vmlinux',
			matchedBy: 'stack',
		});
		expect(byTid.get(801)).toMatchObject({function: 'cmdline_proc_show', object: 'vmlinux'});
	});

	it('4.16-5.0: the signal file is detected and no automatic fake signal is promised', () => {
		const made = tree({
			release: '4.19.0-6-amd64',
			patches: [sleeperPatch({signal: true})],
			threads: [cat182],
		});
		const snapshot = scanTree(made);
		expect(snapshot.patches[0]).toMatchObject({hasSignal: true, hasForce: true});
		expect(snapshot.blockers[0]!.remedies).toEqual(['nudge', 'reverse', 'force']);
	});

	it('4.12-4.15: no force, no signal; without a release the patch files decide nothing', () => {
		const made = tree({
			release: null,
			patches: [sleeperPatch({force: false})],
			threads: [cat182],
		});
		const snapshot = scanTree(made);
		expect(snapshot.kernel.release).toBeNull();
		expect(snapshot.patches[0]).toMatchObject({hasSignal: false, hasForce: false});
		// No force file, no force offered (issue 16).
		expect(snapshot.blockers[0]!.remedies).toEqual(['nudge', 'reverse']);
	});

	it('4.0-4.11: no transition file at all', () => {
		const made = tree({patches: [sleeperPatch({transition: null, force: false})], threads: switched(2, -1)});
		const snapshot = scanTree(made);
		expect(snapshot.patches[0]).toMatchObject({transition: false, enabled: true});
		expect(snapshot.transition).toBeNull();
	});
});

describe('reader: garbage and edge values', () => {
	it('garbage and empty values become warnings, never exceptions', () => {
		const made = tree({
			patches: [
				{name: 'bad_enabled', enabled: 'banana\n'},
				{name: 'empty_enabled', enabled: ''},
				{
					name: 'odd',
					enabled: 1,
					transition: '2\n',
					stackOrder: 'x\n',
					replace: '',
					objects: [{name: 'vmlinux', patched: 'yes', functions: ['good,1', 'no_sympos', 'bad,x']}],
				},
			],
			threads: [{pid: 10, comm: 'ok'}],
		});
		const snapshot = scanTree(made);
		expect(snapshot.patches).toEqual([
			{
				name: 'odd',
				enabled: true,
				transition: false,
				replace: null,
				stackOrder: null,
				hasForce: true,
				hasSignal: false,
				objects: [{name: 'vmlinux', patched: null, functions: [{name: 'good', sympos: 1}]}],
			},
		]);
		expect([...snapshot.warnings].sort()).toEqual(
			[
				'patch bad_enabled: enabled: unexpected value "banana\\n"',
				'patch empty_enabled: enabled: unexpected value ""',
				'patch odd: transition: unexpected value "2\\n"',
				'patch odd: stack_order: unexpected value "x\\n"',
				'patch odd: replace: unexpected value ""',
				'object vmlinux: patched: unexpected value "yes"',
			].sort(),
		);
	});

	it('garbage patch_state and stat of a thread: counted, the blocker kept as unknown', () => {
		const made = tree({
			patches: [sleeperPatch()],
			threads: [
				{pid: 20, patchState: 'x\n'},
				{pid: 21, patchState: ''},
				{pid: 22, patchState: 0, rawStat: 'garbage\n'},
				{pid: 23, patchState: 0, rawStat: ''},
			],
		});
		const snapshot = scanTree(made);
		expect(snapshot.tasks).toEqual({total: 4, unknown: 2, byPatchState: {'-1': 0, '0': 2, '1': 0}});
		expect(snapshot.blockers.map((b) => [b.tid, b.state, b.class, b.comm, b.remedies])).toEqual([
			[22, '?', 'unknown', '', ['reverse', 'force']],
			[23, '?', 'unknown', '', ['reverse', 'force']],
		]);
		expect(snapshot.warnings).toEqual([
			'patch_state garbage for 2 threads (EINVAL)',
			'stat garbage for 1 thread (EINVAL)',
		]);
	});

	it('parses comm with spaces, parentheses and escape bytes', () => {
		const comm = 'a) (b\u001b[31m x)';
		const made = tree({
			patches: [sleeperPatch()],
			threads: [{pid: 30, comm, state: 'S', patchState: 0, ppid: 7}],
		});
		const snapshot = scanTree(made);
		expect(snapshot.blockers[0]).toMatchObject({comm, state: 'S', ppid: 7});
	});

	it('non-numeric /proc and task entries are skipped, whether threads are listed or counted', () => {
		for (const transition of [0, 1]) {
			const made = tree({patches: [sleeperPatch({transition})], threads: switched(2, transition ? 1 : -1)});
			made.write('/proc/1000/task/notatid', 'x');
			made.write('/proc/acpi/task/1/stat', 'x');
			const snapshot = scanTree(made);
			expect(snapshot.scanCost?.mode).toBe(transition ? 'full' : 'count');
			expect(snapshot.tasks.total).toBe(2);
		}
	});

	it('an unreadable /proc is a warning', () => {
		const made = tree({threads: switched(2, -1)});
		const port = faultyPort(createHostPort(made.root), [{method: 'readdir', path: '/proc', code: 'EACCES'}]);
		const snapshot = scanTree(made, {port});
		expect(snapshot.tasks.total).toBe(0);
		expect(snapshot.warnings).toEqual(['/proc unreadable (EACCES)']);
	});
});

describe('reader: kernel log', () => {
	it('returns livepatch lines, taint lines and patch module lines, each only once', () => {
		const made = tree({
			patches: [sleeperPatch({transition: 0})],
			kmsg: [
				"6,100,3383992,-;livepatch: enabling patch 'klp_sleeper_patch'",
				'4,101,3384000,-;klp_sleeper_patch: tainting kernel with TAINT_LIVEPATCH',
				'6,102,3384100,-;usb 1-1: new device',
				"6,103,3399578,-;livepatch: 'klp_sleeper_patch': starting patching transition",
				'4,104,4000000,-;klp_sleeper_patch: PATCHED klp_sleeper_wait: pid 182 woke, ret=-512',
				'4,105,4000001,-;klp_sleeper: ORIGINAL klp_sleeper_wait: pid 182 woke',
				' SUBSYSTEM=usb',
			],
		});
		const port = createHostPort(made.root);
		const reader = createReader(port, source(made.root), {clock: () => NOW});
		const first = reader.scan();
		expect(first.kernelLog).toEqual([
			{bootSeconds: 3.383992, text: "livepatch: enabling patch 'klp_sleeper_patch'"},
			{bootSeconds: 3.384, text: 'klp_sleeper_patch: tainting kernel with TAINT_LIVEPATCH'},
			{bootSeconds: 3.399578, text: "livepatch: 'klp_sleeper_patch': starting patching transition"},
			{bootSeconds: 4, text: 'klp_sleeper_patch: PATCHED klp_sleeper_wait: pid 182 woke, ret=-512'},
		]);
		expect(reader.scan().kernelLog).toEqual([]);
		made.append('/dev/kmsg', "6,106,5049820,-;livepatch: 'klp_sleeper_patch': patching complete\n6,107,5");
		expect(reader.scan().kernelLog).toEqual([
			{bootSeconds: 5.04982, text: "livepatch: 'klp_sleeper_patch': patching complete"},
		]);
		made.append('/dev/kmsg', '100000,-;livepatch: signaling remaining tasks\n');
		expect(reader.scan().kernelLog).toEqual([
			{bootSeconds: 5.1, text: 'livepatch: signaling remaining tasks'},
		]);
	});

	it('module lines of a patch that already vanished are recognised from its enabling line', () => {
		const made = tree({
			kmsg: ["livepatch: enabling patch 'gone_patch'", 'gone_patch: hello', 'other: hello'],
		});
		expect(scanTree(made).kernelLog.map((line) => line.text)).toEqual([
			"livepatch: enabling patch 'gone_patch'",
			'gone_patch: hello',
		]);
	});

	it('no /dev/kmsg: an empty log, no warning', () => {
		const snapshot = scanTree(tree({}));
		expect(snapshot.kernelLog).toEqual([]);
		expect(snapshot.warnings).toEqual([]);
	});
});

describe('reader: a patch being loaded (enabled 0, transition 1 inside insmod)', () => {
	const vmlinuxObject = (patched: number) => ({name: 'vmlinux', patched, functions: ['cmdline_proc_show,1']});
	const loading = (patched: number) => ({
		name: 'klp_vmlinux_patch',
		enabled: 0,
		transition: 1,
		objects: [vmlinuxObject(patched)],
	});

	it('vmlinux patched=0: a patching transition, initialising, every task pending and none a blocker', () => {
		const made = tree({
			patches: [loading(0)],
			threads: [{...cat182, patchState: 0}, ...switched(69, 0)],
		});
		const snapshot = scanTree(made);
		expect(snapshot.transition).toEqual({
			patch: 'klp_vmlinux_patch',
			direction: 'patching',
			target: 1,
			initializing: true,
		});
		expect(snapshot.tasks.byPatchState).toEqual({'-1': 0, '0': 70, '1': 0});
		expect(snapshot.blockers).toEqual([]);
	});

	it('vmlinux patched=1 with enabled 0 is a real unpatching transition', () => {
		const made = tree({
			patches: [loading(1)],
			threads: [{...running, patchState: 1}, ...switched(5, 0)],
		});
		const snapshot = scanTree(made);
		expect(snapshot.transition).toEqual({patch: 'klp_vmlinux_patch', direction: 'unpatching', target: 0});
		expect(snapshot.blockers.map((b) => b.tid)).toEqual([601]);
	});

	it('a module object reads patched=0: loading when the module is loaded, unpatching when it is not', () => {
		const made = tree({
			patches: [
				sleeperPatch({
					enabled: 0,
					objects: [{name: 'klp_sleeper', patched: 0, functions: ['klp_sleeper_wait,1']}],
				}),
			],
			threads: switched(4, 0),
		});
		made.write('/sys/module/klp_sleeper/refcnt', '1\n');
		expect(scanTree(made).transition).toMatchObject({direction: 'patching', target: 1, initializing: true});

		made.remove('/sys/module/klp_sleeper');
		made.write('/sys/module/other/refcnt', '0\n');
		// The target module is not loaded: patched stays 0 through a real unpatching transition.
		expect(scanTree(made).transition).toEqual({
			patch: 'klp_sleeper_patch',
			direction: 'unpatching',
			target: 0,
		});
	});

	it('without /sys/module, only objects that all read 0 mean loading', () => {
		const made = tree({
			patches: [
				sleeperPatch({
					enabled: 0,
					objects: [
						{name: 'klp_sleeper', patched: 0, functions: ['klp_sleeper_wait,1']},
						{name: 'other_mod', patched: 1, functions: ['other_fn,1']},
					],
				}),
			],
			threads: switched(4, 0),
		});
		expect(scanTree(made).transition).toMatchObject({direction: 'unpatching'});
		made.write('/sys/kernel/livepatch/klp_sleeper_patch/other_mod/patched', '0\n');
		expect(scanTree(made).transition).toMatchObject({direction: 'patching', initializing: true});
	});

	it('before 6.1 (no patched file) the reader cannot tell and reports what sysfs says', () => {
		const made = tree({
			release: '5.10.0-30-amd64',
			patches: [
				{
					name: 'klp_vmlinux_patch',
					enabled: 0,
					transition: 1,
					objects: [{name: 'vmlinux', functions: ['cmdline_proc_show,1']}],
				},
			],
			threads: switched(4, 0),
		});
		expect(scanTree(made).transition).toEqual({
			patch: 'klp_vmlinux_patch',
			direction: 'unpatching',
			target: 0,
		});
	});
});

describe('reader: incremental transition scans (issue 12)', () => {
	const spec: TreeSpec = {
		patches: [sleeperPatch()],
		threads: [cat182, kthread398, cat539, running, ...switched(50, 1)],
	};

	/** A reader kept between polls, its clock moved by hand; the port counts patch_state reads. */
	function keptReader(made: Tree) {
		let now = NOW;
		let reads = 0;
		const host = createHostPort(made.root, {parallelMinPids: Number.POSITIVE_INFINITY});
		const port: FsPort = {
			...host,
			walkTasks: undefined,
			readFile(path) {
				if (path.endsWith('/patch_state')) reads++;
				return host.readFile(path);
			},
		};
		const reader = createReader(port, source(made.root), {clock: () => now});
		return {
			scan(advanceMs = 1000) {
				now += advanceMs;
				reads = 0;
				const snapshot = reader.scan({threads: 'blockers'});
				return {snapshot, reads};
			},
		};
	}

	it('after the first poll, reads patch_state only of the threads not yet at the target', () => {
		const made = tree(spec);
		const reader = keptReader(made);
		expect(reader.scan().snapshot.scanCost).toEqual({
			mode: 'full',
			reason: 'first poll of this transition',
			statesRead: 54,
			statesKnown: 0,
		});
		// cat 182 switches, a new thread appears at the initial state.
		made.write('/proc/182/task/182/patch_state', '1\n');
		made.addThread({
			pid: 700,
			comm: 'new',
			patchState: 0,
			wchan: 'klp_sleeper_wait',
			stack: STACKS.interruptibleReader,
		});
		const {snapshot, reads} = reader.scan();
		expect(reads).toBe(5); // The 4 blockers of the first poll and the new thread.
		expect(snapshot.scanCost).toEqual({mode: 'incremental', reason: null, statesRead: 5, statesKnown: 50});
		expect(snapshot.tasks).toEqual({total: 55, byPatchState: {'-1': 0, '0': 4, '1': 51}});
		expect(snapshot.blockers.map((b) => b.tid).sort((a, b) => a - b)).toEqual([398, 539, 601, 700]);
		expect(reader.scan().reads).toBe(4);
	});

	it('reads every thread again after a reversal and every 10 s, and warns of what the incremental polls missed', () => {
		const made = tree(spec);
		const reader = keptReader(made);
		reader.scan();
		reader.scan();
		// A thread the marks put at the target reads the initial state again: the kernel never does that
		// within one transition, so only the 10 s full scan can see it (and says so).
		made.write('/proc/1000/task/1000/patch_state', '0\n');
		expect(reader.scan(1000).snapshot.blockers.some((b) => b.tid === 1000)).toBe(false);
		const safety = reader.scan(9000).snapshot;
		expect(safety.scanCost?.reason).toBe('safety net');
		expect(safety.blockers.some((b) => b.tid === 1000)).toBe(true);
		expect(safety.warnings).toEqual([
			'the 10 s full scan found 1 thread not at the target that the incremental polls counted there',
		]);
		// Reversal: enabled flips while the transition runs.
		made.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0\n');
		const reversed = reader.scan();
		expect(reversed.snapshot.scanCost?.reason).toBe('reversal');
		expect(reversed.reads).toBe(54);
	});

	it('a patch directory made anew under the same name is a replaced patch', () => {
		const made = tree(spec);
		const reader = keptReader(made);
		reader.scan();
		made.remove('/sys/kernel/livepatch/klp_sleeper_patch');
		made.addPatch(sleeperPatch());
		expect(reader.scan().snapshot.scanCost?.reason).toBe('replaced patch');
	});

	it('reads again the TIDs the kernel handed out since the last poll (ns_last_pid)', () => {
		const made = tree(spec);
		made.write('/proc/sys/kernel/ns_last_pid', '700\n');
		const reader = keptReader(made);
		reader.scan();
		reader.scan();
		// Thread 1010 exits and a new thread, still at the initial state, gets its TID (pid_max wrapped).
		made.write('/proc/1010/task/1010/patch_state', '0\n');
		made.write('/proc/sys/kernel/ns_last_pid', '1010\n');
		const {snapshot, reads} = reader.scan();
		expect(snapshot.blockers.some((b) => b.tid === 1010)).toBe(true);
		// The 4 blockers, and the 11 TIDs from 1000 to 1010, the first ones after 700 that exist.
		expect(reads).toBe(4 + 11);
	});

	it('no transition: threads counted from link counts, nothing read per thread', () => {
		const made = tree({patches: [sleeperPatch({transition: 0})], threads: [...switched(5, -1), running]});
		const reader = keptReader(made);
		const {snapshot, reads} = reader.scan();
		expect(reads).toBe(0);
		expect(snapshot.scanCost).toEqual({mode: 'count', reason: null, statesRead: 0, statesKnown: 0});
		expect(snapshot.tasks).toEqual({total: 6, byPatchState: {'-1': 6, '0': 0, '1': 0}});
	});
});
