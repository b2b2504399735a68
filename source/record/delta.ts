/**
Snapshots to frames and back, pure: `encodeFrame` keeps only the Snapshot fields that changed since
the previous poll, `applyFrame` rebuilds the snapshot. A recording holds what blocks, never the
all-threads list.
*/
import type {Blocker, KernelLogLine, Snapshot, SourceInfo, StackFrame} from '../model/types.js';
import {blockerKey} from '../model/types.js';
import {parseStackLine} from '../sources/parse.js';
import type {FramePayload, StoredBlocker} from './format.js';

/*
Per-task kernel log lines (`klp_try_switch_task: cat:182 is sleeping on function X`, one per blocker
and second with dynamic debug on) are not recorded: the blocker records hold the same facts, and those
lines were nine tenths of a recording in a stall.
*/
const taskLine = /^livepatch: (?:klp_try_switch_task|klp_check_stack): /;

function sameJson(a: unknown, b: unknown): boolean {
	return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function sameStack(a: readonly StackFrame[] | null, b: readonly StackFrame[] | null): boolean {
	if (a === b) return true;
	if (a === null || b === null || a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) {
		if (a[i]!.raw !== b[i]!.raw) return false;
	}

	return true;
}

/** Whether two polls saw a blocker the same way (same key assumed). */
export function sameBlocker(a: Blocker, b: Blocker): boolean {
	return (
		a.comm === b.comm &&
		a.state === b.state &&
		a.patchState === b.patchState &&
		a.class === b.class &&
		a.function === b.function &&
		a.object === b.object &&
		a.wchan === b.wchan &&
		a.matchedFrame === b.matchedFrame &&
		a.matchedBy === b.matchedBy &&
		(a.killable ?? null) === (b.killable ?? null) &&
		sameJson(a.newCode ?? null, b.newCode ?? null) &&
		a.ppid === b.ppid &&
		a.flags === b.flags &&
		a.uid === b.uid &&
		a.tgid === b.tgid &&
		a.remedies.length === b.remedies.length &&
		a.remedies.every((remedy, i) => remedy === b.remedies[i]) &&
		sameStack(a.stack, b.stack)
	);
}

/** The log lines worth keeping: every line but the per-task ones. */
function keptLog(lines: readonly KernelLogLine[]): KernelLogLine[] {
	return lines.filter((line) => !taskLine.test(line.text));
}

/** Store blockers with a shared table of stacks (by identity first: the reader shares parsed stacks). */
function storeBlockers(blockers: readonly Blocker[]): {
	stacks: string[][];
	stored: StoredBlocker[];
} {
	const stacks: string[][] = [];
	const byArray = new Map<readonly StackFrame[], number>();
	const byText = new Map<string, number>();
	const stored = blockers.map((blocker): StoredBlocker => {
		const {stack, ...rest} = blocker;
		if (stack === null) return {...rest, stack: null};
		let index = byArray.get(stack);
		if (index === undefined) {
			const lines = stack.map((frame) => frame.raw);
			const text = lines.join('\n');
			index = byText.get(text);
			if (index === undefined) {
				index = stacks.length;
				stacks.push(lines);
				byText.set(text, index);
			}

			byArray.set(stack, index);
		}

		return {...rest, stack: index};
	});
	return {stacks, stored};
}

export type EncodeOptions = {
	/** ms since the recording's start. */
	readonly t: number;
	/** Write every field (a keyframe). */
	readonly full: boolean;
	/** Leave the counts, warnings and privileges out unless something else changed (idle polls). */
	readonly skipMinor?: boolean;
};

/**
The frame for `next` after `prev` (null: none yet, so a full frame). Fields that did not change are
left out; with `skipMinor`, so are changes of the counts, warnings and privileges alone (they then
wait for the next frame that records them).
*/
export function encodeFrame(prev: Snapshot | null, next: Snapshot, options: EncodeOptions): FramePayload {
	const full = options.full || prev === null;
	const frame: {-readonly [K in keyof FramePayload]: FramePayload[K]} = {k: full ? 'f' : 'd', t: options.t};
	const log = keptLog(next.kernelLog);
	if (full) {
		const {stacks, stored} = storeBlockers(next.blockers);
		Object.assign(frame, {
			source: next.source,
			kernel: next.kernel,
			privileges: next.privileges,
			patches: next.patches,
			transition: next.transition,
			tasks: next.tasks,
			stacks,
			blockers: stored,
			warnings: next.warnings,
			...(next.leftoverModules ? {leftoverModules: next.leftoverModules} : {}),
		});
	} else {
		if (!sameJson(prev.kernel, next.kernel)) frame.kernel = next.kernel;
		if (!sameJson(prev.patches, next.patches)) frame.patches = next.patches;
		if (!sameJson(prev.transition, next.transition)) frame.transition = next.transition;
		if (!sameJson(prev.leftoverModules ?? null, next.leftoverModules ?? null))
			frame.leftoverModules = next.leftoverModules ?? null;
		const old = new Map<string, Blocker>();
		for (const blocker of prev.blockers) old.set(blockerKey(blocker), blocker);
		const changed: Blocker[] = [];
		for (const blocker of next.blockers) {
			const key = blockerKey(blocker);
			const before = old.get(key);
			old.delete(key);
			if (before === undefined || !sameBlocker(before, blocker)) changed.push(blocker);
		}

		if (changed.length > 0) {
			const {stacks, stored} = storeBlockers(changed);
			frame.stacks = stacks;
			frame.blockers = stored;
		}

		if (old.size > 0) frame.gone = [...old.keys()];
		const major = Object.keys(frame).length > 2 || log.length > 0;
		if (!options.skipMinor || major) {
			if (!sameJson(prev.tasks, next.tasks)) frame.tasks = next.tasks;
			if (!sameJson(prev.privileges, next.privileges)) frame.privileges = next.privileges;
			if (!sameJson(prev.warnings, next.warnings)) frame.warnings = next.warnings;
		}
	}

	if (log.length > 0) frame.log = log;
	return frame;
}

/** Whether a delta frame says nothing but "polled" (an idle recorder skips most of these). */
export function isEmptyFrame(frame: FramePayload): boolean {
	return frame.k === 'd' && Object.keys(frame).length === 2;
}

function loadStack(lines: readonly string[]): StackFrame[] {
	return lines.map((raw) => parseStackLine(raw) ?? {raw, func: raw, module: null});
}

function loadBlockers(frame: FramePayload, name: string): Blocker[] {
	const parsed = new Map<number, readonly StackFrame[]>();
	return (frame.blockers ?? []).map((stored): Blocker => {
		let stack: readonly StackFrame[] | null = null;
		if (stored.stack !== null) {
			stack = parsed.get(stored.stack) ?? null;
			if (stack === null) {
				const lines = frame.stacks?.[stored.stack];
				if (lines === undefined)
					throw new FrameError(`${name}: a blocker names stack ${stored.stack}, not stored`);
				stack = loadStack(lines);
				parsed.set(stored.stack, stack);
			}
		}

		return {...stored, stack};
	});
}

/** A frame that does not fit the one before it (a delta before any full frame, a missing stack). */
export class FrameError extends Error {}

const emptySnapshotFields = {
	kernel: {release: null, livepatch: false, bootTime: null},
	privileges: {root: false, stacksReadable: false},
	patches: [],
	transition: null,
	tasks: {total: 0, byPatchState: {'-1': 0, '0': 0, '1': 0}},
	warnings: [],
} as const;

/**
The snapshot `frame` makes of `prev` (null before the first frame: then it must be full). `start` is
the recording's start time (frames count from it); `source` names the recorded source.
*/
export function applyFrame(
	prev: Snapshot | null,
	frame: FramePayload,
	start: number,
	source: SourceInfo,
	name = 'recording',
): Snapshot {
	if (prev === null && frame.k !== 'f') {
		throw new FrameError(`${name}: the first frame is not a full snapshot`);
	}

	const base = frame.k === 'f' || prev === null ? null : prev;
	let blockers: readonly Blocker[];
	if (base === null) {
		blockers = loadBlockers(frame, name);
	} else if (frame.blockers === undefined && frame.gone === undefined) {
		blockers = base.blockers;
	} else {
		const gone = new Set(frame.gone ?? []);
		const updates = new Map<string, Blocker>();
		for (const blocker of loadBlockers(frame, name)) updates.set(blockerKey(blocker), blocker);
		const merged: Blocker[] = [];
		for (const blocker of base.blockers) {
			const key = blockerKey(blocker);
			if (gone.has(key)) continue;
			const update = updates.get(key);
			merged.push(update ?? blocker);
			updates.delete(key);
		}

		merged.push(...updates.values());
		blockers = merged;
	}

	const from = base ?? emptySnapshotFields;
	const leftover =
		frame.leftoverModules === undefined ? (base?.leftoverModules ?? null) : frame.leftoverModules;
	return {
		time: start + frame.t,
		source: frame.source ?? (base === null ? source : base.source),
		kernel: frame.kernel ?? from.kernel,
		privileges: frame.privileges ?? from.privileges,
		patches: frame.patches ?? from.patches,
		transition: frame.transition === undefined ? from.transition : frame.transition,
		tasks: frame.tasks ?? from.tasks,
		threads: null,
		blockers,
		kernelLog: frame.log ?? [],
		warnings: frame.warnings ?? from.warnings,
		...(leftover === null ? {} : {leftoverModules: leftover}),
	};
}

/**
The snapshot a reader of the recording will rebuild for `next` from `frame` (its stacks aside): the
fields a frame left out keep `prev`'s values. The writer compares the next poll with this, so a
count change it skipped is still written later.
*/
export function recordedSnapshot(prev: Snapshot | null, next: Snapshot, frame: FramePayload): Snapshot {
	if (prev === null || frame.k === 'f') return next;
	return {
		...next,
		tasks: frame.tasks ?? prev.tasks,
		privileges: frame.privileges ?? prev.privileges,
		warnings: frame.warnings ?? prev.warnings,
	};
}
