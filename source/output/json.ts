/**
The `--once --json` document, schema_version 1 (issue 2 §6). Later versions may add fields; none
is ever renamed or removed. Every string that came from the kernel, a process or the command line
goes through `clean()`, so the document is safe to print on a terminal as well as to parse.

Fields beyond the list (additive): `transition.started_from` (how `elapsed_s` is known:
`first-seen` means a lower bound), `transition.rate_per_s`, `transition.reversals`,
`transition.initializing` (the kernel is still inside `insmod`), `last_transition` and
`tasks.unknown` and `transition.unknown` (threads whose patch_state is unreadable, e.g. not root:
neither pending nor switched), `blockers[].new_code` (the function is a patch's replacement code: whose, in which module, for which
original), `kill` among a blocker's `remedies` (SIGKILL, for a user task in a sleep known to be killable),
`source.captured` (a capture's own time, present only for a klptop capture) and `filter` (with
`--pid`/`--tid` only: which, and how many blockers there are in all).

Added for the fleet (issue 11), so that a host's full dashboard can be drawn from its stream
(`json-snapshot.ts` turns a document back into a `Snapshot`): `kernel.boot_time`,
`patches[].has_force` / `has_signal`, `transition.started_at` / `direction_since`, per blocker
`ppid`, `flags`, `starttime`, `uid`, `matched_by`, `matched_frame` and `stack` (an index into the
top-level `stacks`, where blockers sleeping in one place share one entry), and `kernel_log`: the
livepatch kernel log lines new since the previous document of the run (the first one carries what
the log still holds). Readers of schema_version 1 documents must treat all of them as optional.
*/
import {blockerKey} from '../model/types.js';
import {stuckSeconds} from '../model/history.js';
import type {Blocker, Direction, History, Remedy, TaskClass} from '../model/types.js';
import {clean} from '../model/sanitize.js';
import {isFiltering, selectBlockers, type IdFilter} from './only.js';

export const schemaVersion = 1;

export type JsonFunction = {name: string; sympos: number};
export type JsonObject = {name: string; patched: boolean | null; functions: JsonFunction[]};
export type JsonPatch = {
	name: string;
	enabled: boolean;
	transition: boolean;
	replace: boolean | null;
	stack_order: number | null;
	objects: JsonObject[];
	has_force?: boolean;
	has_signal?: boolean;
};
export type JsonTransition = {
	patch: string;
	direction: Direction;
	target: 0 | 1;
	pending: number;
	total: number;
	elapsed_s: number | null;
	next_signal_s: number | null;
	started_from: 'observed' | 'kernel-log' | 'first-seen';
	rate_per_s: number | null;
	reversals: number;
	/** Inside `insmod`: the kernel is setting the transition up (enabled still reads 0). */
	initializing: boolean;
	/** Threads whose patch_state is unreadable (not root): neither in `pending` nor switched. */
	unknown: number;
	/** When it started (ISO 8601), null when unknown; `started_from` says how it is known. */
	started_at?: string | null;
	/** Start of the current direction (the last reversal, else the start): fake signals count from it. */
	direction_since?: string | null;
};
export type JsonBlocker = {
	tgid: number;
	tid: number;
	comm: string;
	state: string;
	kthread: boolean;
	patch_state: 0 | 1;
	class: TaskClass;
	function: string | null;
	object: string | null;
	wchan: string | null;
	stuck_s: number | null;
	remedies: Remedy[];
	/** The function is a patch's replacement code (its module, and the original it replaces), else null. */
	new_code: {patch: string; module: string; replaces: string | null} | null;
	ppid?: number;
	flags?: number;
	/** `stat` field 22: with `tid` it names the thread across PID reuse. */
	starttime?: number;
	uid?: number | null;
	matched_by?: 'stack' | 'wchan' | null;
	/** Index into the stack's frames of the patched function's frame. */
	matched_frame?: number | null;
	/** Index into the document's `stacks`, null when the stack was unreadable. */
	stack?: number | null;
};
export type JsonKernelLogLine = {boot_s: number | null; text: string};
export type JsonLastTransition = {
	patch: string;
	direction: Direction;
	outcome: 'completed' | 'forced' | 'reversed-completed' | 'vanished';
	ended: string;
	elapsed_s: number | null;
};
export type JsonDocument = {
	schema_version: 1;
	time: string;
	/** `captured`: when a capture was taken (ISO 8601), only for a klptop capture; `time` is then the same. */
	source: {
		kind: 'host' | 'tree' | 'emulator';
		root: string | null;
		scenario: string | null;
		captured?: string;
	};
	kernel: {release: string | null; livepatch: boolean; boot_time?: string | null};
	privileges: {root: boolean; stacks_readable: boolean};
	patches: JsonPatch[];
	transition: JsonTransition | null;
	/** `unknown`: threads whose patch_state could not be read (additive). */
	tasks: {total: number; unknown: number; by_patch_state: {'-1': number; '0': number; '1': number}};
	blockers: JsonBlocker[];
	hidden_blocker: boolean;
	warnings: string[];
	last_transition: JsonLastTransition | null;
	/** Present only with `--pid`/`--tid`: `blockers` lists the selected ones of `blockers_total`. */
	filter?: {pids: number[] | null; tids: number[] | null; blockers_total: number};
	/** Kernel stacks of the blockers, one entry per distinct stack: its raw lines, innermost first. */
	stacks?: string[][];
	kernel_log?: JsonKernelLogLine[];
};

export type JsonOptions = {
	/** `--pid`/`--tid`: only these blockers are listed (counts stay whole). */
	readonly only?: IdFilter | null;
};

/** Seconds rounded to the millisecond (no `14.999999999` in a document); null stays null. */
function seconds(value: number | null): number | null {
	return value === null || !Number.isFinite(value) ? null : Math.round(value * 1000) / 1000;
}

function cleanOrNull(text: string | null): string | null {
	return text === null ? null : clean(text);
}

function isoTime(ms: number): string {
	const date = new Date(ms);
	return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

function isoOrNull(ms: number | null): string | null {
	return ms === null || !Number.isFinite(ms) ? null : isoTime(ms);
}

/** The schema_version 1 document for the history's latest snapshot. */
export function toJsonDocument(history: History, options: JsonOptions = {}): JsonDocument {
	const s = history.snapshot;
	const {only} = options;
	const t = history.transition;
	const last = history.lastTransition;
	// Blockers sleeping in one place share one parsed stack (the reader's cache): one entry each.
	const stacks: string[][] = [];
	const stackIndex = new Map<object, number>();
	const stackOf = (stack: Blocker['stack']): number | null => {
		if (stack === null) return null;
		let index = stackIndex.get(stack);
		if (index === undefined) {
			index = stacks.push(stack.map((frame) => clean(frame.raw))) - 1;
			stackIndex.set(stack, index);
		}

		return index;
	};

	return {
		schema_version: schemaVersion,
		time: isoTime(s.time),
		source: {
			kind: s.source.kind,
			root: cleanOrNull(s.source.root),
			scenario: cleanOrNull(s.source.scenario),
			...(s.source.capturedAt === undefined ? {} : {captured: isoTime(s.source.capturedAt)}),
		},
		kernel: {
			release: cleanOrNull(s.kernel.release),
			livepatch: s.kernel.livepatch,
			boot_time: isoOrNull(s.kernel.bootTime),
		},
		privileges: {root: s.privileges.root, stacks_readable: s.privileges.stacksReadable},
		patches: s.patches.map((p) => ({
			name: clean(p.name),
			enabled: p.enabled,
			transition: p.transition,
			replace: p.replace,
			stack_order: p.stackOrder,
			objects: p.objects.map((o) => ({
				name: clean(o.name),
				patched: o.patched,
				functions: o.functions.map((f) => ({name: clean(f.name), sympos: f.sympos})),
			})),
			has_force: p.hasForce,
			has_signal: p.hasSignal,
		})),
		transition: t
			? {
					patch: clean(t.patch),
					direction: t.direction,
					target: t.target,
					pending: t.pending,
					total: t.total,
					elapsed_s: seconds(t.elapsedS),
					next_signal_s: seconds(t.nextSignalS),
					started_from: t.startedFrom,
					rate_per_s: seconds(t.ratePerS),
					reversals: t.reversals,
					initializing: t.initializing ?? false,
					unknown: t.unknown ?? 0,
					started_at: isoOrNull(t.startedAt),
					direction_since: isoOrNull(t.directionSince),
				}
			: null,
		tasks: {
			total: s.tasks.total,
			unknown: s.tasks.unknown ?? 0,
			by_patch_state: {
				'-1': s.tasks.byPatchState['-1'],
				'0': s.tasks.byPatchState['0'],
				'1': s.tasks.byPatchState['1'],
			},
		},
		blockers: selectBlockers(s.blockers, only).map((b) => {
			const stuck = stuckSeconds(history, blockerKey(b));
			return {
				tgid: b.tgid,
				tid: b.tid,
				comm: clean(b.comm),
				state: clean(b.state),
				kthread: b.kthread,
				patch_state: b.patchState,
				class: b.class,
				function: cleanOrNull(b.function),
				object: cleanOrNull(b.object),
				wchan: cleanOrNull(b.wchan),
				stuck_s: stuck === null ? null : seconds(stuck),
				remedies: [...b.remedies],
				new_code: b.newCode
					? {
							patch: clean(b.newCode.patch),
							module: clean(b.newCode.module),
							replaces: cleanOrNull(b.newCode.replaces),
						}
					: null,
				ppid: b.ppid,
				flags: b.flags,
				starttime: b.starttime,
				uid: b.uid,
				matched_by: b.matchedBy,
				matched_frame: b.matchedFrame,
				stack: stackOf(b.stack),
			};
		}),
		hidden_blocker: history.hiddenBlocker,
		warnings: s.warnings.map((w) => clean(w)),
		last_transition: last
			? {
					patch: clean(last.patch),
					direction: last.direction,
					outcome: last.outcome,
					ended: isoTime(last.endedAt),
					elapsed_s: seconds(last.elapsedS),
				}
			: null,
		...(isFiltering(only)
			? {
					filter: {
						pids: only.pids === null ? null : [...only.pids],
						tids: only.tids === null ? null : [...only.tids],
						blockers_total: s.blockers.length,
					},
				}
			: {}),
		stacks,
		kernel_log: s.kernelLog.map((line) => ({boot_s: line.bootSeconds, text: clean(line.text)})),
	};
}

/** The document on one line, for NDJSON streams (the caller adds the `\n`). */
export function toJsonLine(history: History, options: JsonOptions = {}): string {
	return JSON.stringify(toJsonDocument(history, options));
}
