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
import {EventQueue} from './events.js';
import {createPrng, type Prng} from './prng.js';
import {frameOf, symKey, type Frame, type Sym} from './symbols.js';

export type KernelGeneration = '4.12' | '4.16' | '5.1' | '6.1' | '6.11' | '6.14' | '6.16';

export const kernelGenerations: readonly KernelGeneration[] = [
	'4.12',
	'4.16',
	'5.1',
	'6.1',
	'6.11',
	'6.14',
	'6.16',
];

const releases: Record<KernelGeneration, string> = {
	'4.12': '4.12.14-klpemu',
	'4.16': '4.16.18-klpemu',
	'5.1': '5.1.21-klpemu',
	'6.1': '6.1.0-56-amd64',
	'6.11': '6.11.11-klpemu',
	'6.14': '6.14.11-klpemu',
	'6.16': '6.16.3-klpemu',
};

function versionOf(generation: KernelGeneration): number {
	const [major = '0', minor = '0'] = generation.split('.');
	return Number(major) * 1000 + Number(minor);
}

/** What a kernel generation does differently (kernel-livepatch.md §1). */
export type Features = {
	readonly release: string;
	/** `force` attribute (4.16+). */
	readonly forceFile: boolean;
	/** `signal` attribute (4.16-5.0). */
	readonly signalFile: boolean;
	/** Automatic fake signal every 15 failed attempts (5.1+). */
	readonly fakeSignals: boolean;
	/** A disabled patch stays registered and can be enabled again; stacking rules (< 5.1). */
	readonly legacyRegistration: boolean;
	/** `klp_patch.replace` (5.1+). */
	readonly atomicReplace: boolean;
	/** Per-object `patched` (6.1+). */
	readonly patchedAttr: boolean;
	/** `replace` attribute (6.11+). */
	readonly replaceAttr: boolean;
	/** `stack_order` attribute (6.14+). */
	readonly stackOrderAttr: boolean;
	/** "starting %s transition" and the pr_debug lines (4.15+); 4.12-4.14 printed `'%s': %s...`. */
	readonly modernMessages: boolean;
	/** Per-task messages all come from klp_try_switch_task (5.16+); before, stack ones from klp_check_stack. */
	readonly switchTaskMessages: boolean;
	/** Idle CPUs kicked with wake_up_if_idle() after a failed try (5.16+). */
	readonly idleKick: boolean;
	/** Force marks only the patches being removed (5.18+); before, every patch on the list. */
	readonly forceMarksRemovedOnly: boolean;
	/** Running kthreads switch in cond_resched() (6.4-6.15). */
	readonly kthreadCondResched: boolean;
	/** `kstrtobool` also takes t/T/f/F. */
	readonly boolTrueFalse: boolean;
	/** `/proc/<pid>/stack` prints `[<0>]` instead of addresses (4.19+). */
	readonly hiddenStackAddresses: boolean;
};

export function featuresOf(generation: KernelGeneration): Features {
	const v = versionOf(generation);
	return {
		release: releases[generation],
		forceFile: v >= 4016,
		signalFile: v >= 4016 && v < 5001,
		fakeSignals: v >= 5001,
		legacyRegistration: v < 5001,
		atomicReplace: v >= 5001,
		patchedAttr: v >= 6001,
		replaceAttr: v >= 6011,
		stackOrderAttr: v >= 6014,
		modernMessages: v >= 4015,
		switchTaskMessages: v >= 5016,
		idleKick: v >= 5016,
		forceMarksRemovedOnly: v >= 5018,
		kthreadCondResched: v >= 6004 && v < 6016,
		boolTrueFalse: v >= 6011,
		hiddenStackAddresses: v >= 4019,
	};
}

// ---------------------------------------------------------------------------------------------
// Tasks

export type SleepMode = 'interruptible' | 'killable' | 'uninterruptible' | 'idle';

export type SiteFrame = {readonly fn: string; readonly object: string};

/**
Where a task sleeps: the function it entered (by its *original* name, as callers call it; a
livepatch redirects the call at entry) and the frames below it. Every frame is resolved through the
livepatch ftrace handler when the task enters, with the task's own patch_state, so a task keeps
sleeping in the code it entered even after the patch state changes.
*/
export type Site = {
	readonly fn: string;
	readonly object: string;
	readonly mode: SleepMode;
	readonly callers: readonly SiteFrame[];
	/** Shown in `wchan` instead of the resolved top frame (e.g. scheduler helpers). */
	readonly wchan?: string;
	/** Module whose wait queue this is: `release` wakes it and it logs sleeps and wakes. */
	readonly voice?: string;
};

/** What a task does when something happens to it. */
export type Program =
	/** Sleeps in its site; after an interrupting signal the syscall restarts in the same site. */
	| {readonly kind: 'static'}
	/** A reader of a klp_sleeper file: a release returns data and the process exits. */
	| {readonly kind: 'reader'}
	/** A kthread that waits in its site, and after each wakeup naps outside it, then waits again. */
	| {readonly kind: 'kloop'; readonly napMs: number; readonly napSite: Site}
	/** Sleeps until a deadline, then exits (short-lived processes). */
	| {readonly kind: 'timed'; readonly exitAtUs: number}
	/** Runs on a CPU in user space (or in the kernel, for kthreads). */
	| {readonly kind: 'spin'};

export type TaskStateLetter = 'R' | 'S' | 'D' | 'T' | 'Z' | 'I';

export type Task = {
	readonly tid: number;
	readonly tgid: number;
	comm: string;
	ppid: number;
	readonly uid: number;
	readonly kthread: boolean;
	readonly flags: number;
	/** Clock ticks (USER_HZ=100) since boot. */
	readonly starttime: number;
	readonly cmdline: readonly string[];
	readonly nice: number;
	state: TaskStateLetter;
	patchState: PatchState;
	/** TIF_PATCH_PENDING. */
	pending: boolean;
	/** Currently on a CPU (a stack check of it fails with "is running"). */
	onCpu: boolean;
	cpu: number;
	/** Kernel stack, top first; empty while running in user space. */
	frames: readonly Frame[];
	wchan: string;
	/** The site it sleeps in, or (stopped / waking) the site its syscall restarts in. */
	site: Site | null;
	/** The implementation of `site.fn` it entered and the patch module that provided it (null: original). */
	implPatch: string | null;
	program: Program;
	/** Group stop requested while the task could not act on it (D sleep). */
	stopPending: boolean;
	/** A fatal signal is pending. */
	fatal: boolean;
	/** The unwinder refuses this task's stack. */
	unreliableStack: boolean;
	exited: boolean;
	/** Bumped on every visible change (the disk mirror rewrites only changed tasks). */
	version: number;
	/** Bumped on every state change: pending timers of an older generation are ignored. */
	generation: number;
	/** The per-CPU idle task (`swapper/N`, pid 0) of this CPU, if it is one. */
	readonly idleOf: number | null;
};

export type Process = {
	readonly tgid: number;
	readonly threads: Task[];
};

/** What the kernel needs to create a task. */
export type SpawnOptions = {
	readonly comm: string;
	readonly pid?: number;
	readonly ppid?: number;
	readonly uid?: number;
	readonly kthread?: boolean;
	readonly flags?: number;
	readonly cmdline?: readonly string[];
	readonly nice?: number;
	/** Uptime (µs) the task started at; default now. */
	readonly startedUs?: number;
	/** Where it sleeps; null runs it (`spin`). */
	readonly site?: Site | null;
	readonly program?: Program;
	readonly state?: TaskStateLetter;
	readonly cpu?: number;
	readonly unreliableStack?: boolean;
	/** Don't log the module's "going to sleep" line. */
	readonly quiet?: boolean;
};

export const PF_KTHREAD = 0x00200000;
const userFlags = 0x00400100;
const kthreadFlags = 0x00208040;

// ---------------------------------------------------------------------------------------------
// Patches and modules

export type FuncSpec = {
	readonly old: string;
	readonly new: string;
	readonly sympos?: number;
	/** What the new function prints, for functions whose output the emulator shows (/proc/cmdline). */
	readonly output?: string;
};
export type ObjectSpec = {readonly name: string; readonly funcs: readonly FuncSpec[]};
export type PatchSpec = {
	/** Module name (`-` becomes `_` in sysfs). */
	readonly name: string;
	readonly replace?: boolean;
	readonly objects: readonly ObjectSpec[];
	/** Modules it depends on (lsmod "Used by"). */
	readonly uses?: readonly string[];
};

export type KFunc = {
	readonly oldName: string;
	readonly newName: string;
	readonly object: string;
	readonly sympos: number;
	readonly nop: boolean;
	readonly output: string | undefined;
	transition: boolean;
	readonly patch: KPatch;
	readonly newSym: Sym;
	readonly oldSym: Sym;
};

export type KObject = {
	readonly name: string;
	patched: boolean;
	readonly funcs: KFunc[];
	/** Created by atomic replace for what older patches touched (exists only during the transition). */
	readonly dynamic: boolean;
};

export type KPatch = {
	readonly name: string;
	readonly module: string;
	readonly replace: boolean;
	enabled: boolean;
	forced: boolean;
	readonly objects: KObject[];
	/** Kobject and sysfs directory gone. */
	freed: boolean;
	/** Holds a reference on its own module (enabled or in transition). */
	holdsModule: boolean;
};

export type Module = {
	readonly name: string;
	refcnt: number;
	readonly livepatch: boolean;
	readonly uses: readonly string[];
	readonly sizeBytes: number;
};

export type LogRecord = {
	readonly seq: number;
	readonly us: number;
	readonly level: number;
	readonly text: string;
};

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
const HZ_US = 1_000_000;

type Cpu = {readonly index: number; readonly idle: Task; kickIgnoredUntilUs: number};

/** Delays the kernel takes for things the model does not compute (observed ranges, µs). */
const delays = {
	/** Unpatching: completing -> complete (klp_synchronize_transition, ftrace shutdown). */
	unpatchComplete: [350_000, 460_000],
	/** Patching: completing -> complete. */
	patchComplete: [600, 4_000],
	/** Freeing a patch after completion (kobject release in a workqueue). */
	free: [200, 2_000],
	/** A woken task runs and leaves the function. */
	wake: [300, 500],
	/** From leaving the function to re-entering it after a restarted syscall. */
	restart: [400, 600],
	/** A running user task reaches its next kernel exit. */
	userExit: [200, 4_000],
	/** An idle task kicked by wake_up_if_idle() goes through its main loop. */
	idleKick: [50, 2_000],
	/** Before 5.16 an idle CPU passes the idle loop at its next natural wakeup. */
	idleWake: [20_000, 700_000],
	/** A released or killed process exits after printing. */
	exit: [500, 3_000],
	/** ftrace registration inside insmod (stamps only when there is no init window). */
	register: [5_000, 16_000],
	/** insmod: klp_init_transition to `enabled` = 1 (the default of `KernelOptions.insmodInitUs`). */
	insmodInit: [5_000, 30_000],
	/** A refused insmod's directory (the default of `KernelOptions.refusedLoadUs`). */
	refusedLoad: [5_000, 30_000],
} as const;

function checkedRange(range: readonly [number, number], what: string): readonly [number, number] {
	const [lo, hi] = range;
	if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi >= lo)) {
		throw new RangeError(`${what}: expected [lo, hi] with 0 <= lo <= hi (got [${lo}, ${hi}])`);
	}

	return range;
}

// ---------------------------------------------------------------------------------------------

export class EmulatedKernel {
	readonly generation: KernelGeneration;
	readonly features: Features;
	readonly prng: Prng;
	readonly bootEpochMs: number;
	dynamicDebug: boolean;

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
	private nowUs: number;
	/** Log stamps never go backwards and include CPU time spent inside an operation. */
	private stampUs = 0;
	private readonly queue = new EventQueue();
	private readonly ops = new Map<string, KFunc[]>();
	/** Bumped whenever what the ftrace handler resolves to may change. */
	private opsVersion = 0;
	private readonly siteCache = new WeakMap<
		Site,
		{
			version: number;
			byState: Map<PatchState, {top: {sym: Sym; func: KFunc | null}; frames: readonly Frame[]}>;
		}
	>();
	private signalsCnt = 0;
	private workPending = false;
	/** klp_mutex held by a completion in progress until this time; operations queue behind it. */
	private mutexUntilUs: number | null = null;
	private readonly mutexWaiters: Array<() => void> = [];
	/** Offset of the jiffies' whole seconds from the uptime's (timer ticks land at N s + phase). */
	readonly jiffyPhaseUs: number;
	private readonly logs: LogRecord[] = [];
	private logStart = 0;
	private nextSeq = 0;
	private readonly logCapacity: number;
	private readonly tainted = new Set<string>();
	private taintValue = 0;
	/** Global "forced" of 4.16-5.0 (klp_forced): no patch module is ever put again. */
	private globalForced = false;
	/** Transition history for tests and tools: [uptimeUs, text]. */
	readonly listeners = new Set<() => void>();

	constructor(options: KernelOptions = {}) {
		this.generation = options.generation ?? '6.1';
		this.features = featuresOf(this.generation);
		this.prng = createPrng(options.seed ?? 1);
		this.nowUs = Math.round(options.uptimeUs ?? 20 * HZ_US);
		this.stampUs = this.nowUs;
		this.bootEpochMs = options.bootEpochMs ?? Date.UTC(2026, 0, 1) - this.nowUs / 1000;
		this.dynamicDebug = options.dynamicDebug ?? true;
		this.logCapacity = options.logCapacity ?? 50_000;
		this.insmodInitUs = checkedRange(options.insmodInitUs ?? delays.insmodInit, 'insmodInitUs');
		this.refusedLoadUs = checkedRange(options.refusedLoadUs ?? delays.refusedLoad, 'refusedLoadUs');
		this.jiffyPhaseUs = this.prng.int(28_000, 34_000);
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
	// Clock

	uptimeUs(): number {
		return this.nowUs;
	}

	epochMs(): number {
		return this.bootEpochMs + this.nowUs / 1000;
	}

	/** Run `fn` at uptime `atUs` (never in the past). */
	at(atUs: number, fn: () => void): void {
		this.queue.push(Math.max(Math.round(atUs), this.nowUs), fn);
	}

	after(delayUs: number, fn: () => void): void {
		this.at(this.nowUs + delayUs, fn);
	}

	/** Run the clock to `targetUs`, firing every event on the way in order. */
	runUntil(targetUs: number): void {
		const target = Math.round(targetUs);
		while (this.queue.peekTime() <= target) {
			const event = this.queue.pop()!;
			this.nowUs = Math.max(this.nowUs, event.at);
			event.run();
		}

		this.nowUs = Math.max(this.nowUs, target);
		for (const listener of this.listeners) {
			listener();
		}
	}

	advance(ms: number): void {
		if (!(ms >= 0)) {
			throw new RangeError(`advance(${ms}): expected a non-negative number of ms`);
		}

		this.runUntil(this.nowUs + ms * 1000);
	}

	private rand(range: readonly [number, number]): number {
		return Math.round(this.prng.range(range[0], range[1]));
	}

	/** round_jiffies_relative(HZ) from now: ~1 s, aligned to a whole second of jiffies. */
	private nextTickUs(): number {
		const from = Math.max(this.nowUs, this.stampUs);
		const jiffySeconds = (from - this.jiffyPhaseUs) / HZ_US + 1;
		const whole = Math.floor(jiffySeconds);
		const rounded = jiffySeconds - whole < 0.25 ? whole : whole + 1;
		return rounded * HZ_US + this.jiffyPhaseUs + this.prng.int(0, 20_000);
	}

	// -------------------------------------------------------------------------------------------
	// Kernel log

	/** Append a record; level 7 (pr_debug) only with dynamic debug. */
	log(level: number, text: string, spendUs = 0): void {
		if (level === 7 && !this.dynamicDebug) {
			return;
		}

		this.stampUs = Math.max(this.nowUs, this.stampUs + 1) + spendUs;
		this.logs.push({seq: this.nextSeq++, us: this.stampUs, level, text});
		if (this.logs.length > this.logCapacity * 1.25) {
			const drop = this.logs.length - this.logCapacity;
			this.logs.splice(0, drop);
			this.logStart += drop;
		}
	}

	/** Records with seq >= `fromSeq` still in the ring. */
	logSince(fromSeq: number): readonly LogRecord[] {
		const offset = Math.max(0, fromSeq - this.logStart);
		return offset === 0 ? this.logs : this.logs.slice(offset);
	}

	get logEndSeq(): number {
		return this.nextSeq;
	}

	/** CPU time spent inside the current operation (moves later log stamps, not the clock). */
	private spend(us: number): void {
		this.stampUs = Math.max(this.nowUs, this.stampUs) + us;
	}

	private lp(level: number, text: string): void {
		this.log(level, `livepatch: ${text}`);
	}

	private taint(module: string, flag: string, bit: number, text: string): void {
		if (!this.tainted.has(flag)) {
			this.tainted.add(flag);
			this.log(flag === 'O' ? 4 : 5, `${module}: ${text}`);
		}

		this.taintValue |= bit;
	}

	get taintedMask(): number {
		return this.taintValue;
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
		const startedUs = options.startedUs ?? this.nowUs;
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

	/** klp_ftrace_handler(): which implementation of `fn` a task with `patchState` runs. */
	resolve(fn: string, object: string, patchState: PatchState): {sym: Sym; func: KFunc | null} {
		const stack = this.ops.get(symKey(fn, object === 'vmlinux' ? null : object));
		let func = stack?.[0];
		if (func?.transition && patchState === 0) {
			func = stack?.[1];
		}

		if (!func || func.nop) {
			return {sym: {name: fn, module: object === 'vmlinux' ? null : object}, func: null};
		}

		return {sym: func.newSym, func};
	}

	/**
	Resolved frames of a site for a patch state, shared by every task that enters it until the
	ftrace handler's view changes (`opsVersion`): 100,000 sleepers share a few dozen arrays.
	*/
	private siteEntry(
		site: Site,
		patchState: PatchState,
	): {top: {sym: Sym; func: KFunc | null}; frames: readonly Frame[]} {
		let cached = this.siteCache.get(site);
		if (!cached || cached.version !== this.opsVersion) {
			cached = {version: this.opsVersion, byState: new Map()};
			this.siteCache.set(site, cached);
		}

		let entry = cached.byState.get(patchState);
		if (!entry) {
			const top = this.resolve(site.fn, site.object, patchState);
			const frames: Frame[] = [frameOf(top.sym.name, top.sym.module)];
			for (const caller of site.callers) {
				const resolved = this.resolve(caller.fn, caller.object, patchState);
				frames.push(frameOf(resolved.sym.name, resolved.sym.module));
			}

			entry = {top, frames};
			cached.byState.set(patchState, entry);
		}

		return entry;
	}

	/** The task calls into `site` and sleeps there (or, for `spin`, runs). */
	enter(task: Task, site: Site, options: {quiet?: boolean; state?: TaskStateLetter} = {}): void {
		const entry = this.siteEntry(site, task.patchState);
		const {top, frames} = entry;
		task.implPatch = top.func?.patch.module ?? null;
		task.onCpu = false;
		const state = options.state ?? (site.mode === 'interruptible' ? 'S' : site.mode === 'idle' ? 'I' : 'D');
		this.setSleep(task, site, state, frames, site.wchan ?? top.sym.name);
		if (site.voice && !options.quiet) {
			const who = task.kthread ? 'kthread' : `pid ${task.tid} (${task.comm})`;
			this.log(6, `${this.voice(task, site)} ${site.fn}: ${who} going to sleep (${site.mode})`);
		}

		if (task.program.kind === 'timed') {
			const {generation} = task;
			this.at(task.program.exitAtUs, () => {
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
		this.after(this.rand(delays.userExit), () => {
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
				this.log(6, `${this.voice(task, site)} ${site.fn}: kthread woke up`);
			} else if (reason === 'signal') {
				const extra = task.implPatch === null ? ' sigpending=1' : '';
				this.log(6, `${this.voice(task, site)} ${site.fn}: pid ${task.tid} woke, ret=-512${extra}`);
			} else {
				this.log(6, `${this.voice(task, site)} ${site.fn}: pid ${task.tid} released`);
			}
		}

		// Running again, on the way out of the function.
		task.onCpu = true;
		task.implPatch = null;
		this.setSleep(task, site, 'R', [], '0');
		const {generation} = task;
		this.after(this.rand(delays.restart), () => {
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
				this.after(program.napMs * 1000, () => {
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
				this.after(this.rand(delays.exit), () => {
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
			this.after(this.rand(delays.exit), () => {
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
			this.taint(name, 'O', 4096, 'loading out-of-tree module taints kernel.');
			this.taint(
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
					this.log(5, `livepatch: applying patch '${patch.name}' to loading module '${name}'`);
					this.patchObject(object);
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
						this.log(5, `livepatch: reverting patch '${patch.name}' on unloading module '${name}'`);
						this.unpatchObject(object);
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

	/** Whether klp_mutex is held by a completion in progress. */
	get mutexBusy(): boolean {
		return this.mutexUntilUs !== null;
	}

	/**
	Run `operation` under klp_mutex: now, or when the completion in progress releases it (then
	`onQueued` learns how it went).
	*/
	private withMutex(operation: () => void, onQueued?: (error: FsError | null) => void): 'done' | 'queued' {
		if (this.mutexUntilUs === null) {
			operation();
			return 'done';
		}

		this.mutexWaiters.push(() => {
			try {
				operation();
				onQueued?.(null);
			} catch (error) {
				onQueued?.(error as FsError);
			}
		});
		return 'queued';
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

		if (this.transitionPatch && this.mutexUntilUs === null) {
			this.refuseLoad(name, spec);
		}

		return this.withMutex(() => {
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
			this.taint(name, 'O', 4096, 'loading out-of-tree module taints kernel.');
			this.taint(
				name,
				'E',
				8192,
				'module verification failed: signature and/or required key missing - tainting kernel',
			);
			this.taint(name, 'K', 32_768, 'tainting kernel with TAINT_LIVEPATCH');
			const patch = this.newPatch(name, spec);
			this.patches.push(patch);
			this.enablePatch(patch, options.cpu ?? 1, this.rand(this.insmodInitUs));
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
		const lingerUs = this.rand(this.refusedLoadUs);
		if (lingerUs > 0 && !this.visiblePatches().some((patch) => patch.name === name)) {
			const patch = this.newPatch(name, spec);
			this.refused.push(patch);
			this.after(lingerUs, () => {
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
		this.lp(5, `enabling patch '${patch.name}'`);
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
					this.patchObject(object);
				}
			}

			this.startTransition();
			patch.enabled = true;
			this.tryComplete(cpu);
		};

		if (windowUs === 0) {
			this.spend(this.rand(delays.register));
			finish();
			return;
		}

		this.mutexUntilUs = this.nowUs + windowUs;
		this.after(windowUs, () => {
			// The first try may complete the transition, whose completion takes klp_mutex again.
			this.mutexUntilUs = null;
			finish();
			if (this.mutexUntilUs === null) {
				this.releaseMutex();
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

	private patchObject(object: KObject): void {
		for (const func of object.funcs) {
			const key = symKey(func.oldName, func.object === 'vmlinux' ? null : func.object);
			const stack = this.ops.get(key) ?? [];
			stack.unshift(func);
			this.ops.set(key, stack);
		}

		object.patched = true;
		this.opsVersion++;
	}

	private unpatchObject(object: KObject): void {
		for (const func of object.funcs) {
			const key = symKey(func.oldName, func.object === 'vmlinux' ? null : func.object);
			const stack = this.ops.get(key);
			if (stack) {
				const index = stack.indexOf(func);
				if (index >= 0) {
					stack.splice(index, 1);
				}

				if (stack.length === 0) {
					this.ops.delete(key);
				}
			}
		}

		object.patched = false;
		this.opsVersion++;
	}

	private direction(state: PatchState = this.target): string {
		return state === 1 ? 'patching' : 'unpatching';
	}

	/** klp_init_transition(): every task (idle ones too) starts from the opposite state. */
	private initTransition(patch: KPatch, state: 0 | 1): void {
		this.transitionPatch = patch;
		this.target = state;
		if (this.features.modernMessages) {
			this.lp(7, `'${patch.name}': initializing ${this.direction(state)} transition`);
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

		this.opsVersion++;
	}

	/** klp_start_transition(): mark the tasks that must move; reset the fake-signal counter. */
	private startTransition(): void {
		const patch = this.transitionPatch!;
		this.lp(
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
					const stack = this.ops.get(symKey(func.oldName, func.oldSym.module)) ?? [];
					const previous = stack[stack.indexOf(func) + 1];
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
			this.lp(7, `klp_try_switch_task: ${who} is running`);
			return false;
		}

		const origin = this.features.switchTaskMessages ? 'klp_try_switch_task' : 'klp_check_stack';
		if (task.unreliableStack) {
			this.lp(7, `${origin}: ${who} has an unreliable stack`);
			return false;
		}

		for (const frame of task.frames) {
			const oldName = checked.get(frame.key);
			if (oldName !== undefined) {
				this.lp(7, `${origin}: ${who} is sleeping on function ${oldName}`);
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
		const delay = this.features.idleKick ? this.rand(delays.idleKick) : this.rand(delays.idleWake);
		const at = Math.max(this.nowUs + delay, cpu.kickIgnoredUntilUs);
		if (cpu.kickIgnoredUntilUs > this.nowUs + delay) {
			// Deaf to kicks (a halted vCPU, a deep idle state): it stays on the old state for now.
			return;
		}

		this.at(at, () => {
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
		this.at(this.nextTickUs(), () => {
			this.workPending = false;
			if (this.transitionPatch && this.mutexUntilUs === null) {
				this.tryComplete(0);
			}
		});
	}

	/** klp_send_signals(). */
	private sendSignals(): void {
		if (this.signalsCnt === SIGNALS_TIMEOUT) {
			this.lp(5, 'signaling remaining tasks');
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
		this.after(this.rand(delays.wake), () => {
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
			this.lp(7, `'${patch.name}': completing ${this.direction()} transition`);
		}

		if (target === 0) {
			for (const object of patch.objects) {
				if (object.patched) {
					this.unpatchObject(object);
				}
			}
		}

		const wait = this.rand(target === 0 ? delays.unpatchComplete : delays.patchComplete);
		this.mutexUntilUs = this.nowUs + wait;
		this.after(wait, () => {
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
						this.unpatchObject(object);
					}
				}

				older.enabled = false;
				replaced.push(older);
			}

			for (const object of patch.objects) {
				for (let index = object.funcs.length - 1; index >= 0; index--) {
					const func = object.funcs[index]!;
					if (func.nop) {
						const key = symKey(func.oldName, func.oldSym.module);
						const stack = this.ops.get(key);
						stack?.splice(stack.indexOf(func), 1);
						if (stack?.length === 0) {
							this.ops.delete(key);
						}

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

		this.opsVersion++;

		for (const task of this.tasks.values()) {
			task.patchState = -1;
			task.pending = false;
			this.touch(task);
		}

		for (const cpu of this.cpus) {
			cpu.idle.patchState = -1;
			cpu.idle.pending = false;
		}

		this.lp(5, `'${patch.name}': ${this.direction(target)} complete`);
		this.transitionPatch = null;
		this.target = -1;
		this.workPending = false;
		if (!patch.enabled) {
			this.freePatchLater(patch);
		}

		for (const older of replaced) {
			this.freePatchLater(older);
		}

		this.releaseMutex();
	}

	/** klp_mutex released: the operations that queued behind it run, in order, until one takes it again. */
	private releaseMutex(): void {
		this.mutexUntilUs = null;
		while (this.mutexWaiters.length > 0 && this.mutexUntilUs === null) {
			this.mutexWaiters.shift()!();
		}
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
		this.after(this.rand(delays.free), () => {
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
			this.lp(
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
		this.lp(4, 'forcing remaining tasks to the patched state');
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

		const result = this.withMutex(() => {
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
