/**
The state the parts of the emulated kernel share, in one record the facade (kernel.ts) owns and
hands to every part's functions, the way the kernel's files share globals: the task list and the
CPUs, the modules, klp_patches and the transition, and the parts that keep their own state (clock,
log, ftrace stacks, klp_mutex). Parts change it only through their own functions.
*/
import type {PatchState} from '../../model/types.js';
import type {Clock} from './clock.js';
import type {Features} from './features.js';
import type {Ftrace} from './ftrace.js';
import type {KlpMutex} from './klp-mutex.js';
import type {KernelLog} from './printk.js';
import type {Cpu, KPatch, Module, Process, Task} from './types.js';

export type KernelState = {
	readonly features: Features;
	readonly clock: Clock;
	readonly printk: KernelLog;
	readonly ftrace: Ftrace;
	readonly mutex: KlpMutex;

	/** Processes in creation order (the kernel's task list order). */
	readonly processes: Map<number, Process>;
	readonly tasks: Map<number, Task>;
	/** Total tasks that ever existed + 1 (next pid). */
	nextPid: number;
	/** The last PID handed out (`ns_last_pid`; a PID asked for, as after a wrap, included). */
	lastPid: number;
	/** Tasks created since boot (`/proc/stat`'s `processes`: every fork and thread). */
	forks: number;
	readonly cpus: Cpu[];
	readonly modules: Map<string, Module>;

	/** `klp_patches`: enabled patches and the transition patch, in load order. */
	readonly patches: KPatch[];
	/** Registered but disabled patches (< 5.1 only; they keep their sysfs directory). */
	readonly registered: KPatch[];
	/** Off the list, kobject not yet released (klp_free_patch_async in flight). */
	readonly freeing: KPatch[];
	/** Directories of refused loads (EBUSY), visible until their insmod tears them down. */
	readonly refused: KPatch[];
	/** klp_transition_patch. */
	transitionPatch: KPatch | null;
	/** klp_target_state: -1 none, 0 unpatched, 1 patched. */
	target: PatchState;
	/** klp_signals_cnt: failed tries since the transition started or reversed. */
	signalsCnt: number;
	/** The retry work is queued. */
	workPending: boolean;
	/** Global "forced" of 4.16-5.0 (klp_forced): no patch module is ever put again. */
	globalForced: boolean;

	/** µs range of an insmod's init window (`KernelOptions.insmodInitUs`). */
	readonly insmodInitUs: readonly [number, number];
	/** µs range a refused load's directory stays (`KernelOptions.refusedLoadUs`). */
	readonly refusedLoadUs: readonly [number, number];
	/** µs range of the static-call rewrite at a transition's start on 6.4-6.15 (`KernelOptions.condReschedEnableUs`). */
	readonly condReschedEnableUs: readonly [number, number];
	/** µs range of the static-call rewrite at the end of a transition on 6.4-6.15 (`KernelOptions.condReschedDisableUs`). */
	readonly condReschedDisableUs: readonly [number, number];
	/** µs range of a patching transition's completion (`KernelOptions.patchCompleteUs`). */
	readonly patchCompleteUs: readonly [number, number];
	/** Per-transition rewrite times, taken in order by the transitions from `fromUs` on (`KernelOptions.eachTransition`). */
	readonly eachTransition: {
		readonly fromUs: number;
		readonly enableUs: Array<number | null>;
		readonly disableUs: Array<number | null>;
		/** The end's rewrite of the transition in progress, taken at its start (null: draw). */
		endUs: number | null;
	};
};
