/**
What each column of the fleet table says for a host, and the column widths for a terminal width:
shared by the screen (which styles the cells) and `fleet --once` text. Every string is sanitised
here, host names and everything a host sent. Columns: `help` in `keymap.ts`.
*/
import {clean} from '../model/sanitize.js';
import type {Remedy} from '../model/types.js';
import {formatDuration} from '../views/format.js';
import type {ConnectionStatus, HostState} from './host.js';
import {blockerClasses, documentAge, elapsedNow, hostRemedies, liveDoc, topFunction} from './model.js';
import type {Condition} from './model.js';
import type {FleetColumnId} from './rows.js';
import {classLetter} from './rows.js';

export const columnTitles: Readonly<Record<FleetColumnId, string>> = {
	host: 'HOST',
	state: 'STATE',
	kernel: 'KERNEL',
	patches: 'PATCH',
	transition: 'TRANSITION',
	blockers: 'BLOCK',
	helps: 'HELP',
	age: 'AGE',
	function: 'FUNCTION',
};

/** The STATE column: the condition, or for a failing host what fails. */
const statusWords: Readonly<Partial<Record<ConnectionStatus, string>>> = {
	unreachable: 'unreach',
	'auth-failed': 'auth-fail',
	'host-key-unknown': 'host-key',
	'no-klptop': 'no-klptop',
	'sudo-failed': 'sudo-fail',
	exited: 'exited',
	stalled: 'stalled',
	garbage: 'garbage',
	failed: 'failed',
	pushing: 'pushing',
};

const conditionWords: Readonly<Record<Condition, string>> = {
	failing: 'failing',
	stuck: 'STUCK',
	transition: 'transit',
	connecting: 'connect',
	'no-livepatch': 'no-lp',
	applied: 'applied',
	idle: 'idle',
};

export function stateWord(state: HostState, condition: Condition): string {
	if (condition === 'failing' || state.status === 'pushing') return statusWords[state.status] ?? state.status;
	return conditionWords[condition];
}

const remedyLetter: Readonly<Record<Remedy, string>> = {
	nudge: 'N',
	wait: 'W',
	reverse: 'R',
	kill: 'K',
	force: 'F',
};

export type HostCells = {
	readonly host: string;
	readonly state: string;
	readonly kernel: string;
	readonly patches: string;
	readonly transition: string;
	readonly blockers: string;
	readonly helps: string;
	readonly age: string;
	readonly function: string;
	/** A failing host's error (or a note: not root), shown from TRANSITION on; '' when none. */
	readonly note: string;
};

export function hostCells(state: HostState, condition: Condition, now: number, ascii: boolean): HostCells {
	const doc = liveDoc(state);
	const stale = state.doc;
	const age = documentAge(state, now);
	const t = doc?.transition ?? null;
	let transition = '';
	if (t !== null) {
		const arrow = t.direction === 'patching' ? (ascii ? '+' : '▲') : ascii ? '-' : '▼';
		transition = `${arrow}${formatDuration(elapsedNow(state, now))} ${t.pending}/${t.total}`;
	}

	let note = '';
	if (condition === 'failing' || state.status === 'pushing') note = state.error ?? '';
	else if (state.pushed !== null) note = `pushed ${state.pushed}`;
	// Said first in FUNCTION, where it matters: without root, functions come from wchan only.
	const partial = doc !== null && !doc.privileges.root ? '[not root] ' : '';
	return {
		host: clean(state.host.name),
		state: stateWord(state, condition),
		kernel: clean(stale?.kernel.release ?? ''),
		patches: doc === null ? '' : `${doc.patches.filter((p) => p.enabled).length}/${doc.patches.length}`,
		transition,
		blockers:
			doc === null
				? ''
				: blockerClasses(doc.blockers)
						.map(([cls, n]) => `${n}${classLetter[cls]}`)
						.join(''),
		helps:
			doc === null || t === null
				? ''
				: hostRemedies(doc)
						.map((r) => remedyLetter[r])
						.join(''),
		age: age === null ? '-' : formatDuration(age),
		function: doc === null ? '' : partial + clean(topFunction(doc.blockers) ?? ''),
		note: clean(note),
	};
}

export type ColumnLayout = ReadonlyArray<{
	readonly id: FleetColumnId;
	readonly width: number;
	readonly right?: boolean;
}>;

/** Column widths for a terminal `width`, HOST as wide as the longest name (8 to 24 cells). */
export function fleetColumns(width: number, longestHost: number): ColumnLayout {
	const wide = width >= 110;
	const fixed: Array<{id: FleetColumnId; width: number; right?: boolean}> = [
		{id: 'state', width: 9},
		{id: 'kernel', width: wide ? 18 : 10},
		{id: 'patches', width: 5, right: true},
		{id: 'transition', width: 14},
		{id: 'blockers', width: 6},
		{id: 'helps', width: 5},
		{id: 'age', width: 4, right: true},
	];
	const used = fixed.reduce((sum, column) => sum + column.width + 1, 0);
	const host = Math.max(8, Math.min(wide ? 24 : 14, longestHost + 2, width - used - 9));
	const fn = Math.max(8, width - used - host - 1);
	return [{id: 'host', width: host}, ...fixed, {id: 'function', width: fn}];
}
