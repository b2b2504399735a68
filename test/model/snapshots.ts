/**
Hand-built snapshots for the history and output tests. Every value is spelled out by the test that
uses it; these helpers only fill in the fields a test does not care about.
*/
import type {
	Blocker,
	KernelLogLine,
	PatchInfo,
	Remedy,
	Snapshot,
	SourceInfo,
	TaskClass,
	ThreadInfo,
	TransitionInfo,
} from '../../source/model/types.js';

/** 2026-01-01T00:00:00Z: the wall-clock origin of every test sequence. */
export const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** Boot time used by the kernel-log tests: t0 - 100 s, so boot second 100.0 is t0. */
export const bootTime = t0 - 100_000;

export const emulatorSource: SourceInfo = {kind: 'emulator', root: null, scenario: 'stuck-interruptible'};

export function patch(name: string, fields: Partial<PatchInfo> = {}): PatchInfo {
	return {
		name,
		enabled: true,
		transition: false,
		replace: null,
		stackOrder: null,
		hasForce: true,
		hasSignal: false,
		objects: [{name: 'vmlinux', patched: true, functions: [{name: 'cmdline_proc_show', sympos: 1}]}],
		...fields,
	};
}

export function blocker(
	tid: number,
	fields: Partial<Blocker> & {starttime?: number; class?: TaskClass; remedies?: readonly Remedy[]} = {},
): Blocker {
	return {
		tid,
		tgid: tid,
		comm: 'cat',
		state: 'S',
		ppid: 1,
		flags: 0x400000,
		kthread: false,
		starttime: 5000,
		patchState: 0,
		uid: 0,
		class: 'interruptible',
		function: 'klp_sleeper_wait',
		object: 'klp_sleeper',
		wchan: 'klp_sleeper_wait',
		stack: null,
		matchedFrame: null,
		matchedBy: 'wchan',
		remedies: ['nudge', 'wait', 'reverse', 'force'],
		...fields,
	};
}

export function thread(tid: number, starttime: number, fields: Partial<ThreadInfo> = {}): ThreadInfo {
	return {
		tid,
		tgid: tid,
		comm: 'bash',
		state: 'S',
		ppid: 1,
		flags: 0x400000,
		kthread: false,
		starttime,
		patchState: 1,
		uid: 0,
		...fields,
	};
}

/** A `/dev/kmsg` record at `bootSeconds` with the `livepatch: ` prefix of `pr_fmt`. */
export function klog(bootSeconds: number, message: string): KernelLogLine {
	return {bootSeconds, text: `livepatch: ${message}`};
}

export type SnapOptions = {
	/** Seconds after t0. */
	at: number;
	patches?: readonly PatchInfo[];
	transition?: TransitionInfo | null;
	blockers?: readonly Blocker[];
	threads?: readonly ThreadInfo[] | null;
	/** patch_state histogram; defaults to 54 threads, all at -1 (no transition) or as given. */
	byPatchState?: {'-1': number; '0': number; '1': number};
	kernelLog?: readonly KernelLogLine[];
	release?: string | null;
	bootTime?: number | null;
	warnings?: readonly string[];
	source?: SourceInfo;
	livepatch?: boolean;
	root?: boolean;
};

export function snap(options: SnapOptions): Snapshot {
	const by = options.byPatchState ?? {'-1': 54, '0': 0, '1': 0};
	return {
		time: t0 + options.at * 1000,
		source: options.source ?? emulatorSource,
		kernel: {
			release: options.release === undefined ? '6.1.0-56-amd64' : options.release,
			livepatch: options.livepatch ?? true,
			bootTime: options.bootTime === undefined ? bootTime : options.bootTime,
		},
		privileges: {root: options.root ?? true, stacksReadable: options.root ?? true},
		patches: options.patches ?? [],
		transition: options.transition ?? null,
		tasks: {total: by['-1'] + by['0'] + by['1'], byPatchState: by},
		threads: options.threads ?? null,
		blockers: options.blockers ?? [],
		kernelLog: options.kernelLog ?? [],
		warnings: options.warnings ?? [],
	};
}

/** A patching transition of `name` with `pending` threads left of 54. */
export function patching(
	at: number,
	name: string,
	pending: number,
	extra: Partial<SnapOptions> = {},
): Snapshot {
	return snap({
		at,
		patches: [patch(name, {enabled: true, transition: true})],
		transition: {patch: name, direction: 'patching', target: 1},
		byPatchState: {'-1': 0, '0': pending, '1': 54 - pending},
		...extra,
	});
}

/** An unpatching transition of `name` with `pending` threads left of 54. */
export function unpatching(
	at: number,
	name: string,
	pending: number,
	extra: Partial<SnapOptions> = {},
): Snapshot {
	return snap({
		at,
		patches: [patch(name, {enabled: false, transition: true})],
		transition: {patch: name, direction: 'unpatching', target: 0},
		byPatchState: {'-1': 0, '0': 54 - pending, '1': pending},
		...extra,
	});
}

/** No transition; `patches` loaded (default none). */
export function idle(
	at: number,
	patches: readonly PatchInfo[] = [],
	extra: Partial<SnapOptions> = {},
): Snapshot {
	return snap({at, patches, ...extra});
}
