/**
The scenarios beyond the eight observed ones (replace, many, churn, hidden-blocker, non-root),
the task model (fork, exit, SIGKILL, stat format) and the emulation API (list, determinism,
real-time driver).
*/
import {describe, expect, it} from 'vitest';
import {
	createEmulation,
	listScenarios,
	patchCatalog,
	sites,
	spawnReader,
	startRealtime,
} from '../../source/emulator/index.js';
import {errorCode} from '../../source/sources/fs-port.js';
import {
	advanceUntil,
	asyncCodeOf,
	attr,
	codeOf,
	histogram,
	livepatchLines,
	log,
	notYetSwitched,
} from './helpers.js';

describe('demo scenario (the README command)', () => {
	it('puts three classes of blocker on screen at once and keeps the D sleeper stuck after the 15 s round', () => {
		const emulation = createEmulation('demo', {seed: 3});
		emulation.advance(3000);
		expect(attr(emulation.port, 'klp_sleeper_patch', 'transition')).toBe('1');
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch').sort((a, b) => a - b)).toEqual([
			182, 398, 539,
		]);
		// Past the first fake-signal round (14.8-15.6 s after the start): the interruptible user task and
		// the interruptible kthread are freed, the killable (D) sleeper is not.
		emulation.advance(20_000);
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch')).toEqual([539]);
		expect(attr(emulation.port, 'klp_sleeper_patch', 'transition')).toBe('1');
		emulation.advance(60_000);
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch')).toEqual([539]);
	});
});

describe('listScenarios / createEmulation', () => {
	it('lists every scenario once with a one-line summary', () => {
		const names = listScenarios().map((entry) => entry.name);
		expect(names).toEqual([
			'quick',
			'stuck-interruptible',
			'unpatch-fake-signal',
			'stuck-kthread',
			'stuck-killable',
			'force',
			'release',
			'forced-unpatch',
			'replace',
			'stack-order',
			'replace-release',
			'replace-reverse',
			'late-module',
			'replace-force',
			'many',
			'churn',
			'hidden-blocker',
			'non-root',
			'demo',
		]);
		for (const {summary} of listScenarios()) {
			expect(summary.length).toBeGreaterThan(10);
			expect(summary).not.toContain('\n');
		}
	});

	it('throws on unknown names and bad options', () => {
		expect(() => createEmulation('nope')).toThrow(/unknown scenario 'nope'/);
		expect(() => createEmulation('many', {threads: 100_001})).toThrow(RangeError);
		expect(() => createEmulation('replace', {kernel: '4.16'})).toThrow(/needs kernel 5.1/);
	});

	it('t=0 is startTime and uptime bootOffsetS; btime agrees', () => {
		const emulation = createEmulation('quick', {startTime: Date.UTC(2030, 5, 1), bootOffsetS: 100});
		expect(emulation.now()).toBe(Date.UTC(2030, 5, 1));
		expect(emulation.port.readFile('/proc/uptime')).toMatch(/^100\.00 /);
		const btime = /^btime (\d+)$/m.exec(emulation.port.readFile('/proc/stat'))![1];
		expect(Number(btime)).toBe(Date.UTC(2030, 5, 1) / 1000 - 100);
		const {now} = emulation;
		emulation.advance(1500);
		expect(now()).toBe(Date.UTC(2030, 5, 1) + 1500);
	});

	it('is deterministic per seed', () => {
		const run = (seed: number) => {
			const emulation = createEmulation('churn', {seed});
			emulation.advance(17_000);
			return JSON.stringify({log: log(emulation), tasks: [...emulation.kernel.tasks.keys()]});
		};

		expect(run(42)).toBe(run(42));
		expect(run(42)).not.toBe(run(43));
	});
});

describe('replace: atomic replace of an older patch', () => {
	it('nops cover what v2 drops; both sleepers hold it until the fake signal; v1 is freed at completion', () => {
		const emulation = createEmulation('replace', {kernel: '6.11', seed: 2});
		const {port, kernel} = emulation;
		expect(port.readdir('/sys/kernel/livepatch')).toEqual(['klp_sleeper_patch', 'klp_sleeper_patch_v2']);
		expect(port.readdir('/sys/kernel/livepatch/klp_sleeper_patch_v2/klp_sleeper').sort()).toEqual([
			'klp_sleeper_kthread_wait,1',
			'klp_sleeper_wait,1',
			'klp_sleeper_wait_killable,1',
			'patched',
		]);
		expect(notYetSwitched(port, 'klp_sleeper_patch_v2').sort()).toEqual([182, 398]);
		expect(port.readFile('/proc/182/wchan')).toBe('patched_wait');
		expect(livepatchLines(emulation)).toContain(
			'klp_try_switch_task: klp_sleeper_kt:398 is sleeping on function klp_sleeper_kthread_wait',
		);
		expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('EAGAIN');
		advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch_v2', 'transition') === '0', 20_000, 20);
		emulation.advance(20);
		expect(port.readdir('/sys/kernel/livepatch')).toEqual(['klp_sleeper_patch_v2']);
		expect(port.readdir('/sys/kernel/livepatch/klp_sleeper_patch_v2/klp_sleeper').sort()).toEqual([
			'klp_sleeper_wait,1',
			'klp_sleeper_wait_killable,1',
			'patched',
		]);
		expect(port.readFile('/proc/182/wchan')).toBe('patched_wait_v2');
		// The replaced patch is gone without an unpatching transition and can be removed.
		expect(livepatchLines(emulation).filter((line) => line.includes("'klp_sleeper_patch':"))).toEqual([
			"'klp_sleeper_patch': initializing patching transition",
			"'klp_sleeper_patch': starting patching transition",
			"'klp_sleeper_patch': completing patching transition",
			"'klp_sleeper_patch': patching complete",
		]);
		expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('ok');
		// The kthread's function is back to the original (the nop), after its nap.
		emulation.advance(3500);
		expect(port.readFile('/proc/398/wchan')).toBe('klp_sleeper_kthread_wait');
	});

	it('on 6.1 the replace file is absent but the semantics are the same', () => {
		const emulation = createEmulation('replace', {seed: 2});
		expect(emulation.port.exists('/sys/kernel/livepatch/klp_sleeper_patch_v2/replace')).toBe(false);
		advanceUntil(
			emulation,
			() => attr(emulation.port, 'klp_sleeper_patch_v2', 'transition') === '0',
			20_000,
			50,
		);
		emulation.advance(20);
		expect(emulation.port.readdir('/sys/kernel/livepatch')).toEqual(['klp_sleeper_patch_v2']);
	});
});

describe('many', () => {
	it('has the requested thread count, ~1% blocking, multi-threaded processes and mixed classes', () => {
		const emulation = createEmulation('many', {threads: 5000, seed: 3});
		const {port} = emulation;
		const counts = histogram(port);
		expect(counts['-1'] + counts['0'] + counts['1']).toBe(5000);
		const pending = notYetSwitched(port, 'klp_many_patch');
		expect(pending.length).toBeGreaterThanOrEqual(40);
		expect(pending.length).toBeLessThanOrEqual(60);
		const states = new Set<string>();
		let multiThreaded = 0;
		for (const pid of port.readdir('/proc').filter((name) => /^\d+$/.test(name))) {
			const tids = port.readdir(`/proc/${pid}/task`);
			if (tids.length > 1) {
				multiThreaded++;
			}

			for (const tid of tids) {
				const stat = port.readFile(`/proc/${pid}/task/${tid}/stat`);
				states.add(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
			}
		}

		expect(multiThreaded).toBeGreaterThan(5);
		expect([...states].sort()).toEqual(['D', 'I', 'R', 'S', 'T', 'Z']);
		const blockingFunctions = new Set(
			livepatchLines(emulation)
				.filter((line) => line.includes('is sleeping on function'))
				.map((line) => line.split(' ').at(-1)),
		);
		expect([...blockingFunctions].sort()).toEqual([
			'klp_sleeper_kthread_wait',
			'klp_sleeper_wait',
			'klp_sleeper_wait_killable',
			'pipe_read',
		]);
		// The fake signal clears the interruptible ones; the killable ones stay.
		emulation.advance(17_000);
		const left = notYetSwitched(port, 'klp_many_patch');
		expect(left.length).toBe(10);
		for (const tid of left) {
			expect(port.readFile(`/proc/${tid}/wchan`)).toBe('klp_sleeper_wait_killable');
		}
	});

	it('builds 100,000 threads', () => {
		const emulation = createEmulation('many', {threads: 100_000});
		expect(emulation.kernel.tasks.size).toBe(100_000);
	});
});

describe('churn', () => {
	it('processes come and go during the transition; children inherit the creator patch_state', () => {
		const emulation = createEmulation('churn', {seed: 5});
		const {port, kernel} = emulation;
		const seen = new Set<number>();
		const sizes = new Set<number>();
		for (let step = 0; step < 20; step++) {
			for (const tid of kernel.tasks.keys()) {
				seen.add(tid);
			}

			sizes.add(kernel.tasks.size);
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([182]);
			emulation.advance(500);
		}

		expect(seen.size - kernel.tasks.size).toBeGreaterThan(15);
		expect(sizes.size).toBeGreaterThan(3);
		advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 10_000, 20);
	});

	it('fork copies patch_state and TIF_PATCH_PENDING (klp_copy_process)', () => {
		const emulation = createEmulation('stuck-interruptible');
		const {kernel} = emulation;
		const cat = kernel.tasks.get(182)!;
		expect(cat.patchState).toBe(0);
		const fromPending = kernel.fork(182, {comm: 'child', site: sites.nanosleep});
		expect(fromPending.patchState).toBe(0);
		expect(fromPending.pending).toBe(true);
		expect(emulation.port.readFile(`/proc/${fromPending.tid}/patch_state`)).toBe('0\n');
		const fromSwitched = kernel.fork(150, {comm: 'child2', site: sites.nanosleep});
		expect(fromSwitched.patchState).toBe(1);
		expect(fromSwitched.pending).toBe(false);
		// The pending child is not in the patched function: the next retry switches it.
		emulation.advance(1100);
		expect(emulation.port.readFile(`/proc/${fromPending.tid}/patch_state`)).toBe('1\n');
		kernel.exit(fromPending.tid);
		expect(emulation.port.exists(`/proc/${fromPending.tid}`)).toBe(false);
		expect(
			codeOf(() => emulation.port.readFile(`/proc/${fromPending.tid}/task/${fromPending.tid}/stat`)),
		).toBe('ENOENT');
	});
});

describe('hidden-blocker', () => {
	it('holds the transition a few ticks with no visible pending task, then completes', () => {
		for (const seed of [1, 2, 3]) {
			const emulation = createEmulation('hidden-blocker', {seed});
			const {port} = emulation;
			for (let step = 0; step < 4; step++) {
				expect(attr(port, 'klp_vmlinux_patch', 'transition')).toBe('1');
				expect(notYetSwitched(port, 'klp_vmlinux_patch')).toEqual([]);
				expect(histogram(port)).toEqual({'-1': 0, '0': 0, '1': 52});
				emulation.advance(700);
			}

			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'transition') === '0', 4000);
			const idleLines = livepatchLines(emulation).filter(
				(line) => line === 'klp_try_switch_task: swapper/1:0 is running',
			);
			expect(idleLines.length).toBeGreaterThanOrEqual(4);
		}
	});
});

describe('non-root', () => {
	it('hides root-owned patch_state and all stacks; wchan reads 0 for others', async () => {
		const emulation = createEmulation('non-root');
		const {port, control} = emulation;
		expect(port.readerUid()).toBe(1000);
		expect(codeOf(() => port.readFile('/proc/182/task/182/patch_state'))).toBe('EACCES');
		expect(port.readFile('/proc/405/task/405/patch_state')).toBe('0\n');
		expect(codeOf(() => port.readFile('/proc/405/stack'))).toBe('EACCES');
		expect(port.readFile('/proc/182/wchan')).toBe('0');
		expect(port.readFile('/proc/405/wchan')).toBe('klp_sleeper_wait');
		expect(port.ownerUid('/proc/182/task/182/patch_state')).toBe(0);
		expect(port.ownerUid('/proc/405')).toBe(1000);
		expect(port.readFile('/proc/182/stat')).toMatch(/^182 \(cat\) S /);
		expect(port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/transition')).toBe('1\n');
		expect(port.readKmsg()).toBeUndefined();
		expect(await asyncCodeOf(control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0'))).toBe(
			'EACCES',
		);
		expect(await asyncCodeOf(control.kill(182, 'SIGSTOP'))).toBe('EPERM');
		expect(await asyncCodeOf(control.kill(405, 'SIGSTOP'))).toBe('ok');
	});
});

describe('signals and tasks', () => {
	it('SIGKILL ends a killable sleep; the task leaves /proc', async () => {
		const emulation = createEmulation('stuck-killable');
		await emulation.control.kill(539, 'SIGKILL');
		emulation.advance(10);
		expect(emulation.port.exists('/proc/539')).toBe(false);
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch', 'transition') === '0', 1200);
	});

	it('a SIGSTOP that hits a D sleeper waits until it wakes, then it stops (switched)', async () => {
		const emulation = createEmulation('stuck-killable');
		const {control, port, kernel} = emulation;
		await control.kill(539, 'SIGSTOP');
		emulation.advance(100);
		expect(port.readFile('/proc/539/status')).toMatch(/^State:\tD \(disk sleep\)$/m);
		kernel.release();
		emulation.advance(10);
		expect(port.readFile('/proc/539/status')).toMatch(/^State:\tT \(stopped\)$/m);
		expect(port.readFile('/proc/539/patch_state')).toBe('1\n');
	});

	it('renders stat with odd comms and kthread flags; status names the state', () => {
		const emulation = createEmulation('quick');
		const {kernel, port} = emulation;
		const odd = kernel.spawn({comm: 'my) prog (x', cmdline: ['./my) prog (x', '--flag'], site: sites.poll});
		const stat = port.readFile(`/proc/${odd.tid}/stat`);
		expect(stat.startsWith(`${odd.tid} (my) prog (x) S 1 `)).toBe(true);
		const fields = stat
			.slice(stat.lastIndexOf(')') + 2)
			.trim()
			.split(' ');
		expect(fields).toHaveLength(50);
		expect(fields[19]).toBe(String(odd.starttime));
		expect(port.readFile(`/proc/${odd.tid}/cmdline`)).toBe('./my) prog (x\0--flag\0');
		const kthread = port.readFile('/proc/2/stat');
		expect(Number(kthread.slice(kthread.lastIndexOf(')') + 2).split(' ')[6]) & 0x00200000).toBe(0x00200000);
		expect(port.readFile('/proc/14/status')).toMatch(
			/^Name:\tksoftirqd\/0\nUmask:\t0022\nState:\tS \(sleeping\)\n/,
		);
		expect(port.readdir('/proc').filter((name) => /^\d+$/.test(name))).toHaveLength(53);
		expect(codeOf(() => port.readFile('/proc/0/stat'))).toBe('ENOENT');
	});

	it('a thread is reachable as /proc/<tid> though readdir hides it', () => {
		const emulation = createEmulation('quick');
		const {kernel, port} = emulation;
		const leader = kernel.spawn({comm: 'node', site: sites.epoll});
		const worker = kernel.spawnThread(leader.tgid, {comm: 'libuv-worker', site: sites.futex});
		expect(port.readdir('/proc')).not.toContain(String(worker.tid));
		expect(port.readdir(`/proc/${leader.tgid}/task`)).toEqual([String(leader.tid), String(worker.tid)]);
		expect(port.readFile(`/proc/${worker.tid}/status`)).toMatch(/^Tgid:\t\d+$/m);
		expect(port.readFile(`/proc/${leader.tgid}/status`)).toMatch(/^Threads:\t2$/m);
	});

	it('insmod of a duplicate or empty patch fails', () => {
		const emulation = createEmulation('quick');
		const {kernel} = emulation;
		emulation.advance(3000);
		expect(codeOf(() => kernel.insmod(patchCatalog.klp_vmlinux_patch))).toBe('EEXIST');
		expect(codeOf(() => kernel.insmod({name: 'empty', objects: []}))).toBe('EINVAL');
		spawnReader(kernel, 777, false);
		expect(kernel.tasks.get(777)?.state).toBe('S');
	});
});

describe('startRealtime', () => {
	it('advances the virtual clock from the real one', async () => {
		const emulation = createEmulation('quick');
		const before = emulation.now();
		const driver = startRealtime(emulation, {speed: 20, intervalMs: 10});
		await new Promise((resolve) => setTimeout(resolve, 120));
		driver.stop();
		const moved = emulation.now() - before;
		expect(moved).toBeGreaterThan(1000);
		const frozen = emulation.now();
		await new Promise((resolve) => setTimeout(resolve, 30));
		expect(emulation.now()).toBe(frozen);
	});

	it('rejects a negative advance', () => {
		const emulation = createEmulation('quick');
		try {
			emulation.advance(-1);
			expect.unreachable();
		} catch (error) {
			expect(error).toBeInstanceOf(RangeError);
			expect(errorCode(error)).toBe('EIO');
		}
	});
});
