/**
The fleet as numbers and words, a pure function of the hosts' states and the time: each host's
condition (failing, stuck > 60 s, transition, connecting, no-livepatch, applied, idle: worst first),
the header's counts, and per patch how many hosts have it applied, in transition or missing. The
screen, `fleet --once --json` and `fleet wait` all read it.
*/
import type {JsonBlocker, JsonDocument} from '../output/json.js';
import {remedies} from '../model/types.js';
import type {Remedy, TaskClass} from '../model/types.js';
import {failingStatuses} from './host.js';
import type {HostState} from './host.js';

export type Condition =
	'failing' | 'stuck' | 'transition' | 'connecting' | 'no-livepatch' | 'applied' | 'idle';

/** Worst first: the default order of the rows. */
export const conditionOrder: readonly Condition[] = [
	'failing',
	'stuck',
	'transition',
	'connecting',
	'no-livepatch',
	'applied',
	'idle',
];

/** A transition older than this is stuck (the 60 s). */
export const stuckAfterS = 60;

/** The document a host's figures come from: none while it fails (it would be out of date). */
export function liveDoc(state: HostState): JsonDocument | null {
	return failingStatuses.has(state.status) ? null : state.doc;
}

/** Seconds since the host's last document (local clock), null before the first. */
export function documentAge(state: HostState, now: number): number | null {
	return state.lastFrameAt === null ? null : Math.max(0, (now - state.lastFrameAt) / 1000);
}

/** The transition's elapsed time now: the document's, plus the time since it arrived. */
export function elapsedNow(state: HostState, now: number): number | null {
	const t = state.doc?.transition ?? null;
	if (t === null || t.elapsed_s === null) return null;
	return t.elapsed_s + (documentAge(state, now) ?? 0);
}

export function conditionOf(state: HostState, now: number): Condition {
	if (failingStatuses.has(state.status)) return 'failing';
	const doc = state.doc;
	if (doc === null) return 'connecting';
	if (doc.transition !== null) return (elapsedNow(state, now) ?? 0) > stuckAfterS ? 'stuck' : 'transition';
	if (!doc.kernel.livepatch) return 'no-livepatch';
	return doc.patches.some((p) => p.enabled) ? 'applied' : 'idle';
}

export type FleetCounts = {
	readonly hosts: number;
	/** Hosts whose last document is current (not failing). */
	readonly reporting: number;
	readonly applied: number;
	/** Stuck ones included. */
	readonly inTransition: number;
	readonly stuck: number;
	readonly unreachable: number;
	/** Failing for any other reason (auth, host key, no klptop, stalled, garbage, exited ...). */
	readonly failing: number;
	readonly connecting: number;
	readonly noLivepatch: number;
	/** Reporting hosts that read as non-root (partial view). */
	readonly notRoot: number;
};

export type PatchCount = {
	readonly name: string;
	readonly applied: number;
	readonly inTransition: number;
	/** Reporting hosts with livepatch support where it is neither applied nor in transition. */
	readonly missing: number;
};

export type FleetSummary = {readonly counts: FleetCounts; readonly patches: readonly PatchCount[]};

export function summarize(states: readonly HostState[], now: number): FleetSummary {
	let reporting = 0;
	let applied = 0;
	let inTransition = 0;
	let stuck = 0;
	let unreachable = 0;
	let failing = 0;
	let connecting = 0;
	let noLivepatch = 0;
	let notRoot = 0;
	const patches = new Map<string, {applied: number; inTransition: number}>();
	let livepatchHosts = 0;
	for (const state of states) {
		const condition = conditionOf(state, now);
		if (condition === 'failing') {
			if (state.status === 'unreachable') unreachable++;
			else failing++;
			continue;
		}

		if (condition === 'connecting') {
			connecting++;
			continue;
		}

		const doc = state.doc!;
		reporting++;
		if (!doc.privileges.root) notRoot++;
		if (condition === 'no-livepatch') noLivepatch++;
		if (condition === 'applied') applied++;
		if (condition === 'stuck' || condition === 'transition') inTransition++;
		if (condition === 'stuck') stuck++;
		if (!doc.kernel.livepatch) continue;
		livepatchHosts++;
		for (const patch of doc.patches) {
			const count = patches.get(patch.name) ?? {applied: 0, inTransition: 0};
			if (patch.transition) count.inTransition++;
			else if (patch.enabled) count.applied++;
			patches.set(patch.name, count);
		}
	}

	return {
		counts: {
			hosts: states.length,
			reporting,
			applied,
			inTransition,
			stuck,
			unreachable,
			failing,
			connecting,
			noLivepatch,
			notRoot,
		},
		patches: [...patches]
			.map(([name, count]) => ({
				name,
				applied: count.applied,
				inTransition: count.inTransition,
				missing: livepatchHosts - count.applied - count.inTransition,
			}))
			.sort((a, b) => b.inTransition - a.inTransition || a.name.localeCompare(b.name)),
	};
}

/** Blockers per class, most first: `2 intr 1 D`. */
export function blockerClasses(blockers: readonly JsonBlocker[]): Array<[TaskClass, number]> {
	const counts = new Map<TaskClass, number>();
	for (const b of blockers) counts.set(b.class, (counts.get(b.class) ?? 0) + 1);
	return [...counts].sort((a, b) => b[1] - a[1]);
}

/** The patched function most blockers sleep in (`function [object]`), null when none is known. */
export function topFunction(blockers: readonly JsonBlocker[]): string | null {
	const counts = new Map<string, number>();
	for (const b of blockers) {
		if (b.function === null) continue;
		counts.set(b.function, (counts.get(b.function) ?? 0) + 1);
	}

	let best: string | null = null;
	let most = 0;
	for (const [fn, n] of counts) {
		if (n > most) {
			best = fn;
			most = n;
		}
	}

	return best;
}

/** What can still move the host's transition, most useful first (the union over its blockers). */
export function hostRemedies(doc: JsonDocument): Remedy[] {
	const seen = new Set<Remedy>();
	for (const b of doc.blockers) for (const r of b.remedies) seen.add(r);
	if (doc.transition !== null && doc.blockers.length === 0) seen.add('wait');
	return remedies.filter((r) => seen.has(r));
}
