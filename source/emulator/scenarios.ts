/**
Scenarios: each one only sets the stage (who sleeps where, which patch gets loaded or disabled) a
second or so before virtual t=0 and then lets the kernel's rules run. The eight observed ones
mirror `kernel-livepatch.md` §8 (S1-S8), with the doc's pids.
*/
import type {EmulatedKernel, KernelGeneration, Site, Task} from './kernel.js';
import {kernelGenerations} from './kernel.js';
import type {Prng} from './prng.js';
import {basePids, kthreadLoop, patchCatalog, sites, spawnReader, spawnSleeperKthread} from './world.js';

export type StageContext = {
	readonly kernel: EmulatedKernel;
	readonly prng: Prng;
	/** Uptime (µs) of virtual t=0. */
	readonly t0Us: number;
	readonly threads: number;
	/**
	The latest uptime at least `marginUs` before t=0 whose position inside the jiffies' second is
	in [lo, hi). Stages start transitions there so that the first retry and the first fake-signal
	round land where the observed runs had them (14.8-15.6 s after the start).
	*/
	startAt(lo: number, hi: number, marginUs?: number): number;
};

export type Scenario = {
	readonly name: string;
	readonly summary: string;
	/** The effective uid the reader (and the control port) act as. */
	readonly readerUid?: number;
	/** Lowest kernel generation the stage makes sense on. */
	readonly minGeneration?: KernelGeneration;
	readonly stage: (context: StageContext) => void;
};

const cat = {interruptible: 182, killable: 539, forcedUnpatch: 848} as const;
const kthreadPid = 398;

/** An applied klp_sleeper_patch, loaded long before t=0 (its transition has completed). */
function appliedSleeperPatch(context: StageContext): void {
	const {kernel, t0Us} = context;
	kernel.at(t0Us - 9_400_000, () => {
		kernel.insmod(patchCatalog.klp_sleeper_patch);
	});
}

/**
Position inside the jiffies' second at which the stages start a transition (`startAt`): there the
first retry and the first fake-signal round land where the observed runs had them.
*/
const observedStart = [0.43, 0.55] as const;

function at(context: StageContext, atUs: number, run: () => void): void {
	context.kernel.at(atUs, run);
}

/** `insmod klp_sleeper_patch.ko` at a start position like the observed runs. */
function loadSleeperPatch(context: StageContext): void {
	at(context, context.startAt(...observedStart), () => {
		context.kernel.insmod(patchCatalog.klp_sleeper_patch);
	});
}

/** `insmod klp_sleeper_patch_v2.ko` (atomic replace) at a start position like the observed runs. */
function loadReplacement(context: StageContext): void {
	at(context, context.startAt(...observedStart), () => {
		context.kernel.insmod(patchCatalog.klp_sleeper_patch_v2);
	});
}

function reader(context: StageContext, pid: number, killable: boolean, atUs: number, uid = 0): void {
	at(context, atUs, () => {
		spawnReader(context.kernel, pid, killable, uid);
	});
}

function disableAt(context: StageContext, patch: string): void {
	at(context, context.startAt(...observedStart), () => {
		context.kernel.write(`/sys/kernel/livepatch/${patch}/enabled`, '0\n');
	});
}

const stuckInterruptible = (context: StageContext): void => {
	reader(context, cat.interruptible, false, context.t0Us - 3_000_000);
	loadSleeperPatch(context);
};

const stuckKillable = (context: StageContext): void => {
	reader(context, cat.killable, true, context.t0Us - 3_000_000);
	loadSleeperPatch(context);
};

/** A random past start time of a `many` task (µs of uptime). */
type Born = () => number;

/** Background processes of the `many` world picked one at a time: name, command line, where it sleeps. */
const manySingles: ReadonlyArray<readonly [string, readonly string[], Site]> = [
	['bash', ['-bash'], sites.wait4],
	['sshd', ['sshd: root@pts/0'], sites.select],
	['nginx', ['nginx: worker process'], sites.epoll],
	['sleep', ['sleep', '3600'], sites.nanosleep],
	['postgres', ['postgres: checkpointer'], sites.epoll],
	['tmux: server', ['tmux'], sites.epoll],
	['my) prog', ['./my) prog'], sites.poll],
	['cron', ['/usr/sbin/cron', '-f'], sites.nanosleep],
];

/**
The `many` world: about 1% of the threads block a klp_sleeper_patch transition (pipe readers, cat
readers, killable readers, kthreads), the rest are a busy server's usual processes; a few are then
stopped or left as zombies.
*/
function buildMany(context: StageContext): void {
	const {kernel, prng, threads: total} = context;
	const startUs = kernel.uptimeUs();
	const born: Born = () => Math.round(prng.range(3e6, startUs - 1e6));
	let remaining = Math.max(0, total - kernel.tasks.size);
	const blockers = Math.min(remaining, Math.round(total * 0.01));
	const share = (fraction: number) => Math.round(blockers * fraction);
	const pipeProcesses = share(0.3);
	const pipeThreads = share(0.1);
	const readers = share(0.2);
	const killable = share(0.2);
	const kthreadSleepers = Math.max(0, blockers - pipeProcesses - pipeThreads - readers - killable);
	spawnManyBlockers(context, born, {pipeProcesses, readers, killable, kthreadSleepers});
	remaining -= pipeProcesses + readers + killable + kthreadSleepers;
	// Two CPU hogs, one per CPU (they switch at their next kernel exit).
	for (let cpu = 0; cpu < 2 && remaining > 0; cpu++, remaining--) {
		kernel.spawn({
			comm: 'stress-ng',
			ppid: basePids.shell,
			cmdline: ['stress-ng', '--cpu', '1'],
			cpu,
			startedUs: born(),
		});
	}

	spawnManyBackground(context, born, remaining, pipeThreads);
	stopAndReapSome(kernel);
}

/** The blockers that sleep in processes of their own (pipe threads come with the java processes). */
function spawnManyBlockers(
	context: StageContext,
	born: Born,
	counts: {pipeProcesses: number; readers: number; killable: number; kthreadSleepers: number},
): void {
	const {kernel, prng} = context;
	const {pipeProcesses, readers, killable, kthreadSleepers} = counts;
	let kthreadIndex = 0;
	for (let index = 0; index < pipeProcesses; index++) {
		kernel.spawn({
			comm: prng.pick(['postgres', 'logger', 'tee', 'gzip']),
			ppid: basePids.shell,
			site: sites.pipe,
			startedUs: born(),
		});
	}

	for (let index = 0; index < readers + killable; index++) {
		const isKillable = index >= readers;
		kernel.spawn({
			comm: 'cat',
			ppid: basePids.shell,
			cmdline: ['cat', isKillable ? '/proc/klp_sleeper_killable' : '/proc/klp_sleeper'],
			site: isKillable ? sites.sleeperWaitKillable : sites.sleeperWait,
			program: {kind: 'reader'},
			startedUs: born(),
			quiet: true,
		});
	}

	for (let index = 0; index < kthreadSleepers; index++) {
		kernel.spawn({
			comm: `klpsleep_kt/${kthreadIndex++}`,
			kthread: true,
			site: sites.sleeperKthreadWait,
			program: kthreadLoop,
			startedUs: born(),
			quiet: true,
		});
	}
}

/** `remaining` threads of ordinary processes: java pools (`pipeThreads` of them in a pipe), node, kworkers, dd, singles. */
function spawnManyBackground(
	context: StageContext,
	born: Born,
	remaining: number,
	pipeThreads: number,
): void {
	const {kernel, prng} = context;
	const pipe = {left: pipeThreads};
	while (remaining > 0) {
		const roll = prng.next();
		if (roll < 0.3 && remaining > 60) {
			remaining -= spawnJava(context, born, Math.min(remaining, prng.int(50, 400)), pipe);
		} else if (roll < 0.45 && remaining >= 11) {
			const node = kernel.spawn({
				comm: 'node',
				ppid: 1,
				cmdline: ['node', 'server.js'],
				site: sites.epoll,
				startedUs: born(),
			});
			for (let index = 1; index < 11; index++) {
				kernel.spawnThread(node.tgid, {
					comm: index < 5 ? 'node' : `libuv-worker`,
					site: sites.futex,
					startedUs: born(),
				});
			}

			remaining -= 11;
		} else if (roll < 0.5) {
			kernel.spawn({
				comm: `kworker/u${prng.int(4, 9)}:${prng.int(0, 40)}-events_unbound`,
				kthread: true,
				site: prng.next() < 0.9 ? sites.worker : sites.io,
				startedUs: born(),
			});
			remaining--;
		} else if (roll < 0.51) {
			kernel.spawn({
				comm: 'dd',
				ppid: basePids.shell,
				cmdline: ['dd', 'if=/dev/vda', 'of=/dev/null'],
				site: sites.io,
				startedUs: born(),
			});
			remaining--;
		} else {
			const [comm, cmdline, where] = prng.pick(manySingles);
			kernel.spawn({comm, cmdline, site: where, ppid: 1, startedUs: born()});
			remaining--;
		}
	}
}

/** A java process of `count` threads, mostly in futex waits; every 7th is a pipe blocker while `pipe.left` lasts. */
function spawnJava(context: StageContext, born: Born, count: number, pipe: {left: number}): number {
	const {kernel, prng} = context;
	const java = kernel.spawn({
		comm: 'java',
		ppid: 1,
		cmdline: ['/usr/bin/java', '-jar', 'app.jar'],
		site: sites.futex,
		startedUs: born(),
	});
	for (let index = 1; index < count; index++) {
		const inPipe = pipe.left > 0 && index % 7 === 0;
		if (inPipe) {
			pipe.left--;
		}

		const roll2 = prng.next();
		kernel.spawnThread(java.tgid, {
			comm: inPipe
				? 'java-io'
				: roll2 < 0.05
					? 'GC Thread#0'
					: roll2 < 0.1
						? 'C2 CompilerThre'
						: 'pool-1-thread-1',
			site: inPipe ? sites.pipe : roll2 < 0.9 ? sites.futex : roll2 < 0.95 ? sites.epoll : sites.nanosleep,
			startedUs: born(),
		});
	}

	return count;
}

/** A few stopped and zombie tasks among them (mixed classes), converted from existing sleepers. */
function stopAndReapSome(kernel: EmulatedKernel): void {
	let stopped = 0;
	let zombies = 0;
	for (const task of [...kernel.tasks.values()].reverse()) {
		if (task.comm === 'sleep' && stopped < 2) {
			kernel.kill(task.tid, 'SIGSTOP');
			stopped++;
		} else if (task.comm === 'bash' && zombies < 3) {
			kernel.zombie(task.tid);
			zombies++;
		}

		if (stopped >= 2 && zombies >= 3) {
			break;
		}
	}
}

/** `make -j2` forking short-lived compiler processes, and a pool growing and shrinking its threads. */
function startChurn(context: StageContext): void {
	const {kernel, prng} = context;
	const make = kernel.spawn({
		pid: 300,
		comm: 'make',
		ppid: basePids.shell,
		cmdline: ['make', '-j2'],
		site: sites.wait4,
	});
	const pool = kernel.spawn({
		pid: 310,
		comm: 'pool',
		ppid: basePids.shell,
		cmdline: ['./pool'],
		site: sites.epoll,
	});
	const forkLoop = (): void => {
		if (make.exited) {
			return;
		}

		const lifeUs = Math.round(prng.range(300_000, 2_500_000));
		kernel.fork(make.tid, {
			comm: prng.pick(['cc1', 'as', 'ld', 'sh']),
			site: prng.next() < 0.5 ? sites.nanosleep : sites.pipe,
			program: {kind: 'timed', exitAtUs: kernel.uptimeUs() + lifeUs},
		});
		kernel.after(prng.int(150_000, 450_000), forkLoop);
	};

	const threadLoop = (): void => {
		if (pool.exited) {
			return;
		}

		kernel.spawnThread(pool.tgid, {
			comm: 'pool-worker',
			site: sites.futex,
			program: {kind: 'timed', exitAtUs: kernel.uptimeUs() + Math.round(prng.range(500_000, 4_000_000))},
		});
		kernel.after(prng.int(300_000, 900_000), threadLoop);
	};

	forkLoop();
	threadLoop();
}

export const scenarios: readonly Scenario[] = [
	{
		name: 'quick',
		summary: 'vmlinux patch (cmdline_proc_show), no sleepers: done in 1.1-2.3 s, held only by an idle task',
		stage(context) {
			at(context, context.startAt(0.3, 0.6, 150_000), () => {
				context.kernel.insmod(patchCatalog.klp_vmlinux_patch);
			});
		},
	},
	{
		name: 'stuck-interruptible',
		summary:
			'cat 182 sleeps interruptibly in klp_sleeper_wait; patching waits (SIGSTOP/SIGCONT or the 15 s fake signal)',
		stage: stuckInterruptible,
	},
	{
		name: 'unpatch-fake-signal',
		summary: 'echo 0 > enabled while cat 182 sleeps in patched_wait; the fake signal clears it at ~15 s',
		stage(context) {
			appliedSleeperPatch(context);
			reader(context, cat.interruptible, false, context.t0Us - 4_000_000);
			disableAt(context, 'klp_sleeper_patch');
		},
	},
	{
		name: 'stuck-kthread',
		summary: 'kthread klp_sleeper_kt 398 sleeps in klp_sleeper_kthread_wait; woken by the 15 s round',
		stage(context) {
			at(context, context.t0Us - 5_000_000, () => {
				spawnSleeperKthread(context.kernel, kthreadPid);
			});
			loadSleeperPatch(context);
		},
	},
	{
		name: 'stuck-killable',
		summary:
			'cat 539 in a killable (D) sleep in klp_sleeper_wait_killable; no nudge or fake signal: reverse, force, a wakeup or SIGKILL (cat dies)',
		stage: stuckKillable,
	},
	{
		name: 'force',
		summary: 'same D-state stall as stuck-killable, to try `force` (the task keeps running the old code)',
		stage: stuckKillable,
	},
	{
		name: 'release',
		summary:
			'cat 182 sleeps interruptibly; `echo release > /proc/klp_sleeper_ctl` wakes it, no signal needed',
		stage: stuckInterruptible,
	},
	{
		name: 'forced-unpatch',
		summary:
			'unpatching stuck on cat 848 sleeping killably in patched_wait_killable; forcing pins the module',
		stage(context) {
			appliedSleeperPatch(context);
			reader(context, cat.forcedUnpatch, true, context.t0Us - 4_000_000);
			disableAt(context, 'klp_sleeper_patch');
		},
	},
	{
		name: 'replace',
		summary:
			'atomic-replace klp_sleeper_patch_v2 over klp_sleeper_patch; cat and kthread sleep in the old patch',
		minGeneration: '5.1',
		stage(context) {
			appliedSleeperPatch(context);
			reader(context, cat.interruptible, false, context.t0Us - 4_000_000);
			at(context, context.t0Us - 4_000_000, () => {
				spawnSleeperKthread(context.kernel, kthreadPid);
			});
			at(context, context.startAt(...observedStart), () => {
				context.kernel.insmod(patchCatalog.klp_sleeper_patch_v2);
			});
		},
	},
	// The 6.11+ scenarios of the real-kernel tier (issue 14): each stage ends with the action that starts
	// the observed run; the rest (further loads, wakeups, reversals, forcing) is the operator's.
	{
		name: 'stack-order',
		summary:
			'klp_sleeper_patch loads; stack klp_sleeper_patch_v2 with replace=0 on it for stack_order 1 and 2 (6.14+)',
		minGeneration: '5.1',
		stage: loadSleeperPatch,
	},
	{
		name: 'replace-release',
		summary:
			'atomic-replace klp_sleeper_patch_v2 over klp_sleeper_patch, held by cat 182 in patched_wait until a release',
		minGeneration: '5.1',
		stage(context) {
			appliedSleeperPatch(context);
			reader(context, cat.interruptible, false, context.t0Us - 4_000_000);
			loadReplacement(context);
		},
	},
	{
		name: 'replace-reverse',
		summary:
			'atomic-replace klp_sleeper_patch_v2 held by cat 539 (D) in patched_wait_killable: reverse it, the old patch stays',
		minGeneration: '5.1',
		stage(context) {
			appliedSleeperPatch(context);
			reader(context, cat.killable, true, context.t0Us - 4_000_000);
			loadReplacement(context);
		},
	},
	{
		name: 'late-module',
		summary:
			'klp_late_patch loads before its module klp_late: patched reads 0, 1 once klp_late loads, 0 after',
		minGeneration: '6.1',
		stage(context) {
			at(context, context.startAt(...observedStart), () => {
				context.kernel.insmod(patchCatalog.klp_late_patch);
			});
		},
	},
	{
		name: 'replace-force',
		summary:
			'atomic-replace klp_sleeper_patch_v2 over klp_vmlinux_patch held by cat 539 (D): forcing pins the replaced module',
		minGeneration: '5.1',
		stage(context) {
			context.kernel.at(context.t0Us - 9_400_000, () => {
				context.kernel.insmod(patchCatalog.klp_vmlinux_patch);
			});
			reader(context, cat.killable, true, context.t0Us - 4_000_000);
			loadReplacement(context);
		},
	},
	{
		name: 'many',
		summary:
			'N threads (--threads, default 10,000, up to 100,000), ~1% blocking in four functions, mixed classes',
		stage(context) {
			buildMany(context);
			at(context, context.startAt(...observedStart), () => {
				context.kernel.insmod(patchCatalog.klp_many_patch);
			});
		},
	},
	{
		name: 'churn',
		summary: 'processes fork and exit (make -j2, a thread pool) while cat 182 holds the transition',
		stage(context) {
			at(context, context.t0Us - 6_000_000, () => {
				startChurn(context);
			});
			stuckInterruptible(context);
		},
	},
	{
		name: 'hidden-blocker',
		summary: "vmlinux patch held a few ticks only by CPU 1's idle task: no visible pending task",
		stage(context) {
			const startUs = context.startAt(...observedStart, 150_000);
			at(context, startUs, () => {
				context.kernel.holdIdle(1, startUs + Math.round(context.prng.range(3_600_000, 4_600_000)));
				context.kernel.insmod(patchCatalog.klp_vmlinux_patch, {cpu: 0});
			});
		},
	},
	{
		name: 'non-root',
		summary: 'reader is uid 1000: root-owned patch_state and every stack unreadable (EACCES), wchan 0',
		readerUid: 1000,
		stage(context) {
			const {kernel, t0Us} = context;
			at(context, t0Us - 5_000_000, () => {
				const shell = kernel.spawn({
					pid: 400,
					comm: 'sh',
					ppid: 1,
					uid: 1000,
					cmdline: ['-sh'],
					site: sites.wait4,
				});
				kernel.spawn({
					pid: 401,
					comm: 'tmux: server',
					ppid: 1,
					uid: 1000,
					cmdline: ['tmux'],
					site: sites.epoll,
				});
				kernel.spawn({
					pid: 402,
					comm: 'vim',
					ppid: shell.tid,
					uid: 1000,
					cmdline: ['vim', 'notes.txt'],
					site: sites.tty,
				});
			});
			reader(context, 405, false, t0Us - 3_500_000, 1000);
			stuckInterruptible(context);
		},
	},
	{
		name: 'demo',
		summary:
			'the README demo: cat 182 (S), kthread 398 and cat 539 (D) hold klp_sleeper_patch; the 15 s round frees two, 539 stays',
		stage(context) {
			at(context, context.t0Us - 5_000_000, () => {
				spawnSleeperKthread(context.kernel, kthreadPid);
			});
			reader(context, cat.interruptible, false, context.t0Us - 3_000_000);
			reader(context, cat.killable, true, context.t0Us - 2_500_000);
			loadSleeperPatch(context);
		},
	},
];

export function findScenario(name: string): Scenario | undefined {
	return scenarios.find((scenario) => scenario.name === name);
}

export function generationAtLeast(generation: KernelGeneration, minimum: KernelGeneration): boolean {
	return kernelGenerations.indexOf(generation) >= kernelGenerations.indexOf(minimum);
}

export type {Task};
