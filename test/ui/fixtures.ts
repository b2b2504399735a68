/*
Snapshots and histories for the dashboard's tests, built by hand so every value is known, and
folded with the real `foldSnapshot` so histories look exactly like the ones the dashboard sees.
*/
import {foldSnapshot} from '../../source/model/history.js';
import type {
	Blocker,
	History,
	PatchInfo,
	ScanOptions,
	Snapshot,
	SourceInfo,
	StackFrame,
	TaskClass,
	ThreadInfo,
} from '../../source/model/types.js';
import type {Feed} from '../../source/ui/feed.js';

export const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export const emulatorSource: SourceInfo = {kind: 'emulator', root: null, scenario: 'stuck-interruptible'};
export const hostSource: SourceInfo = {kind: 'host', root: '/', scenario: null};

export function thread(tid: number, over: Partial<ThreadInfo> = {}): ThreadInfo {
	return {
		tid,
		tgid: tid,
		comm: `task${tid}`,
		state: 'S',
		ppid: 1,
		flags: 0x400000,
		kthread: false,
		starttime: 1000 + tid,
		patchState: 1,
		uid: 0,
		...over,
	};
}

export function frame(raw: string): StackFrame {
	const m = /\]\s+([^+\s]+)\+\S+(?:\s+\[([^\]]+)\])?/.exec(raw);
	return {raw, func: m?.[1] ?? raw, module: m?.[2] ?? null};
}

export const sleeperStack: readonly StackFrame[] = [
	'[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]',
	'[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]',
	'[<0>] proc_reg_read+0x56/0xa0',
	'[<0>] vfs_read+0xa5/0x310',
	'[<0>] ksys_read+0x6f/0xf0',
	'[<0>] do_syscall_64+0x5b/0xc0',
	'[<0>] entry_SYSCALL_64_after_hwframe+0x64/0xce',
].map(frame);

const stateOf: Record<TaskClass, string> = {
	running: 'R',
	interruptible: 'S',
	uninterruptible: 'D',
	stopped: 'T',
	zombie: 'Z',
	unknown: '?',
};

export function blocker(tid: number, over: Partial<Blocker> = {}): Blocker {
	const cls = over.class ?? 'interruptible';
	return {
		...thread(tid),
		state: stateOf[cls],
		patchState: 0,
		class: cls,
		function: 'klp_sleeper_wait',
		object: 'klp_sleeper',
		wchan: 'klp_sleeper_wait',
		stack: sleeperStack,
		matchedFrame: 0,
		matchedBy: 'stack',
		remedies: cls === 'interruptible' ? ['nudge', 'wait', 'reverse', 'force'] : ['reverse', 'force'],
		...over,
	};
}

export function patch(name: string, over: Partial<PatchInfo> = {}): PatchInfo {
	return {
		name,
		enabled: true,
		transition: false,
		replace: null,
		stackOrder: null,
		hasForce: true,
		hasSignal: false,
		objects: [
			{
				name: 'klp_sleeper',
				patched: true,
				functions: [
					{name: 'klp_sleeper_wait', sympos: 1},
					{name: 'do_sleep_read', sympos: 1},
				],
			},
		],
		...over,
	};
}

export type SnapshotSpec = {
	time?: number;
	blockers?: readonly Blocker[];
	threads?: readonly ThreadInfo[] | null;
	patches?: readonly PatchInfo[];
	transition?: boolean;
	source?: SourceInfo;
	livepatch?: boolean;
	total?: number;
};

/** A snapshot of a patching transition of `klp_sleeper_patch` (or none, with `transition: false`). */
export function snapshot(spec: SnapshotSpec = {}): Snapshot {
	const inTransition = spec.transition ?? true;
	const blockers = inTransition ? (spec.blockers ?? [blocker(4242, {comm: 'sleeper'})]) : [];
	const total = spec.total ?? Math.max(58, blockers.length);
	const patches = spec.patches ?? [patch('klp_sleeper_patch', {transition: inTransition})];
	return {
		time: spec.time ?? t0,
		source: spec.source ?? emulatorSource,
		kernel: {release: '6.1.0-56-amd64', livepatch: spec.livepatch ?? true, bootTime: t0 - 3_600_000},
		privileges: {root: true, stacksReadable: true},
		patches,
		transition: inTransition ? {patch: 'klp_sleeper_patch', direction: 'patching', target: 1} : null,
		tasks: {
			total,
			byPatchState: inTransition
				? {'-1': 0, '0': blockers.length, '1': total - blockers.length}
				: {'-1': total, '0': 0, '1': 0},
		},
		threads: spec.threads ?? null,
		blockers,
		kernelLog: [],
		warnings: [],
	};
}

/** Fold snapshots one after the other with the real history fold. */
export function historyOf(...snapshots: readonly Snapshot[]): History {
	let history: History | null = null;
	for (const snap of snapshots) {
		history = foldSnapshot(history, snap);
	}

	return history!;
}

/** A transition with one interruptible sleeper, seen for `seconds` seconds (one poll a second). */
export function stuckHistory(seconds = 20, spec: SnapshotSpec = {}): History {
	const snaps: Snapshot[] = [];
	for (let s = 0; s <= seconds; s++) {
		snaps.push(snapshot({...spec, time: t0 + s * 1000}));
	}

	return historyOf(...snaps);
}

/** `n` blockers spread over four functions and n/4 processes. */
export function manyBlockers(n: number): Blocker[] {
	const functions = [
		['klp_sleeper_wait', 'klp_sleeper'],
		['do_exit', 'vmlinux'],
		['pipe_read', 'vmlinux'],
		['futex_wait_queue', 'vmlinux'],
	] as const;
	const classes: TaskClass[] = ['interruptible', 'uninterruptible', 'running', 'interruptible'];
	const out: Blocker[] = [];
	for (let i = 0; i < n; i++) {
		const [fn, obj] = functions[i % 4]!;
		const tid = 1000 + i;
		out.push(
			blocker(tid, {
				tgid: 1000 + (i - (i % 4)),
				comm: `worker${i % 97}`,
				class: classes[i % 4]!,
				state: stateOf[classes[i % 4]!],
				function: fn,
				object: obj,
				kthread: i % 50 === 0,
				uid: i % 3 === 0 ? 0 : 1000,
				starttime: 5000 + i,
			}),
		);
	}

	return out;
}

/** A feed that replays snapshots (the last one repeats) and records the options of each poll. */
export class FakeFeed implements Feed {
	readonly source: SourceInfo;
	readonly polls: ScanOptions[] = [];
	closed = 0;
	private index = 0;
	private readonly snapshots: ReadonlyArray<Snapshot | ((options: ScanOptions) => Snapshot)>;

	constructor(
		snapshots: ReadonlyArray<Snapshot | ((options: ScanOptions) => Snapshot)>,
		source: SourceInfo = emulatorSource,
	) {
		this.snapshots = snapshots;
		this.source = source;
	}

	poll(options: ScanOptions): Snapshot {
		this.polls.push(options);
		const next = this.snapshots[Math.min(this.index, this.snapshots.length - 1)]!;
		this.index++;
		return typeof next === 'function' ? next(options) : next;
	}

	close(): void {
		this.closed++;
	}
}
