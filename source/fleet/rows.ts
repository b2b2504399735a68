/**
The fleet table's rows: one per host, sorted (stuck and failing hosts first unless asked otherwise),
filtered, and optionally grouped by kernel release, patch or blocking function, so that a function
stuck on 300 hosts is one line (Enter opens it). Pure: the screen and `fleet --once` text read it.
*/
import {clean} from '../model/sanitize.js';
import {remedies} from '../model/types.js';
import type {TaskClass} from '../model/types.js';
import type {HostState} from './host.js';
import {
	conditionOf,
	conditionOrder,
	documentAge,
	elapsedNow,
	hostRemedies,
	liveDoc,
	topFunction,
} from './model.js';
import type {Condition} from './model.js';

export const fleetColumnIds = [
	'host',
	'state',
	'kernel',
	'patches',
	'transition',
	'blockers',
	'helps',
	'age',
	'function',
] as const;
export type FleetColumnId = (typeof fleetColumnIds)[number];

export const fleetGroupModes = ['none', 'kernel', 'patch', 'function'] as const;
export type FleetGroupMode = (typeof fleetGroupModes)[number];

export type FleetView = {
	/** `state`: the default, worst first (failing, stuck, in transition ...). */
	readonly sort: {readonly column: FleetColumnId; readonly descending: boolean};
	readonly group: FleetGroupMode;
	/** Case-insensitive substring of a host's name, groups, kernel, patches, function, state or error. */
	readonly filter: string;
	/** Group lines whose hosts are shown. */
	readonly expanded: ReadonlySet<string>;
};

export const defaultFleetView: FleetView = {
	sort: {column: 'state', descending: false},
	group: 'none',
	filter: '',
	expanded: new Set(),
};

export type HostRow = {
	readonly kind: 'host';
	/** `h:<name>`. */
	readonly key: string;
	readonly state: HostState;
	readonly condition: Condition;
	/** Shown under a group line. */
	readonly member: boolean;
};

export type GroupRow = {
	readonly kind: 'group';
	/** `g:<mode>:<label>`. */
	readonly key: string;
	/** Sanitised. */
	readonly label: string;
	readonly hosts: readonly HostState[];
	/** Hosts per condition. */
	readonly conditions: ReadonlyMap<Condition, number>;
	/** The worst condition among its hosts (groups sort by it). */
	readonly worst: Condition;
	readonly expanded: boolean;
};

export type FleetRow = HostRow | GroupRow;

const rank = new Map(conditionOrder.map((condition, i) => [condition, i]));

/** The text a filter searches in. */
export function hostText(state: HostState): string {
	const doc = state.doc;
	const parts = [
		state.host.name,
		state.host.destination,
		...state.host.groups,
		state.status,
		state.error ?? '',
	];
	if (doc !== null) {
		parts.push(doc.kernel.release ?? '', ...doc.patches.map((p) => p.name));
		for (const b of doc.blockers) if (b.function !== null) parts.push(b.function);
	}

	return parts.join('\u0000').toLowerCase();
}

/** The key a host is grouped under, sanitised. */
export function groupLabel(state: HostState, mode: FleetGroupMode): string {
	const doc = liveDoc(state);
	if (mode === 'kernel') return clean(doc?.kernel.release ?? state.doc?.kernel.release ?? '(unknown kernel)');
	if (doc === null) return `(${state.status})`;
	if (mode === 'patch') {
		if (doc.transition !== null) return clean(`${doc.transition.patch} (${doc.transition.direction})`);
		const enabled = doc.patches.filter((p) => p.enabled).map((p) => p.name);
		return enabled.length === 0 ? '(no patch)' : clean(enabled.join(' + '));
	}

	const fn = topFunction(doc.blockers);
	return fn === null ? (doc.transition === null ? '(no transition)' : '(no visible blocker)') : clean(fn);
}

function sortValue(state: HostState, column: FleetColumnId, now: number): number | string {
	const doc = liveDoc(state);
	switch (column) {
		case 'host':
			return state.host.name;
		case 'state':
			// Worst first; within stuck and in-transition hosts, the longest transition first (whole
			// seconds: hosts as old keep their order by name from refresh to refresh).
			return (
				(rank.get(conditionOf(state, now)) ?? 9) * 1e9 -
				Math.min(Math.floor(elapsedNow(state, now) ?? 0), 9e8)
			);
		case 'kernel':
			return state.doc?.kernel.release ?? '';
		case 'patches':
			return doc?.patches.filter((p) => p.enabled).length ?? -1;
		case 'transition':
			return doc?.transition ? (elapsedNow(state, now) ?? 0) : -1;
		case 'blockers':
			return doc?.blockers.length ?? -1;
		case 'helps': {
			// The most useful remedy first: nudge, wait, reverse, force, nothing.
			const best = doc === null ? undefined : hostRemedies(doc)[0];
			return best === undefined ? remedies.length : remedies.indexOf(best);
		}
		case 'age':
			return documentAge(state, now) ?? Number.POSITIVE_INFINITY;
		case 'function':
			return doc ? (topFunction(doc.blockers) ?? '') : '';
	}
}

function compare(a: number | string, b: number | string): number {
	if (typeof a === 'number' && typeof b === 'number') return a - b;
	return String(a).localeCompare(String(b));
}

/** Sorted hosts (ties by name, so the order holds still from refresh to refresh). */
export function sortHosts(states: readonly HostState[], sort: FleetView['sort'], now: number): HostState[] {
	const decorated = states.map((state) => ({state, value: sortValue(state, sort.column, now)}));
	decorated.sort((x, y) => {
		const order = compare(x.value, y.value);
		const directed = sort.descending ? -order : order;
		return directed !== 0 ? directed : x.state.host.name.localeCompare(y.state.host.name);
	});
	return decorated.map((entry) => entry.state);
}

export function fleetRows(states: readonly HostState[], view: FleetView, now: number): FleetRow[] {
	const needle = view.filter.toLowerCase();
	const shown = needle === '' ? states : states.filter((state) => hostText(state).includes(needle));
	const sorted = sortHosts(shown, view.sort, now);
	const hostRow = (state: HostState, member: boolean): HostRow => ({
		kind: 'host',
		key: `h:${state.host.name}`,
		state,
		condition: conditionOf(state, now),
		member,
	});
	if (view.group === 'none') return sorted.map((state) => hostRow(state, false));

	const groups = new Map<string, HostState[]>();
	for (const state of sorted) {
		const label = groupLabel(state, view.group);
		const list = groups.get(label) ?? [];
		list.push(state);
		groups.set(label, list);
	}

	const groupRows: GroupRow[] = [...groups].map(([label, hosts]) => {
		const conditions = new Map<Condition, number>();
		for (const state of hosts) {
			const condition = conditionOf(state, now);
			conditions.set(condition, (conditions.get(condition) ?? 0) + 1);
		}

		const worst = conditionOrder.find((condition) => conditions.has(condition)) ?? 'idle';
		const key = `g:${view.group}:${label}`;
		return {kind: 'group', key, label, hosts, conditions, worst, expanded: view.expanded.has(key)};
	});
	// Worst groups first, then the biggest.
	groupRows.sort(
		(a, b) =>
			(rank.get(a.worst) ?? 9) - (rank.get(b.worst) ?? 9) ||
			b.hosts.length - a.hosts.length ||
			a.label.localeCompare(b.label),
	);
	const rows: FleetRow[] = [];
	for (const group of groupRows) {
		rows.push(group);
		if (group.expanded) for (const state of group.hosts) rows.push(hostRow(state, true));
	}

	return rows;
}

/** Blocker classes as state letters, most first: `2S 1D` (S interruptible, D uninterruptible ...). */
export const classLetter: Readonly<Record<TaskClass, string>> = {
	running: 'R',
	interruptible: 'S',
	uninterruptible: 'D',
	stopped: 'T',
	zombie: 'Z',
	unknown: '?',
};
