/**
The way back from the schema_version 1 document (`json.ts`) to the model: a line of someone's
`klptop -b --json` (a fleet host's stream) is checked, sanitised and turned into the `Snapshot` and
the `History` the host dashboard draws. The one converter; `json.ts` is the way out.

A document is foreign input (a remote host, any version of klptop, or something that is not klptop
at all): `readJsonDocument` checks every field the dashboard reads and passes every string through
`clean()`, the sanitiser local strings go through, before anything else sees it. The fields added
after the first release (`json.ts` lists them) are optional: an older klptop's document converts,
with what it lacks unknown (no stack, starttime 0).
*/
import {parseStackLine} from '../sources/parse.js';
import {killableSleep} from '../model/analysis.js';
import {clean} from '../model/sanitize.js';
import type {
	Blocker,
	BlockerMemory,
	History,
	PatchInfo,
	Snapshot,
	StackFrame,
	TaskClass,
	TransitionProgress,
} from '../model/types.js';
import {blockerKey, remedies, taskClasses} from '../model/types.js';
import type {JsonBlocker, JsonDocument} from './json.js';

/** What is wrong with a document, with the path of the first bad field (`blockers[3].tid`). */
export class DocumentError extends Error {}

type Json = Record<string, unknown>;

function fail(path: string, what: string): never {
	throw new DocumentError(`${path}: ${what}`);
}

function object(value: unknown, path: string): Json {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'not an object');
	return value as Json;
}

function array(value: unknown, path: string): unknown[] {
	if (!Array.isArray(value)) fail(path, 'not an array');
	return value;
}

function string(value: unknown, path: string): string {
	if (typeof value !== 'string') fail(path, 'not a string');
	return clean(value);
}

function stringOrNull(value: unknown, path: string): string | null {
	return value === null ? null : string(value, path);
}

function bool(value: unknown, path: string): boolean {
	if (typeof value !== 'boolean') fail(path, 'not true or false');
	return value;
}

function boolOrNull(value: unknown, path: string): boolean | null {
	return value === null ? null : bool(value, path);
}

function number(value: unknown, path: string): number {
	if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'not a number');
	return value;
}

function numberOrNull(value: unknown, path: string): number | null {
	return value === null ? null : number(value, path);
}

function integer(value: unknown, path: string): number {
	const n = number(value, path);
	if (!Number.isSafeInteger(n)) fail(path, 'not a whole number');
	return n;
}

function oneOf<T extends string | number>(value: unknown, allowed: readonly T[], path: string): T {
	if (!allowed.includes(value as T)) fail(path, `not one of ${allowed.join(', ')}`);
	return value as T;
}

function time(value: unknown, path: string): string {
	const text = string(value, path);
	if (Number.isNaN(Date.parse(text))) fail(path, 'not a time');
	return text;
}

function timeOrNull(value: unknown, path: string): string | null {
	return value === null ? null : time(value, path);
}

/** An optional (additive) field: absent stays absent, present must be right. */
function optional<T>(
	record: Json,
	key: string,
	path: string,
	read: (value: unknown, path: string) => T,
): T | undefined {
	return record[key] === undefined ? undefined : read(record[key], `${path}.${key}`);
}

/**
Check a parsed JSON value as a schema_version 1 document and return a sanitised copy (every string
through `clean()`, unknown fields dropped). Throws a `DocumentError` naming the first bad field.
*/
export function readJsonDocument(value: unknown): JsonDocument {
	const doc = object(value, 'document');
	if (doc['schema_version'] !== 1) fail('schema_version', 'not 1');
	const source = object(doc['source'], 'source');
	const kernel = object(doc['kernel'], 'kernel');
	const privileges = object(doc['privileges'], 'privileges');
	const tasks = object(doc['tasks'], 'tasks');
	const byState = object(tasks['by_patch_state'], 'tasks.by_patch_state');
	const stacks = optional(doc, 'stacks', 'document', (v, p) =>
		array(v, p).map((stack, i) =>
			array(stack, `${p}[${i}]`).map((line, j) => string(line, `${p}[${i}][${j}]`)),
		),
	);
	const out: JsonDocument = {
		schema_version: 1,
		time: time(doc['time'], 'time'),
		source: {
			kind: oneOf(source['kind'], ['host', 'tree', 'emulator'] as const, 'source.kind'),
			root: stringOrNull(source['root'], 'source.root'),
			scenario: stringOrNull(source['scenario'], 'source.scenario'),
			...(source['captured'] === undefined ? {} : {captured: time(source['captured'], 'source.captured')}),
		},
		kernel: {
			release: stringOrNull(kernel['release'], 'kernel.release'),
			livepatch: bool(kernel['livepatch'], 'kernel.livepatch'),
		},
		privileges: {
			root: bool(privileges['root'], 'privileges.root'),
			stacks_readable: bool(privileges['stacks_readable'], 'privileges.stacks_readable'),
		},
		patches: array(doc['patches'], 'patches').map((value, i) => readPatch(value, `patches[${i}]`)),
		transition: doc['transition'] === null ? null : readTransition(doc['transition']),
		tasks: {
			total: integer(tasks['total'], 'tasks.total'),
			unknown: tasks['unknown'] === undefined ? 0 : integer(tasks['unknown'], 'tasks.unknown'),
			by_patch_state: {
				'-1': integer(byState['-1'], 'tasks.by_patch_state.-1'),
				'0': integer(byState['0'], 'tasks.by_patch_state.0'),
				'1': integer(byState['1'], 'tasks.by_patch_state.1'),
			},
		},
		blockers: array(doc['blockers'], 'blockers').map((value, i) =>
			readBlocker(value, `blockers[${i}]`, stacks?.length ?? 0),
		),
		hidden_blocker: bool(doc['hidden_blocker'], 'hidden_blocker'),
		warnings: array(doc['warnings'], 'warnings').map((value, i) => string(value, `warnings[${i}]`)),
		last_transition: doc['last_transition'] === null ? null : readLastTransition(doc['last_transition']),
	};
	const bootTime = optional(kernel, 'boot_time', 'kernel', timeOrNull);
	if (bootTime !== undefined) out.kernel.boot_time = bootTime;
	if (stacks !== undefined) out.stacks = stacks;
	const kernelLog = optional(doc, 'kernel_log', 'document', (v, p) =>
		array(v, p).map((line, i) => {
			const record = object(line, `${p}[${i}]`);
			return {
				boot_s: numberOrNull(record['boot_s'], `${p}[${i}].boot_s`),
				text: string(record['text'], `${p}[${i}].text`),
			};
		}),
	);
	if (kernelLog !== undefined) out.kernel_log = kernelLog;
	return out;
}

function readPatch(value: unknown, path: string): JsonDocument['patches'][number] {
	const p = object(value, path);
	const patch: JsonDocument['patches'][number] = {
		name: string(p['name'], `${path}.name`),
		enabled: bool(p['enabled'], `${path}.enabled`),
		transition: bool(p['transition'], `${path}.transition`),
		replace: boolOrNull(p['replace'], `${path}.replace`),
		stack_order: numberOrNull(p['stack_order'], `${path}.stack_order`),
		objects: array(p['objects'], `${path}.objects`).map((o, i) => {
			const at = `${path}.objects[${i}]`;
			const obj = object(o, at);
			return {
				name: string(obj['name'], `${at}.name`),
				patched: boolOrNull(obj['patched'], `${at}.patched`),
				functions: array(obj['functions'], `${at}.functions`).map((f, j) => {
					const fn = object(f, `${at}.functions[${j}]`);
					return {
						name: string(fn['name'], `${at}.functions[${j}].name`),
						sympos: integer(fn['sympos'], `${at}.functions[${j}].sympos`),
					};
				}),
			};
		}),
	};
	const hasForce = optional(p, 'has_force', path, bool);
	const hasSignal = optional(p, 'has_signal', path, bool);
	if (hasForce !== undefined) patch.has_force = hasForce;
	if (hasSignal !== undefined) patch.has_signal = hasSignal;
	return patch;
}

function readTransition(value: unknown): NonNullable<JsonDocument['transition']> {
	const t = object(value, 'transition');
	const out: NonNullable<JsonDocument['transition']> = {
		patch: string(t['patch'], 'transition.patch'),
		direction: oneOf(t['direction'], ['patching', 'unpatching'] as const, 'transition.direction'),
		target: oneOf(t['target'], [0, 1] as const, 'transition.target'),
		pending: integer(t['pending'], 'transition.pending'),
		total: integer(t['total'], 'transition.total'),
		elapsed_s: numberOrNull(t['elapsed_s'], 'transition.elapsed_s'),
		next_signal_s: numberOrNull(t['next_signal_s'], 'transition.next_signal_s'),
		started_from: oneOf(
			t['started_from'] ?? 'first-seen',
			['observed', 'kernel-log', 'first-seen'] as const,
			'transition.started_from',
		),
		rate_per_s: t['rate_per_s'] === undefined ? null : numberOrNull(t['rate_per_s'], 'transition.rate_per_s'),
		reversals: t['reversals'] === undefined ? 0 : integer(t['reversals'], 'transition.reversals'),
		initializing:
			t['initializing'] === undefined ? false : bool(t['initializing'], 'transition.initializing'),
		unknown: t['unknown'] === undefined ? 0 : integer(t['unknown'], 'transition.unknown'),
	};
	const startedAt = optional(t, 'started_at', 'transition', timeOrNull);
	const directionSince = optional(t, 'direction_since', 'transition', timeOrNull);
	if (startedAt !== undefined) out.started_at = startedAt;
	if (directionSince !== undefined) out.direction_since = directionSince;
	return out;
}

function readBlocker(value: unknown, path: string, stackCount: number): JsonBlocker {
	const b = object(value, path);
	const blocker: JsonBlocker = {
		tgid: integer(b['tgid'], `${path}.tgid`),
		tid: integer(b['tid'], `${path}.tid`),
		comm: string(b['comm'], `${path}.comm`),
		state: string(b['state'], `${path}.state`),
		kthread: bool(b['kthread'], `${path}.kthread`),
		patch_state: oneOf(b['patch_state'], [0, 1] as const, `${path}.patch_state`),
		class: oneOf(b['class'], taskClasses, `${path}.class`),
		function: stringOrNull(b['function'], `${path}.function`),
		object: stringOrNull(b['object'], `${path}.object`),
		wchan: stringOrNull(b['wchan'], `${path}.wchan`),
		stuck_s: numberOrNull(b['stuck_s'], `${path}.stuck_s`),
		remedies: array(b['remedies'], `${path}.remedies`).map((r, i) =>
			oneOf(r, remedies, `${path}.remedies[${i}]`),
		),
		new_code:
			b['new_code'] === undefined || b['new_code'] === null
				? null
				: readNewCode(b['new_code'], `${path}.new_code`),
	};
	const ppid = optional(b, 'ppid', path, integer);
	const flags = optional(b, 'flags', path, integer);
	const starttime = optional(b, 'starttime', path, integer);
	const uid = optional(b, 'uid', path, (v, p) => (v === null ? null : integer(v, p)));
	const matchedBy = optional(b, 'matched_by', path, (v, p) =>
		v === null ? null : oneOf(v, ['stack', 'wchan'] as const, p),
	);
	const matchedFrame = optional(b, 'matched_frame', path, (v, p) => (v === null ? null : integer(v, p)));
	const stack = optional(b, 'stack', path, (v, p) => {
		if (v === null) return null;
		const index = integer(v, p);
		if (index < 0 || index >= stackCount) fail(p, 'no such entry in stacks');
		return index;
	});
	if (ppid !== undefined) blocker.ppid = ppid;
	if (flags !== undefined) blocker.flags = flags;
	if (starttime !== undefined) blocker.starttime = starttime;
	if (uid !== undefined) blocker.uid = uid;
	if (matchedBy !== undefined) blocker.matched_by = matchedBy;
	if (matchedFrame !== undefined) blocker.matched_frame = matchedFrame;
	if (stack !== undefined) blocker.stack = stack;
	return blocker;
}

function readNewCode(value: unknown, path: string): NonNullable<JsonBlocker['new_code']> {
	const code = object(value, path);
	return {
		patch: string(code['patch'], `${path}.patch`),
		module: string(code['module'], `${path}.module`),
		replaces: stringOrNull(code['replaces'], `${path}.replaces`),
	};
}

function readLastTransition(value: unknown): NonNullable<JsonDocument['last_transition']> {
	const l = object(value, 'last_transition');
	return {
		patch: string(l['patch'], 'last_transition.patch'),
		direction: oneOf(l['direction'], ['patching', 'unpatching'] as const, 'last_transition.direction'),
		outcome: oneOf(
			l['outcome'],
			['completed', 'forced', 'reversed-completed', 'vanished'] as const,
			'last_transition.outcome',
		),
		ended: time(l['ended'], 'last_transition.ended'),
		elapsed_s: numberOrNull(l['elapsed_s'], 'last_transition.elapsed_s'),
	};
}

/** `JSON.parse` and `readJsonDocument` in one: a document, or a `DocumentError` (also for bad JSON). */
export function parseJsonDocument(line: string): JsonDocument {
	let value: unknown;
	try {
		value = JSON.parse(line);
	} catch {
		throw new DocumentError('not JSON');
	}

	return readJsonDocument(value);
}

function ms(iso: string | null | undefined): number | null {
	if (iso === null || iso === undefined) return null;
	const value = Date.parse(iso);
	return Number.isNaN(value) ? null : value;
}

function patchOf(p: JsonDocument['patches'][number]): PatchInfo {
	return {
		name: p.name,
		enabled: p.enabled,
		transition: p.transition,
		replace: p.replace,
		stackOrder: p.stack_order,
		hasForce: p.has_force ?? true,
		hasSignal: p.has_signal ?? false,
		objects: p.objects.map((o) => ({
			name: o.name,
			patched: o.patched,
			functions: o.functions.map((f) => ({name: f.name, sympos: f.sympos})),
		})),
	};
}

function blockerOf(b: JsonBlocker, stacks: ReadonlyArray<readonly StackFrame[]>): Blocker {
	const stack = b.stack === undefined || b.stack === null ? null : (stacks[b.stack] ?? null);
	return {
		tid: b.tid,
		tgid: b.tgid,
		comm: b.comm,
		state: b.state,
		ppid: b.ppid ?? 0,
		flags: b.flags ?? 0,
		kthread: b.kthread,
		starttime: b.starttime ?? 0,
		patchState: b.patch_state,
		uid: b.uid ?? null,
		class: b.class as TaskClass,
		function: b.function,
		object: b.object,
		wchan: b.wchan,
		stack,
		matchedFrame: b.matched_frame ?? null,
		matchedBy: b.matched_by ?? null,
		remedies: b.remedies,
		newCode: b.new_code === null ? null : {...b.new_code},
		// Not in the document: told again from the state, stack and wchan, as the producer did.
		killable: killableSleep(b.state, stack, b.wchan),
	};
}

/**
The snapshot a document was made from, as far as it tells: what it does not carry is empty (no
thread list, no stack from a klptop older than the fleet) and strings are the sanitised ones.
*/
export function snapshotFromJson(doc: JsonDocument): Snapshot {
	const stacks = (doc.stacks ?? []).map((lines) =>
		lines.map((line) => parseStackLine(line)).filter((frame) => frame !== null),
	);
	const t = doc.transition;
	return {
		time: ms(doc.time) ?? 0,
		source: {
			kind: doc.source.kind,
			root: doc.source.root,
			scenario: doc.source.scenario,
			...(doc.source.captured === undefined ? {} : {capturedAt: ms(doc.source.captured) ?? 0}),
		},
		kernel: {
			release: doc.kernel.release,
			livepatch: doc.kernel.livepatch,
			bootTime: ms(doc.kernel.boot_time),
		},
		privileges: {root: doc.privileges.root, stacksReadable: doc.privileges.stacks_readable},
		patches: doc.patches.map((p) => patchOf(p)),
		transition: t
			? {
					patch: t.patch,
					direction: t.direction,
					target: t.target,
					...(t.initializing ? {initializing: true} : {}),
				}
			: null,
		tasks: {
			total: doc.tasks.total,
			byPatchState: {...doc.tasks.by_patch_state},
			...(doc.tasks.unknown > 0 ? {unknown: doc.tasks.unknown} : {}),
		},
		threads: null,
		blockers: doc.blockers.map((b) => blockerOf(b, stacks)),
		kernelLog: (doc.kernel_log ?? []).map((line) => ({bootSeconds: line.boot_s, text: line.text})),
		warnings: [...doc.warnings],
	};
}

/**
A history that starts where the document's producer stood: its transition's start, elapsed time and
reversals, every blocker's stuck time and the last finished transition, so that a dashboard opened on
a fleet host mid-transition shows the host's own figures and folds the next documents onto them
(`foldSnapshot` carries these forward). The kernel log lines the document carries are not replayed
(their events are the producer's); its event list starts empty.
*/
export function historyFromJson(doc: JsonDocument): History {
	const snapshot = snapshotFromJson(doc);
	const now = snapshot.time;
	const t = doc.transition;
	let transition: TransitionProgress | null = null;
	if (t) {
		const startedAt = ms(t.started_at) ?? (t.elapsed_s === null ? null : now - t.elapsed_s * 1000);
		transition = {
			patch: t.patch,
			direction: t.direction,
			target: t.target,
			...(t.initializing ? {initializing: true} : {}),
			startedAt,
			startedFrom: t.started_from,
			directionSince: ms(t.direction_since) ?? startedAt,
			elapsedS: t.elapsed_s,
			pending: t.pending,
			total: t.total,
			ratePerS: t.rate_per_s,
			nextSignalS: t.next_signal_s,
			reversals: t.reversals,
			...(t.unknown > 0 ? {unknown: t.unknown} : {}),
		};
	}

	const blockers = new Map<string, BlockerMemory>();
	for (const [i, b] of snapshot.blockers.entries()) {
		const stuck = doc.blockers[i]?.stuck_s ?? null;
		blockers.set(blockerKey(b), {firstSeen: stuck === null ? now : now - stuck * 1000, lastSeen: now});
	}

	const last = doc.last_transition;
	return {
		snapshot: {...snapshot, kernelLog: []},
		previous: null,
		transition,
		lastTransition: last
			? {
					patch: last.patch,
					direction: last.direction,
					outcome: last.outcome,
					endedAt: ms(last.ended) ?? now,
					elapsedS: last.elapsed_s,
				}
			: null,
		blockers,
		hiddenBlocker: doc.hidden_blocker,
		invisiblePolls: doc.hidden_blocker ? 3 : 0,
		events: [],
		polls: 1,
	};
}
