/**
The emulated Linux livepatch kernel: the per-task consistency model of kernel/livepatch run on a
virtual clock, following `kernel-livepatch.md` §2-§8. Where the source and the observed Debian 6.1
guest disagree, the observation wins. Nothing is scripted by time: a transition completes only when
the kernel's rules let every task switch, and a sleeper stays where it is until a signal, a wakeup,
a reversal or force frees it.

This file is the facade: `EmulatedKernel` owns the shared state (kernel/state.ts), and its methods
are what worlds, scenarios, the ports (port.ts, procfs.ts) and the mirror call. Each hands over to
the part in kernel/ that models the kernel file it cites (fork.ts, sched.ts, signal.ts, module.ts,
core.ts, transition.ts, sysfs.ts, clock.ts, printk.ts). ARCHITECTURE.md has the map.
*/
import type {KillSignal, FsError} from '../sources/fs-port.js';
import type {PatchState} from '../model/types.js';
import {createPrng} from './prng.js';
import {Clock, HZ_US} from './kernel/clock.js';
import {checkedRange, delays} from './kernel/delays.js';
import {featuresOf, type Features, type KernelGeneration} from './kernel/features.js';
import * as fork from './kernel/fork.js';
import {Ftrace, type Resolved} from './kernel/ftrace.js';
import {KlpMutex} from './kernel/klp-mutex.js';
import * as modules from './kernel/module.js';
import * as patches from './kernel/patches.js';
import {KernelLog} from './kernel/printk.js';
import * as sched from './kernel/sched.js';
import * as signal from './kernel/signal.js';
import type {KernelState} from './kernel/state.js';
import * as sysfs from './kernel/sysfs.js';
import * as tasks from './kernel/tasks.js';
import type {
	Cpu,
	KPatch,
	LogRecord,
	Module,
	PatchSpec,
	Process,
	Program,
	Site,
	SpawnOptions,
	Task,
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
	/**
	µs the start of a new transition takes on 6.4-6.15 after `starting` (`sched_dynamic_klp_enable()`
	rewrites the `cond_resched()` static call under klp_mutex) before `enabled` changes and the first try,
	drawn from this range. @default [0, 0]; QEMU TCG on a busy host saw seconds
	*/
	readonly condReschedEnableUs?: readonly [number, number];
	/**
	µs the end of a transition takes on 6.4-6.15 once every task switched, before `completing`
	(`sched_dynamic_klp_disable()` rewrites the dynamic-preemption static calls under klp_mutex), drawn
	from this range. @default [0, 0] (a normal machine's few ms); QEMU TCG on a busy host saw seconds
	*/
	readonly condReschedDisableUs?: readonly [number, number];
	/**
	µs the completion of a patching transition synchronises for (`klp_synchronize_transition()`), after an
	atomic replace dropped the patches it replaced. @default [600, 4000]; QEMU TCG saw ~0.15 s
	*/
	readonly patchCompleteUs?: readonly [number, number];
	/**
	Per transition, in order, for the transitions that start from `fromUs` on (uptime): µs of the start's and
	of the end's static-call rewrite on 6.4-6.15, instead of a draw from the ranges above (null: draw). A
	calibration gives each transition of a recorded run the time it took there.
	*/
	readonly eachTransition?: {
		readonly fromUs: number;
		readonly enableUs: ReadonlyArray<number | null>;
		readonly disableUs: ReadonlyArray<number | null>;
	};
};

export class EmulatedKernel {
	readonly generation: KernelGeneration;
	readonly features: Features;
	/** What every part works on. */
	private readonly k: KernelState;

	constructor(options: KernelOptions = {}) {
		this.generation = options.generation ?? '6.1';
		this.features = featuresOf(this.generation);
		const uptimeUs = Math.round(options.uptimeUs ?? 20 * HZ_US);
		const bootEpochMs = options.bootEpochMs ?? Date.UTC(2026, 0, 1) - uptimeUs / 1000;
		const insmodInitUs = checkedRange(options.insmodInitUs ?? delays.insmodInit, 'insmodInitUs');
		const refusedLoadUs = checkedRange(options.refusedLoadUs ?? delays.refusedLoad, 'refusedLoadUs');
		const condReschedEnableUs = checkedRange(
			options.condReschedEnableUs ?? delays.condReschedEnable,
			'condReschedEnableUs',
		);
		const condReschedDisableUs = checkedRange(
			options.condReschedDisableUs ?? delays.condReschedDisable,
			'condReschedDisableUs',
		);
		const patchCompleteUs = checkedRange(options.patchCompleteUs ?? delays.patchComplete, 'patchCompleteUs');
		const clock = new Clock(createPrng(options.seed ?? 1), uptimeUs, bootEpochMs);
		this.k = {
			features: this.features,
			clock,
			printk: new KernelLog(clock, {
				dynamicDebug: options.dynamicDebug ?? true,
				capacity: options.logCapacity ?? 50_000,
			}),
			ftrace: new Ftrace(),
			mutex: new KlpMutex(),
			processes: new Map(),
			tasks: new Map(),
			nextPid: 1,
			lastPid: 0,
			forks: 0,
			cpus: [],
			modules: new Map(),
			patches: [],
			registered: [],
			freeing: [],
			refused: [],
			transitionPatch: null,
			target: -1,
			signalsCnt: 0,
			workPending: false,
			globalForced: false,
			insmodInitUs,
			refusedLoadUs,
			condReschedEnableUs,
			condReschedDisableUs,
			patchCompleteUs,
			eachTransition: {
				fromUs: options.eachTransition?.fromUs ?? Number.POSITIVE_INFINITY,
				enableUs: [...(options.eachTransition?.enableUs ?? [])],
				disableUs: [...(options.eachTransition?.disableUs ?? [])],
				endUs: null,
			},
		};
		for (let index = 0; index < (options.cpus ?? 2); index++) {
			this.k.cpus.push({index, idle: tasks.makeIdleTask(index), kickIgnoredUntilUs: 0});
		}
	}

	// -------------------------------------------------------------------------------------------
	// What the kernel holds (read by procfs, the mirror and tests)

	/** Processes in creation order (the kernel's task list order). */
	get processes(): ReadonlyMap<number, Process> {
		return this.k.processes;
	}

	get tasks(): ReadonlyMap<number, Task> {
		return this.k.tasks;
	}

	get cpus(): readonly Cpu[] {
		return this.k.cpus;
	}

	get modules(): ReadonlyMap<string, Module> {
		return this.k.modules;
	}

	/** klp_transition_patch. */
	get transitionPatch(): KPatch | null {
		return this.k.transitionPatch;
	}

	/** klp_target_state: -1 none, 0 unpatched, 1 patched. */
	/** `ns_last_pid`: the last PID handed out. */
	get lastPid(): number {
		return this.k.lastPid;
	}

	/** Tasks created since boot (`/proc/stat`'s `processes`). */
	get forks(): number {
		return this.k.forks;
	}

	get target(): PatchState {
		return this.k.target;
	}

	/** The patch with this name that still has a sysfs directory. */
	patch(name: string): KPatch | undefined {
		return patches.findPatch(this.k, name);
	}

	/** Patches with a sysfs directory, in `klp_patches` order. */
	visiblePatches(): KPatch[] {
		return patches.visiblePatches(this.k);
	}

	/** `stack_order`: 1-based position in `klp_patches`, null off the list. */
	stackOrder(patch: KPatch): number | null {
		return patches.stackOrder(this.k, patch);
	}

	/** Users of a module (lsmod "Used by"). */
	holders(name: string): string[] {
		return modules.holders(this.k, name);
	}

	/** klp_ftrace_handler(): which implementation of `fn` a task with `patchState` runs. */
	resolve(fn: string, object: string, patchState: PatchState): Resolved {
		return this.k.ftrace.resolve(fn, object, patchState);
	}

	// -------------------------------------------------------------------------------------------
	// Clock and log (kernel/clock.ts, kernel/printk.ts)

	get bootEpochMs(): number {
		return this.k.clock.bootEpochMs;
	}

	/** Offset of the jiffies' whole seconds from the uptime's (timer ticks land at N s + phase). */
	get jiffyPhaseUs(): number {
		return this.k.clock.jiffyPhaseUs;
	}

	uptimeUs(): number {
		return this.k.clock.uptimeUs();
	}

	epochMs(): number {
		return this.k.clock.epochMs();
	}

	/** Run `fn` at uptime `atUs` (never in the past). */
	at(atUs: number, fn: () => void): void {
		this.k.clock.at(atUs, fn);
	}

	after(delayUs: number, fn: () => void): void {
		this.k.clock.after(delayUs, fn);
	}

	/** Run the clock to `targetUs`, firing every event on the way in order. */
	runUntil(targetUs: number): void {
		this.k.clock.runUntil(targetUs);
	}

	advance(ms: number): void {
		this.k.clock.advance(ms);
	}

	/** Append a record; level 7 (pr_debug) only with dynamic debug. */
	log(level: number, text: string, spendUs?: number): void {
		this.k.printk.log(level, text, spendUs);
	}

	/** Records with seq >= `fromSeq` still in the ring. */
	logSince(fromSeq: number): readonly LogRecord[] {
		return this.k.printk.since(fromSeq);
	}

	get logEndSeq(): number {
		return this.k.printk.endSeq;
	}

	get taintedMask(): number {
		return this.k.printk.taintedMask;
	}

	// -------------------------------------------------------------------------------------------
	// Tasks (kernel/fork.ts, kernel/tasks.ts, kernel/sched.ts, kernel/signal.ts)

	/** Create a new process (one thread) and put it where `options.site` says. */
	spawn(options: SpawnOptions): Task {
		return fork.spawn(this.k, options);
	}

	/** Add a thread to an existing process. */
	spawnThread(tgid: number, options: SpawnOptions): Task {
		return fork.spawnThread(this.k, tgid, options);
	}

	/** fork() by thread `tid` (klp_copy_process: the child copies patch_state and TIF_PATCH_PENDING). */
	fork(tid: number, options?: Partial<SpawnOptions>): Task {
		return fork.fork(this.k, tid, options);
	}

	/** The thread exits (the whole process when it is the last). */
	exit(tid: number): void {
		tasks.exit(this.k, tid);
	}

	/** The task becomes a zombie: it stays in the task list (and /proc) until reaped. */
	zombie(tid: number): void {
		tasks.zombie(this.k, tid);
	}

	/** Deliver a signal to the thread group of `pid` (kill(2)). `uid` is the sender's. */
	kill(pid: number, sig: KillSignal, uid?: number): void {
		signal.kill(this.k, pid, sig, uid);
	}

	/** Wake every task waiting on `voice`'s wait queues (`echo release > /proc/klp_sleeper_ctl`). */
	release(voice?: string): number {
		return sched.release(this.k, voice);
	}

	/** Wake one sleeping task as its wait condition came true. */
	wakeUp(tid: number): void {
		sched.wakeUp(this.k, tid);
	}

	/** Make an existing task sleep in `site` (it enters through the ftrace handler now). */
	sleepIn(tid: number, site: Site, program?: Program): void {
		sched.sleepIn(this.k, tid, site, program);
	}

	/** Keep CPU `cpu`'s idle task deaf to wake_up_if_idle() kicks until `untilUs`. */
	holdIdle(cpu: number, untilUs: number): void {
		sched.holdIdle(this.k, cpu, untilUs);
	}

	// -------------------------------------------------------------------------------------------
	// Modules and writes (kernel/module.ts, kernel/sysfs.ts)

	/** Load a plain (target) module. */
	loadModule(name: string, options?: {outOfTree?: boolean; sizeBytes?: number}): Module {
		return modules.loadModule(this.k, name, options);
	}

	/** insmod of a livepatch module (klp_enable_patch from its init); EEXIST, EINVAL or EBUSY. */
	insmod(
		spec: PatchSpec,
		options?: {cpu?: number; onQueued?: (error: FsError | null) => void},
	): 'done' | 'queued' {
		return modules.insmod(this.k, spec, options);
	}

	/** delete_module(2) with O_NONBLOCK, as rmmod does. */
	rmmod(name: string): void {
		modules.rmmod(this.k, name);
	}

	/** write(2) by a process with `uid` to a sysfs attribute or `/proc/klp_sleeper_ctl`. */
	write(
		path: string,
		value: string,
		uid?: number,
		onQueued?: (error: FsError | null) => void,
	): 'done' | 'queued' {
		return sysfs.write(this.k, path, value, uid, onQueued);
	}
}
