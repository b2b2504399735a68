/**
The emulated kernel's data structures, as plain records: task_struct (`Task`), klp_patch, klp_object
and klp_func (`KPatch`, `KObject`, `KFunc`), struct module, a printk record and a CPU. Only the parts
in this folder change them; everyone else reads them through the kernel (kernel.ts).
*/
import type {PatchState} from '../../model/types.js';
import type {Frame, Sym} from '../symbols.js';

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

/** task_struct.flags: PF_KTHREAD, and the flags a user task and a kthread start with. */
export const PF_KTHREAD = 0x00200000;
export const userFlags = 0x00400100;
export const kthreadFlags = 0x00208040;

/** A CPU and its idle task (`swapper/N`, pid 0). */
export type Cpu = {readonly index: number; readonly idle: Task; kickIgnoredUntilUs: number};

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
