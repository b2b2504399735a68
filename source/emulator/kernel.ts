/**
The emulated Linux livepatch kernel: the per-task consistency model of kernel/livepatch
(transition.c, core.c, patch.c) run on a virtual clock, following `kernel-livepatch.md` §2-§8.
Where the source and the observed Debian 6.1 guest disagree, the observation wins.

Nothing here is scripted by time: a transition completes only when the kernel's rules let every
task switch (stack checks once per ~1 s tick, exits to user space, the 15 s fake signal, idle
loop passes, force), and a sleeper stays where it is until a signal, a wakeup, a reversal or force
frees it.

Time is kept in microseconds of uptime (the `/dev/kmsg` clock); the epoch clock is derived.
*/
import {fsError, type FsError, type KillSignal} from '../sources/fs-port.js';
import type {PatchState} from '../model/types.js';
import {createPrng} from './prng.js';
import {frameOf, symKey, type Frame, type Sym} from './symbols.js';
import {Clock, HZ_US} from './kernel/clock.js';
import {Ftrace, type Resolved} from './kernel/ftrace.js';
import {KlpMutex} from './kernel/klp-mutex.js';
import {KernelLog} from './kernel/printk.js';
import {checkedRange, delays} from './kernel/delays.js';
import {featuresOf, type Features, type KernelGeneration} from './kernel/features.js';
import {
	kthreadFlags,
	userFlags,
	type Cpu,
	type FuncSpec,
	type KFunc,
	type KObject,
	type KPatch,
	type LogRecord,
	type Module,
	type PatchSpec,
	type Process,
	type Program,
	type Site,
	type SpawnOptions,
	type Task,
	type TaskStateLetter,
} from './kernel/types.js';

export {featuresOf, kernelGenerations, type Features, type KernelGeneration} from './kernel/features.js';
export {
	PF_KTHREAD,
	type Cpu,
	type FuncSpec,
	type KFunc,
	type KObject,
	type KPatch,
	type LogRecord,
	type Module,
	type ObjectSpec,
	type PatchSpec,
	type Process,
	type Program,
	type Site,
	type SiteFrame,
	type SleepMode,
	type SpawnOptions,
	type Task,
	type TaskStateLetter,
} from './kernel/types.js';

export type KernelOptions = {
	readonly generation?: KernelGeneration;
	readonly seed?: number;
	readonly cpus?: number;
	/** Uptime at creation, µs. */
	readonly uptimeUs?: number;
	/** Epoch ms at uptime 0. */
	readonly bootEpochMs?: number;
	/** pr_debug of kernel/livepatch enabled (the observed runs had it on). @default true */
	readonly dynamicDebug?: boolean;
	/** Kernel log ring size in records. @default 50000 */
	readonly logCapacity?: number;
	/**
	µs `insmod` spends between `klp_init_transition` (transition 1, every task 0) and setting `enabled`
	at the end of `__klp_enable_patch` (ftrace registration), drawn from this range. [0, 0]: no window.
	@default [5000, 30000] (a normal machine; ~100-700 ms observed under TCG)
	*/
	readonly insmodInitUs?: readonly [number, number];
	/**
	µs a refused `insmod` (EBUSY) keeps its patch directory (`enabled` 0, `transition` 0) before it
	goes, drawn from this range. [0, 0]: no directory. @default [5000, 30000] (~0.6-0.8 s under TCG)
	*/
	readonly refusedLoadUs?: readonly [number, number];
};

const SIGNALS_TIMEOUT = 15;
const staticProgram: Program = {kind: 'static'};

// ---------------------------------------------------------------------------------------------

export class EmulatedKernel {
	readonly generation: KernelGeneration;
	readonly features: Features;
	readonly clock: Clock;
	readonly printk: KernelLog;
	readonly ftrace = new Ftrace();
	private readonly mutex = new KlpMutex();

	/** Processes in creation order (the kernel's task list order). */
	readonly processes = new Map<number, Process>();
	readonly tasks = new Map<number, Task>();
	readonly cpus: Cpu[] = [];
	readonly modules = new Map<string, Module>();
	/** `klp_patches`: enabled patches and the transition patch, in load order. */
	readonly patches: KPatch[] = [];
	/** Registered but disabled patches (< 5.1 only; they keep their sysfs directory). */
	readonly registered: KPatch[] = [];
	/** Off the list, kobject not yet released (klp_free_patch_async in flight). */
	private readonly freeing: KPatch[] = [];
	/** Directories of refused loads (EBUSY), visible until their insmod tears them down. */
	private readonly refused: KPatch[] = [];
	private readonly insmodInitUs: readonly [number, number];
	private readonly refusedLoadUs: readonly [number, number];

	transitionPatch: KPatch | null = null;
	/** klp_target_state: -1 none, 0 unpatched, 1 patched. */
	target: PatchState = -1;
	/** Total tasks that ever existed + 1 (next pid). */
	private nextPid = 1;
	private signalsCnt = 0;
	private workPending = false;
	/** Global "forced" of 4.16-5.0 (klp_forced): no patch module is ever put again. */
	private globalForced = false;

	constructor(options: KernelOptions = {}) {
		this.generation = options.generation ?? '6.1';
		this.features = featuresOf(this.generation);
		const uptimeUs = Math.round(options.uptimeUs ?? 20 * HZ_US);
		const bootEpochMs = options.bootEpochMs ?? Date.UTC(2026, 0, 1) - uptimeUs / 1000;
		this.insmodInitUs = checkedRange(options.insmodInitUs ?? delays.insmodInit, 'insmodInitUs');
		this.refusedLoadUs = checkedRange(options.refusedLoadUs ?? delays.refusedLoad, 'refusedLoadUs');
		this.clock = new Clock(createPrng(options.seed ?? 1), uptimeUs, bootEpochMs);
		this.printk = new KernelLog(this.clock, {
			dynamicDebug: options.dynamicDebug ?? true,
			capacity: options.logCapacity ?? 50_000,
		});
		const cpus = options.cpus ?? 2;
		for (let index = 0; index < cpus; index++) {
			const idle = this.makeTask({
				tid: 0,
				tgid: 0,
				comm: `swapper/${index}`,
				ppid: 0,
				uid: 0,
				kthread: true,
				flags: 0x00208042,
				starttime: 0,
				cmdline: [],
				nice: 0,
				idleOf: index,
			});
			idle.state = 'R';
			idle.onCpu = true;
			idle.cpu = index;
			idle.frames = ['do_idle', 'cpu_startup_entry', index === 0 ? 'rest_init' : 'start_secondary'].map(
				(name) => frameOf(name, null),
			);
			this.cpus.push({index, idle, kickIgnoredUntilUs: 0});
		}
	}

	// -------------------------------------------------------------------------------------------
	// Clock and log (clock.ts, printk.ts)

	get bootEpochMs(): number {
		return this.clock.bootEpochMs;
	}

	get jiffyPhaseUs(): number {
		return this.clock.jiffyPhaseUs;
	}

	uptimeUs(): number {
		return this.clock.uptimeUs();
	}

	epochMs(): number {
		return this.clock.epochMs();
	}

	/** Run `fn` at uptime `atUs` (never in the past). */
	at(atUs: number, fn: () => void): void {
		this.clock.at(atUs, fn);
	}

	after(delayUs: number, fn: () => void): void {
		this.clock.after(delayUs, fn);
	}

	/** Run the clock to `targetUs`, firing every event on the way in order. */
	runUntil(targetUs: number): void {
		this.clock.runUntil(targetUs);
	}

	advance(ms: number): void {
		this.clock.advance(ms);
	}

	/** Append a record; level 7 (pr_debug) only with dynamic debug. */
	log(level: number, text: string, spendUs = 0): void {
		this.printk.log(level, text, spendUs);
	}

	/** Records with seq >= `fromSeq` still in the ring. */
	logSince(fromSeq: number): readonly LogRecord[] {
		return this.printk.since(fromSeq);
	}

	get logEndSeq(): number {
		return this.printk.endSeq;
	}

	get taintedMask(): number {
		return this.printk.taintedMask;
	}

	/** klp_ftrace_handler(): which implementation of `fn` a task with `patchState` runs. */
	resolve(fn: string, object: string, patchState: PatchState): Resolved {
		return this.ftrace.resolve(fn, object, patchState);
	}

	// -------------------------------------------------------------------------------------------
	// Tasks

	private makeTask(fields: {
		tid: number;
		tgid: number;
		comm: string;
		ppid: number;
		uid: number;
		kthread: boolean;
		flags: number;
		starttime: number;
		cmdline: readonly string[];
		nice: number;
		idleOf: number | null;
	}): Task {
		// One literal with every field in a fixed order: 100,000 tasks share one hidden class.
		return {
			tid: fields.tid,
			tgid: fields.tgid,
			comm: fields.comm.slice(0, 15),
			ppid: fields.ppid,
			uid: fields.uid,
			kthread: fields.kthread,
			flags: fields.flags,
			starttime: fields.starttime,
			cmdline: fields.cmdline,
			nice: fields.nice,
			state: 'S',
			patchState: -1,
			pending: false,
			onCpu: false,
			cpu: 0,
			frames: [],
			wchan: '0',
			site: null,
			implPatch: null,
			program: staticProgram,
			stopPending: false,
			fatal: false,
			unreliableStack: false,
			exited: false,
			version: 0,
			generation: 0,
			idleOf: fields.idleOf,
		};
	}

	private allocPid(requested?: number): number {
		if (requested !== undefined) {
			if (this.tasks.has(requested) || requested <= 0) {
				throw fsError('EEXIST', `pid ${requested} is in use`);
			}

			this.nextPid = Math.max(this.nextPid, requested + 1);
			return requested;
		}

		while (this.tasks.has(this.nextPid)) {
			this.nextPid++;
		}

		return this.nextPid++;
	}

	/** Create a new process (one thread) and put it where `options.site` says. */
	spawn(options: SpawnOptions): Task {
		const pid = this.allocPid(options.pid);
		return this.addThread(pid, pid, options, null);
	}

	/** Add a thread to an existing process. */
	spawnThread(tgid: number, options: SpawnOptions): Task {
		const process = this.processes.get(tgid);
		if (!process) {
			throw fsError('ESRCH', `no process ${tgid}`);
		}

		const tid = this.allocPid(options.pid);
		const leader = process.threads[0]!;
		return this.addThread(tid, tgid, options, leader);
	}

	private addThread(tid: number, tgid: number, options: SpawnOptions, inheritFrom: Task | null): Task {
		const sibling = inheritFrom !== null && inheritFrom.tgid === tgid ? inheritFrom : null;
		const kthread = sibling ? sibling.kthread : (options.kthread ?? false);
		const startedUs = options.startedUs ?? this.clock.uptimeUs();
		const task = this.makeTask({
			tid,
			tgid,
			comm: options.comm,
			ppid: sibling ? sibling.ppid : (options.ppid ?? (kthread ? 2 : 1)),
			uid: sibling ? sibling.uid : (options.uid ?? 0),
			kthread,
			flags: options.flags ?? (kthread ? kthreadFlags : userFlags),
			starttime: Math.floor(startedUs / 10_000),
			cmdline: sibling ? sibling.cmdline : (options.cmdline ?? (kthread ? [] : [options.comm])),
			nice: options.nice ?? 0,
			idleOf: null,
		});
		task.unreliableStack = options.unreliableStack ?? false;
		task.cpu = options.cpu ?? tid % this.cpus.length;
		// klp_copy_process(): a new task takes its creator's patch state (and, since 6.1, TIF_PATCH_PENDING).
		const parent = inheritFrom ?? (options.ppid === undefined ? undefined : this.tasks.get(options.ppid));
		if (this.transitionPatch && parent) {
			task.patchState = parent.patchState;
			task.pending = parent.pending;
		} else if (this.transitionPatch) {
			task.patchState = this.target;
		}

		let process = this.processes.get(tgid);
		if (!process) {
			process = {tgid, threads: []};
			this.processes.set(tgid, process);
		}

		process.threads.push(task);
		this.tasks.set(tid, task);
		task.program = options.program ?? (options.site ? {kind: 'static'} : {kind: 'spin'});
		if (options.site) {
			this.enter(task, options.site, {quiet: options.quiet ?? false, state: options.state});
		} else {
			this.run(task);
		}

		return task;
	}

	/**
	fork() by thread `tid`: a new process whose only thread copies the creator's patch_state and
	TIF_PATCH_PENDING (klp_copy_process). The creator then returns to user space (and switches, if
	a transition waits for it).
	*/
	fork(tid: number, options: Partial<SpawnOptions> = {}): Task {
		const parent = this.tasks.get(tid);
		if (!parent || parent.exited) {
			throw fsError('ESRCH', `no task ${tid}`);
		}

		const pid = this.allocPid(options.pid);
		const child = this.addThread(
			pid,
			pid,
			{
				comm: options.comm ?? parent.comm,
				ppid: parent.tgid,
				uid: parent.uid,
				cmdline: options.cmdline ?? parent.cmdline,
				site: options.site ?? null,
				program: options.program,
				cpu: options.cpu,
			},
			parent,
		);
		// A running creator returns to user space from clone() (and switches); a sleeping one stays put.
		if (!parent.kthread && parent.state === 'R') {
			this.updatePatchState(parent);
		}

		return child;
	}

	/** The thread exits (the whole process when it is the last). */
	exit(tid: number): void {
		const task = this.tasks.get(tid);
		if (!task || task.exited) {
			return;
		}

		task.exited = true;
		task.generation++;
		task.onCpu = false;
		this.tasks.delete(tid);
		const process = this.processes.get(task.tgid);
		if (process) {
			const index = process.threads.indexOf(task);
			if (index >= 0) {
				process.threads.splice(index, 1);
			}

			if (process.threads.length === 0) {
				this.processes.delete(task.tgid);
			}
		}
	}

	exitGroup(tgid: number): void {
		const process = this.processes.get(tgid);
		for (const thread of [...(process?.threads ?? [])]) {
			this.exit(thread.tid);
		}
	}

	/** The task becomes a zombie: it stays in the task list (and /proc) until reaped. */
	zombie(tid: number): void {
		const task = this.mustTask(tid);
		this.setSleep(task, null, 'Z', [], '0');
		task.onCpu = false;
		task.program = {kind: 'static'};
	}

	private mustTask(tid: number): Task {
		const task = this.tasks.get(tid);
		if (!task) {
			throw fsError('ESRCH', `no task ${tid}`);
		}

		return task;
	}

	private touch(task: Task): void {
		task.version++;
	}

	private setSleep(
		task: Task,
		site: Site | null,
		state: TaskStateLetter,
		frames: readonly Frame[],
		wchan: string,
	): void {
		task.site = site;
		task.state = state;
		task.frames = frames;
		task.wchan = wchan;
		task.generation++;
		this.touch(task);
	}

	/** The task calls into `site` and sleeps there (or, for `spin`, runs). */
	enter(task: Task, site: Site, options: {quiet?: boolean; state?: TaskStateLetter} = {}): void {
		const entry = this.ftrace.siteEntry(site, task.patchState);
		const {top, frames} = entry;
		task.implPatch = top.func?.patch.module ?? null;
		task.onCpu = false;
		const state = options.state ?? (site.mode === 'interruptible' ? 'S' : site.mode === 'idle' ? 'I' : 'D');
		this.setSleep(task, site, state, frames, site.wchan ?? top.sym.name);
		if (site.voice && !options.quiet) {
			const who = task.kthread ? 'kthread' : `pid ${task.tid} (${task.comm})`;
			this.printk.log(6, `${this.voice(task, site)} ${site.fn}: ${who} going to sleep (${site.mode})`);
		}

		if (task.program.kind === 'timed') {
			const {generation} = task;
			this.clock.at(task.program.exitAtUs, () => {
				if (task.generation === generation && !task.exited) {
					this.exit(task.tid);
				}
			});
		}
	}

	private voice(task: Task, site: Site): string {
		return task.implPatch === null ? `${site.voice}: ORIGINAL` : `${task.implPatch}: PATCHED`;
	}

	/** The task runs (on a CPU): user space for user tasks. */
	run(task: Task): void {
		task.onCpu = true;
		this.setSleep(task, task.site, 'R', [], '0');
		if (task.pending) {
			this.schedulePendingRunner(task);
		}
	}

	/**
	A running task with TIF_PATCH_PENDING: a user task switches at its next kernel exit; a kthread
	only where the generation has a scheduler hook (cond_resched(), 6.4-6.15).
	*/
	private schedulePendingRunner(task: Task): void {
		if (task.kthread && !this.features.kthreadCondResched) {
			return;
		}

		const {generation} = task;
		this.clock.after(this.clock.rand(delays.userExit), () => {
			if (task.generation === generation && task.onCpu && !task.exited) {
				this.updatePatchState(task);
			}
		});
	}

	/** klp_update_patch_state(): switch if TIF_PATCH_PENDING (no stack check: nothing on the stack). */
	updatePatchState(task: Task): void {
		if (task.pending && this.transitionPatch) {
			task.pending = false;
			task.patchState = this.target;
			this.touch(task);
		}
	}

	/**
	Wake a sleeping task out of its site. `reason` decides what the code returns: a signal makes the
	wait return -ERESTARTSYS, a release or timeout returns normally.
	*/
	private wake(task: Task, reason: 'signal' | 'release'): void {
		const site = task.site;
		if (!site || task.exited) {
			return;
		}

		if (site.voice) {
			if (task.kthread) {
				this.printk.log(6, `${this.voice(task, site)} ${site.fn}: kthread woke up`);
			} else if (reason === 'signal') {
				const extra = task.implPatch === null ? ' sigpending=1' : '';
				this.printk.log(6, `${this.voice(task, site)} ${site.fn}: pid ${task.tid} woke, ret=-512${extra}`);
			} else {
				this.printk.log(6, `${this.voice(task, site)} ${site.fn}: pid ${task.tid} released`);
			}
		}

		// Running again, on the way out of the function.
		task.onCpu = true;
		task.implPatch = null;
		this.setSleep(task, site, 'R', [], '0');
		const {generation} = task;
		this.clock.after(this.clock.rand(delays.restart), () => {
			if (task.generation === generation && !task.exited) {
				this.afterWake(task, reason, site);
			}
		});
	}

	private afterWake(task: Task, reason: 'signal' | 'release', site: Site): void {
		const program = task.program;
		if (task.kthread) {
			// Kthreads never return to user space: they switch only through a later stack check.
			task.onCpu = false;
			if (program.kind === 'kloop') {
				this.enter(task, program.napSite, {quiet: true});
				const {generation} = task;
				this.clock.after(program.napMs * 1000, () => {
					if (task.generation === generation && !task.exited) {
						this.enter(task, site);
					}
				});
			} else {
				this.enter(task, site, {quiet: true});
			}

			return;
		}

		// exit_to_user_mode_loop(): klp_update_patch_state() before signal handling.
		this.updatePatchState(task);
		if (task.fatal) {
			this.exitGroup(task.tgid);
			return;
		}

		if (task.stopPending) {
			this.stop(task, site);
			return;
		}

		if (reason === 'release' || program.kind === 'timed') {
			if (program.kind === 'reader' || program.kind === 'timed') {
				// Back in user space: print what was read, read EOF, exit.
				this.setSleep(task, site, 'R', [], '0');
				const {generation} = task;
				this.clock.after(this.clock.rand(delays.exit), () => {
					if (task.generation === generation) {
						this.exitGroup(task.tgid);
					}
				});
				return;
			}
		}

		// The syscall restarts (-ERESTARTSYS) in whatever implementation the task's state selects now.
		this.enter(task, site);
	}

	private stop(task: Task, restartSite: Site | null): void {
		task.stopPending = false;
		task.onCpu = false;
		this.setSleep(
			task,
			restartSite,
			'T',
			[
				'do_signal_stop',
				'get_signal',
				'arch_do_signal_or_restart',
				'exit_to_user_mode_prepare',
				'syscall_exit_to_user_mode',
				'do_syscall_64',
				'entry_SYSCALL_64_after_hwframe',
			].map((name) => frameOf(name, null)),
			'do_signal_stop',
		);
	}

	/** Deliver a signal to the thread group of `pid` (kill(2)). `uid` is the sender's. */
	kill(pid: number, signal: KillSignal, uid = 0): void {
		const target = this.tasks.get(pid);
		if (!target || pid <= 0) {
			throw fsError('ESRCH', `kill ${pid}: No such process`);
		}

		if (uid !== 0 && uid !== target.uid) {
			throw fsError('EPERM', `kill ${pid}: Operation not permitted`);
		}

		if (signal === 0 || target.kthread) {
			// Kernel threads ignore signals; kill(2) still succeeds.
			return;
		}

		const threads = [...(this.processes.get(target.tgid)?.threads ?? [])];
		switch (signal) {
			case 'SIGSTOP': {
				for (const task of threads) {
					this.signalStop(task);
				}

				break;
			}

			case 'SIGCONT': {
				for (const task of threads) {
					task.stopPending = false;
					if (task.state === 'T') {
						if (task.site) {
							this.enter(task, task.site);
						} else {
							this.run(task);
						}
					}
				}

				break;
			}

			case 'SIGKILL':
			case 'SIGTERM': {
				if (target.tgid === 1) {
					return;
				}

				for (const task of threads) {
					this.signalFatal(task);
				}

				break;
			}
		}
	}

	private signalStop(task: Task): void {
		if (task.state === 'T' || task.state === 'Z') {
			return;
		}

		if (task.state === 'S' && task.site) {
			this.wake(task, 'signal');
			task.stopPending = true;
			return;
		}

		if (task.state === 'R' && task.onCpu) {
			this.updatePatchState(task);
			this.stop(task, task.site);
			return;
		}

		// D (killable or not), I: the stop waits until the task would return to user space.
		task.stopPending = true;
	}

	private signalFatal(task: Task): void {
		task.fatal = true;
		if (task.state === 'Z') {
			return;
		}

		const wakeable =
			task.state === 'S' || task.state === 'T' || (task.state === 'D' && task.site?.mode === 'killable');
		if (wakeable && task.site && task.state !== 'T') {
			this.wake(task, 'signal');
		} else if (wakeable || task.state === 'R') {
			const {generation} = task;
			this.clock.after(this.clock.rand(delays.exit), () => {
				if (task.generation === generation && !task.exited) {
					this.exitGroup(task.tgid);
				}
			});
		}

		// D (uninterruptible) and I: the fatal signal waits until the task wakes up.
	}

	/**
	The klp_sleeper module's control file: wake every task waiting on `voice`'s wait queues
	(`echo release > /proc/klp_sleeper_ctl`). Returns how many were woken.
	*/
	release(voice = 'klp_sleeper'): number {
		let woken = 0;
		for (const task of this.tasks.values()) {
			if (task.site?.voice === voice && (task.state === 'S' || task.state === 'D')) {
				this.wake(task, 'release');
				woken++;
			}
		}

		return woken;
	}

	/** Wake one sleeping task as its wait condition came true. */
	wakeUp(tid: number): void {
		const task = this.mustTask(tid);
		if (task.state === 'S' || task.state === 'D' || task.state === 'I') {
			this.wake(task, 'release');
		}
	}

	/** Make an existing task sleep in `site` (it enters through the ftrace handler now). */
	sleepIn(tid: number, site: Site, program?: Program): void {
		const task = this.mustTask(tid);
		if (program) {
			task.program = program;
		}

		task.stopPending = false;
		this.updatePatchState(task);
		this.enter(task, site);
	}

	/** Keep CPU `cpu`'s idle task deaf to wake_up_if_idle() kicks until `untilUs`. */
	holdIdle(cpu: number, untilUs: number): void {
		const entry = this.cpus[cpu];
		if (entry) {
			entry.kickIgnoredUntilUs = untilUs;
		}
	}

	// -------------------------------------------------------------------------------------------
	// Modules

	/** Load a plain (target) module. */
	loadModule(name: string, options: {outOfTree?: boolean; sizeBytes?: number} = {}): Module {
		if (this.modules.has(name)) {
			throw fsError('EEXIST', `module ${name} already loaded`);
		}

		if (options.outOfTree ?? true) {
			this.printk.taint(name, 'O', 4096, 'loading out-of-tree module taints kernel.');
			this.printk.taint(
				name,
				'E',
				8192,
				'module verification failed: signature and/or required key missing - tainting kernel',
			);
		}

		const module: Module = {
			name,
			refcnt: 0,
			livepatch: false,
			uses: [],
			sizeBytes: options.sizeBytes ?? 16_384,
		};
		this.modules.set(name, module);
		// klp_module_coming(): patches waiting for this object apply now.
		for (const patch of this.patches) {
			for (const object of patch.objects) {
				if (object.name === name && !object.patched) {
					this.printk.log(5, `livepatch: applying patch '${patch.name}' to loading module '${name}'`);
					this.ftrace.patchObject(object);
				}
			}
		}

		return module;
	}

	/** Users of a module (lsmod "Used by"). */
	holders(name: string): string[] {
		return [...this.modules.values()]
			.filter((module) => module.uses.includes(name))
			.map((module) => module.name);
	}

	/** delete_module(2) with O_NONBLOCK, as rmmod does. */
	rmmod(name: string): void {
		const module = this.modules.get(name);
		if (!module) {
			throw fsError('ENOENT', `rmmod ${name}: No such file or directory`);
		}

		if (this.holders(name).length > 0 || module.refcnt > 0 || this.inUse(name)) {
			throw fsError('EAGAIN', `can't unload module '${name}': Resource temporarily unavailable`);
		}

		if (module.livepatch) {
			// < 5.1: the module exit unregisters its (disabled) patch.
			const index = this.registered.findIndex((patch) => patch.module === name);
			if (index >= 0) {
				this.registered[index]!.freed = true;
				this.registered.splice(index, 1);
			}
		} else {
			// klp_module_going(): patches of this object are reverted.
			for (const patch of this.patches) {
				for (const object of patch.objects) {
					if (object.name === name && object.patched) {
						this.printk.log(5, `livepatch: reverting patch '${patch.name}' on unloading module '${name}'`);
						this.ftrace.unpatchObject(object);
					}
				}
			}
		}

		this.modules.delete(name);
	}

	/** A task runs or sleeps in the module's code (its proc files are open). */
	private inUse(name: string): boolean {
		for (const task of this.tasks.values()) {
			if (task.site && (task.site.object === name || task.site.voice === name)) {
				return true;
			}
		}

		return false;
	}

	// -------------------------------------------------------------------------------------------
	// Patches

	/** The patch with this name that still has a sysfs directory. */
	patch(name: string): KPatch | undefined {
		return (
			this.patches.find((patch) => patch.name === name) ??
			this.registered.find((patch) => patch.name === name)
		);
	}

	/** Patches with a sysfs directory, in `klp_patches` order. */
	visiblePatches(): KPatch[] {
		return [...this.patches, ...this.registered, ...this.freeing, ...this.refused];
	}

	stackOrder(patch: KPatch): number | null {
		const index = this.patches.indexOf(patch);
		return index >= 0 ? index + 1 : null;
	}

	/**
	insmod of a livepatch module: klp_enable_patch() from its init. Throws EEXIST, EINVAL or EBUSY
	(another transition runs: "Device or resource busy"); while a completion holds klp_mutex the
	load waits for it.
	*/
	insmod(
		spec: PatchSpec,
		options: {cpu?: number; onQueued?: (error: FsError | null) => void} = {},
	): 'done' | 'queued' {
		const name = spec.name.replaceAll('-', '_');
		if (this.modules.has(name)) {
			throw fsError('EEXIST', `insmod ${name}: File exists`);
		}

		if (spec.objects.length === 0 || spec.objects.some((object) => object.funcs.length === 0)) {
			throw fsError('EINVAL', `insmod ${name}: Invalid argument`);
		}

		if (spec.replace && !this.features.atomicReplace) {
			throw fsError('EINVAL', `insmod ${name}: atomic replace needs kernel >= 5.1`);
		}

		if (this.transitionPatch && !this.mutex.busy) {
			this.refuseLoad(name, spec);
		}

		return this.mutex.run(() => {
			if (this.transitionPatch) {
				this.refuseLoad(name, spec);
			}

			const module: Module = {
				name,
				refcnt: 0,
				livepatch: true,
				uses: spec.uses ?? [],
				sizeBytes: 16_384,
			};
			this.modules.set(name, module);
			this.printk.taint(name, 'O', 4096, 'loading out-of-tree module taints kernel.');
			this.printk.taint(
				name,
				'E',
				8192,
				'module verification failed: signature and/or required key missing - tainting kernel',
			);
			this.printk.taint(name, 'K', 32_768, 'tainting kernel with TAINT_LIVEPATCH');
			const patch = this.newPatch(name, spec);
			this.patches.push(patch);
			this.enablePatch(patch, options.cpu ?? 1, this.clock.rand(this.insmodInitUs));
		}, options.onQueued);
	}

	/** klp_init_patch(): the patch, its objects and functions as the sysfs directory shows them. */
	private newPatch(name: string, spec: PatchSpec): KPatch {
		const patch: KPatch = {
			name,
			module: name,
			replace: Boolean(spec.replace),
			enabled: false,
			forced: false,
			objects: [],
			freed: false,
			holdsModule: false,
		};
		for (const objectSpec of spec.objects) {
			const object: KObject = {name: objectSpec.name, patched: false, funcs: [], dynamic: false};
			for (const funcSpec of objectSpec.funcs) {
				object.funcs.push(this.makeFunc(patch, object.name, funcSpec, false));
			}

			patch.objects.push(object);
		}

		return patch;
	}

	private makeFunc(patch: KPatch, object: string, spec: FuncSpec, nop: boolean): KFunc {
		const module = object === 'vmlinux' ? null : object;
		return {
			oldName: spec.old,
			newName: nop ? spec.old : spec.new,
			object,
			sympos: spec.sympos ?? 0,
			nop,
			output: spec.output,
			transition: false,
			patch,
			newSym: nop ? {name: spec.old, module} : {name: spec.new, module: patch.module},
			oldSym: {name: spec.old, module},
		};
	}

	/**
	klp_enable_patch() refused with EBUSY: klp_init_patch() had created the sysfs directory (`enabled` 0,
	`transition` 0) before __klp_enable_patch() saw the running transition; it stays until the failed
	load has torn it down (observed ~0.8 s under TCG). The error is thrown at once; the directory lingers.
	*/
	private refuseLoad(name: string, spec: PatchSpec): never {
		const lingerUs = this.clock.rand(this.refusedLoadUs);
		if (lingerUs > 0 && !this.visiblePatches().some((patch) => patch.name === name)) {
			const patch = this.newPatch(name, spec);
			this.refused.push(patch);
			this.clock.after(lingerUs, () => {
				this.refused.splice(this.refused.indexOf(patch), 1);
				patch.freed = true;
			});
		}

		throw fsError('EBUSY', `insmod ${name}: Device or resource busy`);
	}

	/**
	__klp_enable_patch(). With an init window (`KernelOptions.insmodInitUs`) the load holds klp_mutex
	from klp_init_transition() (transition 1, every task 0, `enabled` still 0) until ftrace is registered
	(`patched` 1), the transition started and `enabled` set; then the first try runs.
	*/
	private enablePatch(patch: KPatch, cpu: number, windowUs: number): void {
		this.printk.lp(5, `enabling patch '${patch.name}'`);
		if (!patch.holdsModule) {
			patch.holdsModule = true;
			this.modules.get(patch.module)!.refcnt++;
		}

		if (patch.replace) {
			this.addNops(patch);
		}

		this.initTransition(patch, 1);
		const finish = () => {
			for (const object of patch.objects) {
				if (this.objectLoaded(object.name)) {
					this.ftrace.patchObject(object);
				}
			}

			this.startTransition();
			patch.enabled = true;
			this.tryComplete(cpu);
		};

		if (windowUs === 0) {
			this.clock.spend(this.clock.rand(delays.register));
			finish();
			return;
		}

		this.mutex.hold(this.clock.uptimeUs() + windowUs);
		this.clock.after(windowUs, () => {
			// The first try may complete the transition, whose completion takes klp_mutex again.
			this.mutex.drop();
			finish();
			if (!this.mutex.busy) {
				this.mutex.release();
			}
		});
	}

	/** klp_add_nops(): cover every function of older patches the replacing patch does not change. */
	private addNops(patch: KPatch): void {
		for (const older of this.patches) {
			if (older === patch) {
				continue;
			}

			for (const olderObject of older.objects) {
				let object = patch.objects.find((candidate) => candidate.name === olderObject.name);
				for (const olderFunc of olderObject.funcs) {
					if (
						object?.funcs.some(
							(func) => func.oldName === olderFunc.oldName && func.sympos === olderFunc.sympos,
						)
					) {
						continue;
					}

					if (!object) {
						object = {name: olderObject.name, patched: false, funcs: [], dynamic: true};
						patch.objects.push(object);
					}

					object.funcs.push(
						this.makeFunc(
							patch,
							object.name,
							{old: olderFunc.oldName, new: olderFunc.oldName, sympos: olderFunc.sympos},
							true,
						),
					);
				}
			}
		}
	}

	private objectLoaded(name: string): boolean {
		return name === 'vmlinux' || this.modules.has(name);
	}

	private direction(state: PatchState = this.target): string {
		return state === 1 ? 'patching' : 'unpatching';
	}

	/** klp_init_transition(): every task (idle ones too) starts from the opposite state. */
	private initTransition(patch: KPatch, state: 0 | 1): void {
		this.transitionPatch = patch;
		this.target = state;
		if (this.features.modernMessages) {
			this.printk.lp(7, `'${patch.name}': initializing ${this.direction(state)} transition`);
		}

		const initial: PatchState = state === 1 ? 0 : 1;
		for (const task of this.tasks.values()) {
			task.patchState = initial;
			this.touch(task);
		}

		for (const cpu of this.cpus) {
			cpu.idle.patchState = initial;
		}

		for (const object of patch.objects) {
			for (const func of object.funcs) {
				func.transition = true;
			}
		}

		this.ftrace.invalidate();
	}

	/** klp_start_transition(): mark the tasks that must move; reset the fake-signal counter. */
	private startTransition(): void {
		const patch = this.transitionPatch!;
		this.printk.lp(
			5,
			this.features.modernMessages
				? `'${patch.name}': starting ${this.direction()} transition`
				: `'${patch.name}': ${this.direction()}...`,
		);
		for (const task of this.tasks.values()) {
			if (task.patchState !== this.target) {
				task.pending = true;
				if (task.onCpu) {
					this.schedulePendingRunner(task);
				}
			}
		}

		for (const cpu of this.cpus) {
			if (cpu.idle.patchState !== this.target) {
				cpu.idle.pending = true;
			}
		}

		this.signalsCnt = 0;
	}

	/** Functions whose presence on a stack refuses the switch, with the name the log prints. */
	private checkedFunctions(): Map<string, string> {
		const checked = new Map<string, string>();
		const patch = this.transitionPatch;
		if (!patch) {
			return checked;
		}

		for (const object of patch.objects) {
			if (!object.patched) {
				continue;
			}

			for (const func of object.funcs) {
				let sym: Sym;
				if (this.target === 0) {
					sym = func.nop ? func.oldSym : func.newSym;
				} else {
					const previous = this.ftrace.below(func);
					sym = previous === undefined || previous.nop ? func.oldSym : previous.newSym;
				}

				checked.set(symKey(sym.name, sym.module), func.oldName);
			}
		}

		return checked;
	}

	/** klp_try_switch_task(). `callerCpu` is where the caller itself runs (its CPU's idle task is not running). */
	private trySwitch(task: Task, checked: Map<string, string>, callerCpu: number): boolean {
		if (task.patchState === this.target) {
			return true;
		}

		const running =
			task.idleOf === null
				? task.onCpu && task.cpu !== callerCpu
				: task.idleOf !== callerCpu && this.cpuIdle(task.idleOf);
		const who = `${task.comm}:${task.tid}`;
		if (running) {
			this.printk.lp(7, `klp_try_switch_task: ${who} is running`);
			return false;
		}

		const origin = this.features.switchTaskMessages ? 'klp_try_switch_task' : 'klp_check_stack';
		if (task.unreliableStack) {
			this.printk.lp(7, `${origin}: ${who} has an unreliable stack`);
			return false;
		}

		for (const frame of task.frames) {
			const oldName = checked.get(frame.key);
			if (oldName !== undefined) {
				this.printk.lp(7, `${origin}: ${who} is sleeping on function ${oldName}`);
				return false;
			}
		}

		task.patchState = this.target;
		task.pending = false;
		this.touch(task);
		return true;
	}

	/** A CPU runs its idle task when no task of ours is on it. */
	private cpuIdle(cpu: number): boolean {
		for (const task of this.tasks.values()) {
			if (task.onCpu && task.cpu === cpu && task.state === 'R') {
				return false;
			}
		}

		return true;
	}

	/** klp_try_complete_transition(). */
	private tryComplete(callerCpu: number): boolean {
		if (!this.transitionPatch) {
			return true;
		}

		let complete = true;
		const checked = this.checkedFunctions();
		for (const process of this.processes.values()) {
			for (const task of process.threads) {
				if (!this.trySwitch(task, checked, callerCpu)) {
					complete = false;
				}
			}
		}

		for (const cpu of this.cpus) {
			if (!this.trySwitch(cpu.idle, checked, callerCpu)) {
				complete = false;
				this.kickIdle(cpu);
			}
		}

		if (!complete) {
			if (this.features.fakeSignals && this.signalsCnt > 0 && this.signalsCnt % SIGNALS_TIMEOUT === 0) {
				this.sendSignals();
			}

			this.signalsCnt++;
			this.scheduleWork();
			return false;
		}

		this.completeTransition();
		return true;
	}

	/** The idle task leaves its idle state and passes klp_update_patch_state() in do_idle(). */
	private kickIdle(cpu: Cpu): void {
		const idle = cpu.idle;
		const delay = this.features.idleKick
			? this.clock.rand(delays.idleKick)
			: this.clock.rand(delays.idleWake);
		const at = Math.max(this.clock.uptimeUs() + delay, cpu.kickIgnoredUntilUs);
		if (cpu.kickIgnoredUntilUs > this.clock.uptimeUs() + delay) {
			// Deaf to kicks (a halted vCPU, a deep idle state): it stays on the old state for now.
			return;
		}

		this.clock.at(at, () => {
			if (idle.pending && this.transitionPatch) {
				idle.pending = false;
				idle.patchState = this.target;
			}
		});
	}

	private scheduleWork(): void {
		if (this.workPending) {
			return;
		}

		this.workPending = true;
		this.clock.at(this.clock.nextTickUs(), () => {
			this.workPending = false;
			if (this.transitionPatch && !this.mutex.busy) {
				this.tryComplete(0);
			}
		});
	}

	/** klp_send_signals(). */
	private sendSignals(): void {
		if (this.signalsCnt === SIGNALS_TIMEOUT) {
			this.printk.lp(5, 'signaling remaining tasks');
		}

		for (const process of this.processes.values()) {
			for (const task of [...process.threads]) {
				if (!task.pending) {
					continue;
				}

				if (task.kthread) {
					// wake_up_state(task, TASK_INTERRUPTIBLE): only interruptible sleeps.
					if (task.state === 'S' && task.site) {
						this.wakeLater(task);
					}
				} else if (task.state === 'S' && task.site) {
					// set_notify_signal(): an interruptible sleep returns -ERESTARTSYS.
					this.wakeLater(task);
				}
			}
		}
	}

	private wakeLater(task: Task): void {
		const {generation} = task;
		this.clock.after(this.clock.rand(delays.wake), () => {
			if (task.generation === generation && !task.exited && task.pending) {
				this.wake(task, 'signal');
			}
		});
	}

	/** klp_complete_transition(), first half: under klp_mutex until the synchronisation is done. */
	private completeTransition(): void {
		const patch = this.transitionPatch!;
		const target = this.target;
		if (this.features.modernMessages) {
			this.printk.lp(7, `'${patch.name}': completing ${this.direction()} transition`);
		}

		if (target === 0) {
			for (const object of patch.objects) {
				if (object.patched) {
					this.ftrace.unpatchObject(object);
				}
			}
		}

		const wait = this.clock.rand(target === 0 ? delays.unpatchComplete : delays.patchComplete);
		this.mutex.hold(this.clock.uptimeUs() + wait);
		this.clock.after(wait, () => {
			this.finishTransition(patch, target);
		});
	}

	private finishTransition(patch: KPatch, target: PatchState): void {
		const replaced: KPatch[] = [];
		if (patch.replace && target === 1) {
			// klp_unpatch_replaced_patches() + klp_discard_nops().
			for (const older of this.patches) {
				if (older === patch) {
					continue;
				}

				for (const object of older.objects) {
					if (object.patched) {
						this.ftrace.unpatchObject(object);
					}
				}

				older.enabled = false;
				replaced.push(older);
			}

			for (const object of patch.objects) {
				for (let index = object.funcs.length - 1; index >= 0; index--) {
					const func = object.funcs[index]!;
					if (func.nop) {
						this.ftrace.discardNop(func);
						object.funcs.splice(index, 1);
					}
				}
			}

			for (let index = patch.objects.length - 1; index >= 0; index--) {
				if (patch.objects[index]!.dynamic) {
					patch.objects.splice(index, 1);
				}
			}
		}

		for (const object of patch.objects) {
			for (const func of object.funcs) {
				func.transition = false;
			}
		}

		this.ftrace.invalidate();

		for (const task of this.tasks.values()) {
			task.patchState = -1;
			task.pending = false;
			this.touch(task);
		}

		for (const cpu of this.cpus) {
			cpu.idle.patchState = -1;
			cpu.idle.pending = false;
		}

		this.printk.lp(5, `'${patch.name}': ${this.direction(target)} complete`);
		this.transitionPatch = null;
		this.target = -1;
		this.workPending = false;
		if (!patch.enabled) {
			this.freePatchLater(patch);
		}

		for (const older of replaced) {
			this.freePatchLater(older);
		}

		this.mutex.release();
	}

	/** klp_free_patch_async(): the kobject goes (the sysfs directory disappears), then module_put unless forced. */
	private freePatchLater(patch: KPatch): void {
		const index = this.patches.indexOf(patch);
		if (index >= 0) {
			this.patches.splice(index, 1);
		}

		if (this.features.legacyRegistration) {
			// < 5.1: the patch stays registered (sysfs remains) until its module is removed.
			if (patch.holdsModule && !this.globalForced) {
				patch.holdsModule = false;
				this.modules.get(patch.module)!.refcnt--;
			}

			this.registered.push(patch);
			return;
		}

		this.freeing.push(patch);
		this.clock.after(this.clock.rand(delays.free), () => {
			this.freeing.splice(this.freeing.indexOf(patch), 1);
			patch.freed = true;
			if (patch.holdsModule && !patch.forced) {
				patch.holdsModule = false;
				const module = this.modules.get(patch.module);
				if (module) {
					module.refcnt--;
				}
			}
		});
	}

	/** klp_reverse_transition(). */
	private reverseTransition(): void {
		const patch = this.transitionPatch!;
		if (this.features.modernMessages) {
			this.printk.lp(
				7,
				`'${patch.name}': reversing transition from ${this.target === 1 ? 'patching to unpatching' : 'unpatching to patching'}`,
			);
		}

		for (const task of this.tasks.values()) {
			task.pending = false;
		}

		for (const cpu of this.cpus) {
			cpu.idle.pending = false;
		}

		patch.enabled = !patch.enabled;
		this.target = this.target === 1 ? 0 : 1;
		this.startTransition();
	}

	/** __klp_disable_patch(). */
	private disablePatch(patch: KPatch, cpu: number): void {
		if (this.transitionPatch) {
			throw fsError('EBUSY', 'Device or resource busy');
		}

		if (this.features.legacyRegistration) {
			// Stacking: only the last enabled patch may be disabled.
			const index = this.patches.indexOf(patch);
			if (this.patches.slice(index + 1).some((other) => other.enabled)) {
				throw fsError('EBUSY', 'Device or resource busy');
			}
		}

		this.initTransition(patch, 0);
		this.startTransition();
		patch.enabled = false;
		this.tryComplete(cpu);
	}

	/** klp_force_transition(). */
	private forceTransition(): void {
		const patch = this.transitionPatch!;
		this.printk.lp(4, 'forcing remaining tasks to the patched state');
		for (const process of this.processes.values()) {
			for (const task of process.threads) {
				this.updatePatchState(task);
			}
		}

		for (const cpu of this.cpus) {
			if (cpu.idle.pending) {
				cpu.idle.pending = false;
				cpu.idle.patchState = this.target;
			}
		}

		if (!this.features.forceMarksRemovedOnly) {
			for (const other of this.patches) {
				other.forced = true;
			}

			if (this.features.legacyRegistration) {
				this.globalForced = true;
			}
		} else if (this.target === 0) {
			patch.forced = true;
		} else if (patch.replace) {
			for (const other of this.patches) {
				if (other !== patch) {
					other.forced = true;
				}
			}
		}
	}

	// -------------------------------------------------------------------------------------------
	// Writes (sysfs attributes and control files)

	/** kstrtobool(). */
	private parseBool(value: string): boolean {
		const first = value[0];
		const second = value[1]?.toLowerCase();
		switch (first) {
			case '1':
			case 'y':
			case 'Y': {
				return true;
			}

			case '0':
			case 'n':
			case 'N': {
				return false;
			}

			case 'o':
			case 'O': {
				if (second === 'n') {
					return true;
				}

				if (second === 'f') {
					return false;
				}

				break;
			}

			case 't':
			case 'T': {
				if (this.features.boolTrueFalse) {
					return true;
				}

				break;
			}

			case 'f':
			case 'F': {
				if (this.features.boolTrueFalse) {
					return false;
				}

				break;
			}
		}

		throw fsError('EINVAL', 'Invalid argument');
	}

	/**
	A write(2) to a file of the emulated world by a process with `uid`. Sysfs attributes of
	livepatch and `/proc/klp_sleeper_ctl` are writable; errors are thrown as the kernel returns them.
	Returns 'queued' when the write waits for klp_mutex (a completion in progress); `onQueued` then
	learns the outcome.
	*/
	write(path: string, value: string, uid = 0, onQueued?: (error: FsError | null) => void): 'done' | 'queued' {
		if (path === '/proc/klp_sleeper_ctl') {
			if (!this.modules.has('klp_sleeper')) {
				throw fsError('ENOENT', `${path}: No such file or directory`);
			}

			if (uid !== 0) {
				throw fsError('EACCES', `${path}: Permission denied`);
			}

			if (value.trim() !== 'release') {
				throw fsError('EINVAL', `${path}: Invalid argument`);
			}

			this.release('klp_sleeper');
			return 'done';
		}

		const match = /^\/sys\/kernel\/livepatch\/([^/]+)\/([^/]+)$/.exec(path);
		const patch = match ? this.patch(match[1]!) : undefined;
		if (!match || !patch) {
			throw fsError('ENOENT', `${path}: No such file or directory`);
		}

		const attribute = match[2]!;
		const writable =
			attribute === 'enabled' ||
			(attribute === 'force' && this.features.forceFile) ||
			(attribute === 'signal' && this.features.signalFile);
		const exists =
			writable ||
			attribute === 'transition' ||
			(attribute === 'replace' && this.features.replaceAttr) ||
			(attribute === 'stack_order' && this.features.stackOrderAttr) ||
			patch.objects.some((object) => object.name === attribute);
		if (!exists) {
			throw fsError('ENOENT', `${path}: No such file or directory`);
		}

		if (!writable || uid !== 0) {
			throw fsError('EACCES', `${path}: Permission denied`);
		}

		const parsed = this.parseBool(value);
		if (attribute !== 'enabled' && !parsed) {
			return 'done';
		}

		const result = this.mutex.run(() => {
			if (patch.freed) {
				throw fsError('ENOENT', `${path}: No such file or directory`);
			}

			switch (attribute) {
				case 'enabled': {
					this.enabledStore(patch, parsed);
					break;
				}

				case 'force': {
					if (patch !== this.transitionPatch) {
						throw fsError('EINVAL', 'Invalid argument');
					}

					this.forceTransition();
					break;
				}

				default: {
					// signal (4.16-5.0): klp_send_signals() on demand.
					if (patch !== this.transitionPatch) {
						throw fsError('EINVAL', 'Invalid argument');
					}

					this.sendSignalsNow();
				}
			}
		}, onQueued);
		return result;
	}

	private sendSignalsNow(): void {
		const saved = this.signalsCnt;
		this.signalsCnt = SIGNALS_TIMEOUT;
		this.sendSignals();
		this.signalsCnt = saved;
	}

	/** enabled_store(). */
	private enabledStore(patch: KPatch, enabled: boolean): void {
		if (patch.enabled === enabled) {
			throw fsError('EINVAL', 'Invalid argument');
		}

		if (patch === this.transitionPatch) {
			this.reverseTransition();
		} else if (!enabled) {
			this.disablePatch(patch, 1);
		} else if (this.features.legacyRegistration) {
			this.reenablePatch(patch);
		} else {
			throw fsError('EINVAL', 'Invalid argument');
		}
	}

	/** < 5.1: a registered, disabled patch can be enabled again (stacking rules apply). */
	private reenablePatch(patch: KPatch): void {
		if (this.transitionPatch) {
			throw fsError('EBUSY', 'Device or resource busy');
		}

		const last = this.patches.at(-1);
		if (last && !last.enabled) {
			throw fsError('EBUSY', 'Device or resource busy');
		}

		this.registered.splice(this.registered.indexOf(patch), 1);
		this.patches.push(patch);
		// The writer of `enabled` (< 5.1) waits for __klp_enable_patch: no window seen from its side.
		this.enablePatch(patch, 1, 0);
	}
}
