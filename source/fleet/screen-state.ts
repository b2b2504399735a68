/**
The fleet screen's state and its pure reducer (the host dashboard's `dashboard/state.ts` shape):
every refresh of the hosts' states, key press and resize is an action folded into it. Selection is
by row key (`h:<host>`, `g:...`), so it stays on its host while rows move; when the host is gone
(filtered out) it falls back to the row now at its place.
*/
import {clean} from '../model/sanitize.js';
import {isPrintable, matchKey} from '../keymap.js';
import {columnTitles} from './cells.js';
import type {HostState} from './host.js';
import {fleetKeymap} from './keymap.js';
import type {FleetCommandId, FleetKeyContext} from './keymap.js';
import {liveDoc, summarize} from './model.js';
import type {FleetSummary} from './model.js';
import {defaultFleetView, fleetColumnIds, fleetGroupModes, fleetRows, hostText} from './rows.js';
import type {FleetRow, FleetView} from './rows.js';

export type FleetScreen =
	| {readonly kind: 'main'}
	| {readonly kind: 'help'; readonly scroll: number}
	/** A host's full dashboard (the App, fed by the host's stream). */
	| {readonly kind: 'host'; readonly name: string};

export type FleetPrompt =
	| {readonly kind: 'search'; readonly text: string; readonly originIndex: number}
	| {readonly kind: 'filter'; readonly text: string; readonly previous: string};

/** What an action will run on one host, shown for confirmation. */
export type FleetDialog =
	| {
			readonly kind: 'nudge';
			readonly host: string;
			readonly tids: readonly number[];
			/** `182 cat (klp_sleeper_wait)`, sanitised. */
			readonly targets: readonly string[];
	  }
	| {readonly kind: 'reverse'; readonly host: string; readonly patch: string; readonly direction: string}
	| {readonly kind: 'force'; readonly host: string; readonly patch: string; readonly typed: string};

export type FleetStatus = {readonly text: string; readonly tone: 'info' | 'warn' | 'error'};

export type FleetUiState = {
	readonly width: number;
	readonly height: number;
	readonly delayS: number;
	/** The hosts as of the last refresh, and when it was (ages and elapsed times are counted to it). */
	readonly states: readonly HostState[];
	readonly now: number;
	/** The header's figures, as of the last refresh. */
	readonly summary: FleetSummary;
	readonly view: FleetView;
	readonly rows: readonly FleetRow[];
	readonly selected: {readonly key: string | null; readonly index: number};
	readonly top: number;
	readonly screen: FleetScreen;
	readonly prompt: FleetPrompt | null;
	readonly search: string;
	/** The screen is frozen (the streams keep running). */
	readonly paused: boolean;
	readonly status: FleetStatus | null;
	readonly dialog: FleetDialog | null;
	/** What runs right now ("reversing on web01 ..."), null when idle. */
	readonly busy: string | null;
	/** Why actions are off (no --allow-actions), else null. */
	readonly readonlyReason: string | null;
	readonly quit: boolean;
	readonly redraws: number;
	/** Lines of the help page (bounds its scrolling; the App counts them, this file draws nothing). */
	readonly helpLines: number;
};

export type FleetUiAction =
	| {readonly type: 'refresh'; readonly states: readonly HostState[]; readonly now: number}
	| {readonly type: 'command'; readonly id: FleetCommandId}
	| {readonly type: 'prompt-text'; readonly text: string}
	| {readonly type: 'dialog-text'; readonly text: string}
	| {readonly type: 'status'; readonly text: string; readonly tone?: FleetStatus['tone']}
	| {readonly type: 'resize'; readonly width: number; readonly height: number}
	| {readonly type: 'dialog'; readonly dialog: FleetDialog | null}
	| {readonly type: 'busy'; readonly text: string}
	| {readonly type: 'action-result'; readonly status: FleetStatus}
	| {readonly type: 'host-closed'};

/** Below this size the screen shows only a "terminal too small" notice. */
export const fleetMinWidth = 60;
export const fleetMinHeight = 12;

export type FleetLayout = {
	readonly tooSmall: boolean;
	/** Patch lines under the patch table's title line. */
	readonly patchRows: number;
	/** Host table body lines (under its column header). */
	readonly tableRows: number;
	/** Body lines of the help page. */
	readonly pageRows: number;
};

/** Title, counts, patch title + rows, table header + rows, status line, footer. */
export function fleetLayout(width: number, height: number, patchCount: number): FleetLayout {
	const maxPatchRows = height >= 40 ? 6 : height >= 30 ? 4 : height >= 20 ? 2 : 1;
	const patchRows = Math.min(Math.max(patchCount, 1), maxPatchRows);
	return {
		tooSmall: width < fleetMinWidth || height < fleetMinHeight,
		patchRows,
		tableRows: Math.max(1, height - (2 + 1 + patchRows + 1 + 2)),
		pageRows: Math.max(1, height - 2 - 3),
	};
}

export function layoutOfFleet(state: FleetUiState): FleetLayout {
	return fleetLayout(state.width, state.height, state.summary.patches.length);
}

export type FleetInit = {
	readonly width: number;
	readonly height: number;
	readonly delayS: number;
	readonly readonlyReason: string | null;
	readonly states: readonly HostState[];
	readonly now: number;
	/** @default 0 */
	readonly helpLines?: number;
};

export function initialFleetState(init: FleetInit): FleetUiState {
	const state: FleetUiState = {
		width: init.width,
		height: init.height,
		delayS: init.delayS,
		states: init.states,
		now: init.now,
		summary: summarize(init.states, init.now),
		view: defaultFleetView,
		rows: [],
		selected: {key: null, index: 0},
		top: 0,
		screen: {kind: 'main'},
		prompt: null,
		search: '',
		paused: false,
		status: null,
		dialog: null,
		busy: null,
		readonlyReason: init.readonlyReason,
		quit: false,
		redraws: 0,
		helpLines: init.helpLines ?? 0,
	};
	return refreshRows(state);
}

export function selectedRow(state: FleetUiState): FleetRow | undefined {
	return state.rows[state.selected.index];
}

export function selectedHost(state: FleetUiState): HostState | null {
	const row = selectedRow(state);
	return row?.kind === 'host' ? row.state : null;
}

export function fleetKeyContext(state: FleetUiState): FleetKeyContext {
	const row = selectedRow(state);
	const host = selectedHost(state);
	const doc = host === null ? null : liveDoc(host);
	const screen = layoutOfFleet(state).tooSmall ? 'too-small' : state.screen.kind === 'help' ? 'help' : 'main';
	return {
		screen,
		prompt: state.prompt?.kind ?? null,
		row: row?.kind ?? null,
		transition: doc?.transition !== null && doc?.transition !== undefined,
		search: state.search !== '',
		readonlyReason: state.readonlyReason,
		dialog: state.dialog === null ? null : state.dialog.kind === 'force' ? 'typed' : 'confirm',
		busy: state.busy !== null,
	};
}

function clamp(value: number, low: number, high: number): number {
	return Math.max(low, Math.min(high, value));
}

function scrollTo(state: FleetUiState): FleetUiState {
	const page = layoutOfFleet(state).tableRows;
	let top = state.top;
	const i = state.selected.index;
	if (i < top) top = i;
	if (i >= top + page) top = i - page + 1;
	top = clamp(top, 0, Math.max(0, state.rows.length - page));
	return top === state.top ? state : {...state, top};
}

function selectIndex(state: FleetUiState, index: number): FleetUiState {
	if (state.rows.length === 0) return {...state, selected: {key: null, index: 0}, top: 0};
	const i = clamp(index, 0, state.rows.length - 1);
	return scrollTo({...state, selected: {key: state.rows[i]!.key, index: i}});
}

function refreshRows(state: FleetUiState): FleetUiState {
	const rows = fleetRows(state.states, state.view, state.now);
	const {key} = state.selected;
	const index = key === null ? -1 : rows.findIndex((row) => row.key === key);
	const next = {...state, rows};
	return index >= 0 ? scrollTo({...next, selected: {key, index}}) : selectIndex(next, state.selected.index);
}

function withView(state: FleetUiState, view: Partial<FleetView>, status?: string): FleetUiState {
	const next = refreshRows({...state, view: {...state.view, ...view}});
	return status === undefined ? next : {...next, status: {text: status, tone: 'info'}};
}

function rowText(row: FleetRow): string {
	return row.kind === 'host' ? hostText(row.state) : row.label.toLowerCase();
}

function searchFrom(state: FleetUiState, needle: string, start: number, direction: 1 | -1): number {
	const count = state.rows.length;
	const lower = needle.toLowerCase();
	for (let step = 0; step < count; step++) {
		const i = (((start + direction * step) % count) + count) % count;
		if (rowText(state.rows[i]!).includes(lower)) return i;
	}

	return -1;
}

function promptText(state: FleetUiState, text: string): FleetUiState {
	const {prompt} = state;
	if (prompt === null) return state;
	// Bounded, like any typed text.
	const bounded = [...text].slice(0, 256).join('');
	if (prompt.kind === 'search') {
		const next = {...state, prompt: {...prompt, text: bounded}};
		if (bounded === '') return selectIndex(next, prompt.originIndex);
		const i = searchFrom(next, bounded, prompt.originIndex, 1);
		return i < 0
			? {...next, status: {text: `no host matches '${bounded}'`, tone: 'warn'}}
			: selectIndex({...next, status: null}, i);
	}

	return withView({...state, prompt: {...prompt, text: bounded}}, {filter: bounded});
}

function runCommand(state: FleetUiState, id: FleetCommandId): FleetUiState {
	const layout = layoutOfFleet(state);
	const page = state.screen.kind === 'help' ? layout.pageRows : layout.tableRows;
	const maxScroll = Math.max(0, state.helpLines - layout.pageRows);
	const move = (delta: number) =>
		state.screen.kind === 'help'
			? {...state, screen: {kind: 'help' as const, scroll: clamp(state.screen.scroll + delta, 0, maxScroll)}}
			: selectIndex(state, state.selected.index + delta);
	switch (id) {
		case 'quit':
			return {...state, quit: true};
		case 'redraw':
			return {...state, redraws: state.redraws + 1};
		case 'help':
			return {...state, screen: {kind: 'help', scroll: 0}};
		case 'back': {
			if (state.screen.kind !== 'main') return {...state, screen: {kind: 'main'}};
			if (state.view.filter !== '' || state.search !== '') {
				return {
					...withView(state, {filter: ''}),
					search: '',
					status: {text: 'filter and search cleared', tone: 'info'},
				};
			}

			return state;
		}

		case 'pause':
			return {
				...state,
				paused: !state.paused,
				status: {
					text: state.paused ? 'live again' : 'frozen: Z or p goes live again (the streams keep running)',
					tone: 'info',
				},
			};
		case 'up':
			return move(-1);
		case 'down':
			return move(1);
		case 'page-up':
			return move(-page);
		case 'page-down':
			return move(page);
		case 'home':
			return state.screen.kind === 'help'
				? {...state, screen: {kind: 'help', scroll: 0}}
				: selectIndex(state, 0);
		case 'end':
			return state.screen.kind === 'help' ? move(10_000) : selectIndex(state, state.rows.length - 1);
		case 'open-host': {
			const host = selectedHost(state);
			if (host === null) return state;
			if (host.doc === null) {
				return {
					...state,
					status: {
						text: `${clean(host.host.name)}: no document yet (${host.status}), nothing to show`,
						tone: 'warn',
					},
				};
			}

			if (!host.doc.kernel.livepatch) {
				return {
					...state,
					status: {
						text: `${clean(host.host.name)} has no livepatch support: nothing more to show`,
						tone: 'info',
					},
				};
			}

			return {...state, screen: {kind: 'host', name: host.host.name}};
		}

		case 'toggle-group': {
			const row = selectedRow(state);
			if (row?.kind !== 'group') return state;
			const expanded = new Set(state.view.expanded);
			if (expanded.has(row.key)) expanded.delete(row.key);
			else expanded.add(row.key);
			return withView(state, {expanded});
		}

		case 'search':
			return {...state, prompt: {kind: 'search', text: '', originIndex: state.selected.index}};
		case 'filter':
			return {...state, prompt: {kind: 'filter', text: state.view.filter, previous: state.view.filter}};
		case 'search-next':
		case 'search-prev': {
			const direction = id === 'search-next' ? 1 : -1;
			const i = searchFrom(state, state.search, state.selected.index + direction, direction);
			return i < 0
				? {...state, status: {text: `no host matches '${state.search}'`, tone: 'warn'}}
				: selectIndex(state, i);
		}

		case 'sort-left':
		case 'sort-right': {
			const at = fleetColumnIds.indexOf(state.view.sort.column);
			const n = fleetColumnIds.length;
			const column = fleetColumnIds[(at + (id === 'sort-right' ? 1 : n - 1)) % n]!;
			// Names read best A to Z; figures and the state worst first.
			const descending =
				column !== 'host' && column !== 'kernel' && column !== 'function' && column !== 'state';
			return withView(state, {sort: {column, descending}}, `sorted by ${columnTitles[column]}`);
		}

		case 'sort-invert':
			return withView(
				state,
				{sort: {...state.view.sort, descending: !state.view.sort.descending}},
				'sort order inverted',
			);
		case 'cycle-group': {
			const at = fleetGroupModes.indexOf(state.view.group);
			const group = fleetGroupModes[(at + 1) % fleetGroupModes.length]!;
			return withView(
				state,
				{group},
				group === 'none'
					? 'one row per host'
					: `grouped by ${group === 'function' ? 'blocking function' : group === 'kernel' ? 'kernel release' : 'patch'} (Enter opens a group)`,
			);
		}

		case 'dialog-cancel':
			return {...state, dialog: null, status: {text: 'cancelled: nothing was done', tone: 'info'}};
		case 'dialog-backspace': {
			const {dialog} = state;
			if (dialog?.kind !== 'force') return state;
			return {...state, dialog: {...dialog, typed: [...dialog.typed].slice(0, -1).join('')}};
		}

		case 'prompt-confirm': {
			const {prompt} = state;
			if (prompt === null) return state;
			if (prompt.kind === 'search') return {...state, prompt: null, search: prompt.text};
			return {...withView(state, {filter: prompt.text}), prompt: null};
		}

		case 'prompt-cancel': {
			const {prompt} = state;
			if (prompt === null) return state;
			if (prompt.kind === 'search') return selectIndex({...state, prompt: null}, prompt.originIndex);
			return {...withView(state, {filter: prompt.previous}), prompt: null};
		}

		case 'prompt-backspace': {
			const {prompt} = state;
			if (prompt === null) return state;
			return promptText(state, [...prompt.text].slice(0, -1).join(''));
		}

		// Requests: the App plans and runs them (they read hosts and act over ssh).
		case 'nudge':
		case 'reverse':
		case 'force':
		case 'dialog-confirm':
		case 'dialog-submit':
			return state;
	}
}

export function reduceFleet(state: FleetUiState, action: FleetUiAction): FleetUiState {
	switch (action.type) {
		case 'refresh':
			return state.paused
				? state
				: refreshRows({
						...state,
						states: action.states,
						now: action.now,
						summary: summarize(action.states, action.now),
					});
		case 'command': {
			// A new key press replaces the last message (as on the host dashboard).
			const cleared = action.id === 'redraw' ? state : {...state, status: null};
			return runCommand(cleared, action.id);
		}

		case 'prompt-text':
			return state.prompt === null ? state : promptText(state, state.prompt.text + action.text);
		case 'dialog-text': {
			const {dialog} = state;
			if (dialog?.kind !== 'force') return state;
			return {...state, dialog: {...dialog, typed: (dialog.typed + action.text).slice(0, 256)}};
		}

		case 'status':
			return {...state, status: {text: action.text, tone: action.tone ?? 'info'}};
		case 'resize':
			if (action.width === state.width && action.height === state.height) return state;
			return scrollTo({...state, width: action.width, height: action.height, redraws: state.redraws + 1});
		case 'dialog':
			return {...state, dialog: action.dialog};
		case 'busy':
			return {...state, dialog: null, busy: action.text, status: {text: action.text, tone: 'info'}};
		case 'action-result':
			return {...state, busy: null, status: action.status};
		case 'host-closed':
			return {...state, screen: {kind: 'main'}, redraws: state.redraws + 1};
	}
}

/** A key's effect: a reducer action, a request the App carries out, or nothing. */
export type FleetKeyEffect = FleetUiAction | {readonly type: 'request'; readonly id: FleetCommandId};

export function fleetKeyEffect(name: string, state: FleetUiState): FleetKeyEffect | null {
	const ctx = fleetKeyContext(state);
	if (ctx.prompt !== null && isPrintable(name))
		return {type: 'prompt-text', text: name === 'space' ? ' ' : name};
	if (ctx.dialog === 'typed' && isPrintable(name))
		return {type: 'dialog-text', text: name === 'space' ? ' ' : name};
	const binding = matchKey(name, ctx, fleetKeymap);
	if (binding === null) return null;
	const refused = binding.disabled?.(ctx) ?? null;
	if (refused !== null) return {type: 'status', text: refused, tone: 'warn'};
	if (['nudge', 'reverse', 'force', 'dialog-confirm', 'dialog-submit'].includes(binding.id)) {
		return {type: 'request', id: binding.id};
	}

	return {type: 'command', id: binding.id};
}
