/**
The dashboard's state and its pure reducer: everything the screen shows is a function of this
state, and every key press, poll result and resize is an action folded into it. Tested without
rendering (the shape of Ink's snake example and gemini-cli's `shellReducer`). This folder imports
no view: views import its types, the App (`source/ui`) wires both.

Selection is by identity, never by row index: a thread is `tid:starttime` (so a recycled TID is a
different row), a process `p:tgid`, a group `g:...`, a patch its name. After each refresh the
selected key is looked up again in the new rows; only when it is gone does the selection fall back
to the row now at its old position (htop does the same).
*/
import type {Blocker, History, HistoryEvent, ThreadInfo} from '../model/types.js';
import {blockerKey, threadOfKey} from '../model/types.js';
import {stuckSeconds} from '../model/history.js';
import type {NudgePlan, PatchActionPlan} from '../actions/index.js';
import type {CommandId, KeyContext, Pane} from '../keymap.js';
import {computeLayout} from './layout.js';
import {replayCommand, replayTick} from './replay.js';
import type {ReplayPosition} from './replay.js';
import type {Layout} from './layout.js';
import {columnIds, defaultViewOptions, deriveRows} from './rows.js';
import {listOf} from './row-model.js';
import type {GroupMode, RowList, ViewOptions} from './rows.js';

export type Prompt =
	| {
			readonly kind: 'search';
			readonly text: string;
			/** Where the selection was when the search opened; Esc goes back there. */
			readonly originKey: string | null;
			readonly originIndex: number;
	  }
	| {readonly kind: 'filter'; readonly text: string; readonly previous: string};

export type Screen =
	| {readonly kind: 'main'}
	| {readonly kind: 'help'; readonly scroll: number}
	| {readonly kind: 'task-detail'; readonly key: string; readonly scroll: number}
	| {readonly kind: 'patch-detail'; readonly name: string; readonly menu: number};

/** What the task detail shows: refreshed on every poll while the thread is still there. */
export type Detail = {
	readonly key: string;
	readonly blocker: Blocker | null;
	readonly thread: ThreadInfo;
	readonly stuckS: number | null;
	/** Time (ms) of the first poll that no longer listed it as a blocker, null while it blocks. */
	readonly goneAt: number | null;
};

/** The confirmation dialog of an action (drawn by `views/action-dialog.tsx`). */
export type DialogModel =
	| {readonly kind: 'nudge'; readonly plan: NudgePlan}
	| {readonly kind: 'patch'; readonly plan: PatchActionPlan; readonly typed: string};

/**
How many lines the full-page views (help, task detail) have, to bound their scrolling. The views
know (they build the lines); the App hands their counting in through `createReducer`, so this folder
imports no view.
*/
export type PageMeasure = {
	readonly helpLines: (context: KeyContext) => number;
	readonly detailLines: (detail: Detail, history: History | null, width: number) => number;
};

export type Status = {readonly text: string; readonly tone: 'info' | 'warn' | 'error'};

export type UiState = {
	readonly history: History | null;
	readonly width: number;
	readonly height: number;
	readonly screen: Screen;
	readonly prompt: Prompt | null;
	readonly focus: Pane;
	readonly view: ViewOptions;
	/** Group rows whose members are shown. */
	readonly expanded: ReadonlySet<string>;
	/**
	Derived from history + view + expanded; recomputed only when one of them changes. A list that
	makes a row when it is asked for one (the all-threads view holds 100,000).
	*/
	readonly rows: RowList;
	readonly selected: {readonly key: string | null; readonly index: number};
	/** First task-table row on screen. */
	readonly top: number;
	/** Selected patch (by name). */
	readonly patch: string | null;
	/** Events scrolled back from the newest (0: the newest line is at the bottom). */
	readonly logScroll: number;
	readonly search: string;
	readonly tagged: ReadonlySet<string>;
	readonly paused: boolean;
	readonly delayS: number;
	readonly readonlyReason: string | null;
	/** The source has no livepatch support (or there is no source): show the notice and offer the emulator. */
	readonly noLivepatch: boolean;
	readonly status: Status | null;
	/** Last scan error, shown until a scan succeeds (htop's `failedUpdate`). */
	readonly scanError: string | null;
	readonly detail: Detail | null;
	/** Incremented by Ctrl-L and resizes: the App clears the terminal and redraws everything. */
	readonly redraws: number;
	readonly quit: boolean;
	/** Incremented when the next poll should happen right away (e.g. all-threads just switched on). */
	readonly pollNow: number;
	/** The confirmation dialog of an action (planned by the App, which also carries it out). */
	readonly dialog: DialogModel | null;
	/** What is running right now ("nudging pid 182..."), null when idle. */
	readonly busy: string | null;
	/** Actions, their results and recoveries: shown in the event log with the history's events. */
	readonly actionEvents: readonly HistoryEvent[];
	/** Replaying a recording: the poll on screen and the playback; null for a live source. */
	readonly replay: ReplayPosition | null;
};

export type UiAction =
	| {readonly type: 'history'; readonly history: History}
	| {readonly type: 'scan-failed'; readonly message: string}
	| {readonly type: 'command'; readonly id: CommandId}
	| {readonly type: 'prompt-text'; readonly text: string}
	| {readonly type: 'status'; readonly text: string; readonly tone?: Status['tone']}
	| {readonly type: 'resize'; readonly width: number; readonly height: number}
	| {readonly type: 'feed-opened'; readonly readonlyReason?: string | null}
	| {readonly type: 'dialog'; readonly dialog: DialogModel | null; readonly status?: Status | null}
	| {readonly type: 'dialog-text'; readonly text: string}
	| {readonly type: 'busy'; readonly text: string}
	/** The replay's play timer: one recorded poll on. */
	| {readonly type: 'replay-tick'}
	| {
			readonly type: 'action-result';
			readonly status: Status | null;
			readonly events: readonly HistoryEvent[];
	  };

export type InitOptions = {
	readonly width: number;
	readonly height: number;
	readonly delayS: number;
	readonly readonlyReason: string | null;
	readonly pids: readonly number[] | null;
	readonly tids: readonly number[] | null;
	/** No feed at all (the host has no /sys/kernel/livepatch). */
	readonly noFeed?: boolean;
	/** Replaying a recording: where it starts. */
	readonly replay?: ReplayPosition | null;
};

export function initialState(options: InitOptions): UiState {
	return {
		history: null,
		width: options.width,
		height: options.height,
		screen: {kind: 'main'},
		prompt: null,
		focus: 'tasks',
		view: {...defaultViewOptions, pids: options.pids, tids: options.tids},
		expanded: new Set(),
		rows: listOf([]),
		selected: {key: null, index: 0},
		top: 0,
		patch: null,
		logScroll: 0,
		search: '',
		tagged: new Set(),
		paused: false,
		delayS: options.delayS,
		readonlyReason: options.readonlyReason,
		noLivepatch: options.noFeed ?? false,
		status: null,
		scanError: null,
		detail: null,
		redraws: 0,
		quit: false,
		pollNow: 0,
		dialog: null,
		busy: null,
		actionEvents: [],
		replay: options.replay ?? null,
	};
}

export function layoutOf(state: UiState): Layout {
	return computeLayout(
		state.width,
		state.height,
		state.history?.snapshot.patches.length ?? 0,
		(state.history?.timeline ?? null) !== null,
	);
}

/** Which keys a dialog takes: a nudge that would signal nothing only lists its refusals (no `y`). */
function dialogKeys(dialog: DialogModel | null): KeyContext['dialog'] {
	if (dialog === null) return null;
	if (dialog.kind === 'nudge') return dialog.plan.groups.length === 0 ? 'notice' : 'confirm';
	return dialog.plan.confirmation === 'typed-name' ? 'typed' : 'confirm';
}

/** The key map's view of the state. */
export function keyContext(state: UiState): KeyContext {
	const layout = layoutOf(state);
	const row = state.rows.at(state.selected.index);
	const screen = layout.tooSmall ? 'too-small' : state.noLivepatch ? 'no-livepatch' : state.screen.kind;
	return {
		screen,
		prompt: state.prompt?.kind ?? null,
		focus: state.focus,
		row: row === undefined ? null : row.kind,
		patch: state.patch !== null,
		transition: (state.history?.snapshot.transition ?? null) !== null,
		search: state.search !== '',
		readonlyReason: state.readonlyReason,
		dialog: dialogKeys(state.dialog),
		busy: state.busy !== null,
		replay: state.replay !== null,
	};
}

/** Ladder of refresh intervals for `+` / `-` (seconds). */
export const delaySteps = [0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;

function stepDelay(delay: number, direction: 1 | -1): number {
	if (direction === 1) {
		return delaySteps.find((step) => step > delay + 1e-9) ?? delay;
	}

	return [...delaySteps].reverse().find((step) => step < delay - 1e-9) ?? delay;
}

const groupCycle: readonly GroupMode[] = ['none', 'function', 'process'];
const panes: readonly Pane[] = ['patches', 'tasks', 'log'];

function clamp(value: number, low: number, high: number): number {
	return Math.max(low, Math.min(high, value));
}

/** Put the selection at `index` (clamped) and scroll so it is visible. */
function selectIndex(state: UiState, index: number): UiState {
	const count = state.rows.length;
	if (count === 0) {
		return {...state, selected: {key: null, index: 0}, top: 0};
	}

	const i = clamp(index, 0, count - 1);
	return scrollTo({...state, selected: {key: state.rows.at(i)!.key, index: i}});
}

/** Adjust `top` so the selected row is on screen and no empty space is left below the last row. */
function scrollTo(state: UiState): UiState {
	const page = layoutOf(state).tableRows;
	const count = state.rows.length;
	let top = state.top;
	const i = state.selected.index;
	if (i < top) top = i;
	if (i >= top + page) top = i - page + 1;
	top = clamp(top, 0, Math.max(0, count - page));
	return top === state.top ? state : {...state, top};
}

/** Recompute the rows (after new history or a view change) and find the selection again by key. */
function refreshRows(state: UiState): UiState {
	const rows = deriveRows(state.history, state.view, state.expanded);
	const {key} = state.selected;
	const index = key === null ? -1 : rows.indexOfKey(key);

	const next = {...state, rows};
	if (index >= 0) {
		return scrollTo({...next, selected: {key, index}});
	}

	// The selected row is gone (switched, exited, filtered out): take its neighbour at the same place.
	return selectIndex(next, state.selected.index);
}

function findBlocker(history: History, key: string): Blocker | null {
	for (const blocker of history.snapshot.blockers) {
		if (blockerKey(blocker) === key) {
			return blocker;
		}
	}

	return null;
}

function findThread(history: History, key: string): ThreadInfo | null {
	return threadOfKey(history.snapshot, key);
}

function refreshDetail(state: UiState): UiState {
	const {detail, history} = state;
	if (detail === null || history === null) {
		return state;
	}

	const blocker = findBlocker(history, detail.key);
	if (blocker !== null) {
		const stuckS = stuckSeconds(history, detail.key);
		return {...state, detail: {key: detail.key, blocker, thread: blocker, stuckS, goneAt: null}};
	}

	const thread = findThread(history, detail.key);
	return {
		...state,
		detail: {
			...detail,
			thread: thread ?? detail.thread,
			goneAt: detail.goneAt ?? (detail.blocker === null ? null : history.snapshot.time),
		},
	};
}

/** The history's events and the actions' results, in time order (both are already sorted). */
function mergeEvents(
	history: readonly HistoryEvent[],
	actions: readonly HistoryEvent[],
): readonly HistoryEvent[] {
	if (actions.length === 0) return history;
	const out: HistoryEvent[] = [];
	let j = 0;
	for (const event of history) {
		while (j < actions.length && actions[j]!.time <= event.time) out.push(actions[j++]!);
		out.push(event);
	}

	while (j < actions.length) out.push(actions[j++]!);
	return out;
}

/** What the event log shows: the history's events and the actions' results. */
export function logEvents(state: Pick<UiState, 'history' | 'actionEvents'>): readonly HistoryEvent[] {
	return mergeEvents(state.history?.events ?? [], state.actionEvents);
}

/**
The log's scroll offset (events back from the newest) once its events go from `state`'s to `next`'s:
a log scrolled back keeps the same event at the bottom of its view, whether events were
added at the end, merged in between (actions) or dropped from the front (the history keeps the
last 500). An event that has been dropped leaves the view at the oldest one left.
*/
function keepLogPosition(state: UiState, next: Pick<UiState, 'history' | 'actionEvents'>): number {
	const scroll = state.logScroll;
	// Following the newest event: nothing to keep (and no list to build).
	if (scroll === 0) return 0;
	const before = logEvents(state);
	const after = logEvents(next);
	const maxScroll = Math.max(0, after.length - layoutOf(state).logRows);
	const bottom = before[before.length - 1 - scroll];
	const at = bottom === undefined ? -1 : after.lastIndexOf(bottom);
	return at < 0 ? maxScroll : clamp(after.length - 1 - at, 0, maxScroll);
}

function onHistory(state: UiState, history: History): UiState {
	const patches = history.snapshot.patches;
	const patch = patches.some((candidate) => candidate.name === state.patch)
		? state.patch
		: (patches[0]?.name ?? null);
	const noLivepatch = !history.snapshot.kernel.livepatch;
	// Keep the log view still while scrolled back.
	const logScroll = keepLogPosition(state, {history, actionEvents: state.actionEvents});
	let next: UiState = {...state, history, patch, noLivepatch, scanError: null, logScroll};
	next = refreshRows(next);
	next = refreshDetail(next);
	if (
		next.screen.kind === 'patch-detail' &&
		!patches.some((p) => p.name === (next.screen as {name: string}).name)
	) {
		next = {...next, status: {text: 'the patch is gone (unpatched and removed)', tone: 'info'}};
	}

	return next;
}

function withView(state: UiState, view: Partial<ViewOptions>, status?: string): UiState {
	const next = refreshRows({...state, view: {...state.view, ...view}});
	return status === undefined ? next : {...next, status: {text: status, tone: 'info'}};
}

function searchFrom(state: UiState, needle: string, start: number, direction: 1 | -1): number {
	return state.rows.search(needle.toLowerCase(), start, direction);
}

function moveBy(state: UiState, delta: number, measure: PageMeasure): UiState {
	const layout = layoutOf(state);
	switch (state.screen.kind) {
		case 'help':
		case 'task-detail': {
			const max = Math.max(0, contentRows(state, measure) - layout.pageRows);
			return {...state, screen: {...state.screen, scroll: clamp(state.screen.scroll + delta, 0, max)}};
		}

		case 'patch-detail': {
			const menu = clamp(state.screen.menu + Math.sign(delta), 0, 3);
			return {...state, screen: {...state.screen, menu}};
		}

		case 'main': {
			break;
		}
	}

	if (state.focus === 'patches') {
		const patches = state.history?.snapshot.patches ?? [];
		if (patches.length === 0) return state;
		const current = Math.max(
			0,
			patches.findIndex((patch) => patch.name === state.patch),
		);
		const i = clamp(current + delta, 0, patches.length - 1);
		return {...state, patch: patches[i]!.name};
	}

	if (state.focus === 'log') {
		const maxScroll = Math.max(0, logEvents(state).length - layout.logRows);
		// Up (negative delta) goes back in time.
		return {...state, logScroll: clamp(state.logScroll - delta, 0, maxScroll)};
	}

	return selectIndex(state, state.selected.index + delta);
}

/** Lines of the full view on screen (help, task detail), to bound its scrolling. */
function contentRows(state: UiState, measure: PageMeasure): number {
	if (state.screen.kind === 'help') return measure.helpLines({...keyContext(state), screen: 'main'});
	if (state.screen.kind === 'task-detail' && state.detail !== null) {
		return measure.detailLines(state.detail, state.history, state.width);
	}

	return 0;
}

function runCommand(state: UiState, id: CommandId, measure: PageMeasure): UiState {
	const layout = layoutOf(state);
	const page =
		state.screen.kind === 'main'
			? state.focus === 'log'
				? layout.logRows
				: layout.tableRows
			: layout.pageRows;
	switch (id) {
		case 'quit':
			return {...state, quit: true};
		case 'redraw':
			return {...state, redraws: state.redraws + 1};
		case 'help':
			return {...state, screen: {kind: 'help', scroll: 0}};
		case 'back': {
			if (state.screen.kind !== 'main') {
				return {...state, screen: {kind: 'main'}, detail: null};
			}

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
				status: {text: state.paused ? 'refreshing again' : 'paused: Z or p resumes', tone: 'info'},
			};
		case 'slower':
		case 'faster': {
			const delayS = stepDelay(state.delayS, id === 'slower' ? 1 : -1);
			return {...state, delayS, status: {text: `refresh every ${delayS} s`, tone: 'info'}};
		}

		case 'up':
			return moveBy(state, -1, measure);
		case 'down':
			return moveBy(state, 1, measure);
		case 'page-up':
			return moveBy(state, -page, measure);
		case 'page-down':
			return moveBy(state, page, measure);
		case 'home':
			if (state.screen.kind === 'main' && state.focus === 'tasks') return selectIndex(state, 0);
			return moveBy(state, -1e9, measure);
		case 'end':
			if (state.screen.kind === 'main' && state.focus === 'tasks')
				return selectIndex(state, state.rows.length - 1);
			return moveBy(state, 1e9, measure);
		case 'next-pane':
		case 'prev-pane': {
			const i = panes.indexOf(state.focus);
			const focus = panes[(i + (id === 'next-pane' ? 1 : panes.length - 1)) % panes.length]!;
			return {...state, focus};
		}

		case 'open-detail': {
			if (state.focus === 'patches') {
				return state.patch === null
					? state
					: {...state, screen: {kind: 'patch-detail', name: state.patch, menu: 0}};
			}

			const row = state.rows.at(state.selected.index);
			if (row === undefined || row.threadKey === null) return state;
			const key = row.threadKey;
			const blocker = row.blocker;
			const thread: ThreadInfo = blocker ?? {
				tid: row.tid,
				tgid: row.tgid,
				comm: row.comm,
				state: row.state,
				ppid: 0,
				flags: 0,
				kthread: row.kthread,
				starttime: row.starttime,
				patchState: row.patchState,
				uid: row.uid,
			};
			return refreshDetail({
				...state,
				screen: {kind: 'task-detail', key, scroll: 0},
				detail: {key, blocker, thread, stuckS: row.stuckS, goneAt: null},
			});
		}

		case 'toggle-group': {
			const row = state.rows.at(state.selected.index);
			if (row === undefined || row.kind !== 'group') return state;
			const expanded = new Set(state.expanded);
			if (expanded.has(row.key)) expanded.delete(row.key);
			else expanded.add(row.key);
			return refreshRows({...state, expanded});
		}

		case 'search':
			return {
				...state,
				prompt: {kind: 'search', text: '', originKey: state.selected.key, originIndex: state.selected.index},
			};
		case 'filter':
			return {...state, prompt: {kind: 'filter', text: state.view.filter, previous: state.view.filter}};
		case 'search-next':
		case 'search-prev': {
			const direction = id === 'search-next' ? 1 : -1;
			const i = searchFrom(state, state.search, state.selected.index + direction, direction);
			if (i < 0) return {...state, status: {text: `no match for '${state.search}'`, tone: 'warn'}};
			return selectIndex(state, i);
		}

		case 'sort-left':
		case 'sort-right': {
			const i = columnIds.indexOf(state.view.sort.column);
			const column = columnIds[clamp(i + (id === 'sort-right' ? 1 : -1), 0, columnIds.length - 1)]!;
			// Numbers and times read best largest first; names alphabetically.
			const descending = column === 'stuck' || column === 'class' || column === 'patch';
			return withView(state, {sort: {column, descending}});
		}

		case 'sort-invert':
			return withView(state, {sort: {...state.view.sort, descending: !state.view.sort.descending}});
		case 'toggle-all': {
			const showAll = !state.view.showAll;
			const next = withView(
				state,
				{showAll},
				showAll ? 'all threads (patch_state of each)' : 'only the threads blocking the transition',
			);
			return showAll ? {...next, pollNow: next.pollNow + 1} : next;
		}

		case 'cycle-group': {
			const group = groupCycle[(groupCycle.indexOf(state.view.group) + 1) % groupCycle.length]!;
			const words = {
				none: 'no grouping',
				function: 'grouped by patched function (Enter expands)',
				process: 'grouped by process (Enter expands)',
			};
			return withView(state, {group}, words[group]);
		}

		case 'toggle-kthreads': {
			const hideKthreads = !state.view.hideKthreads;
			return withView(state, {hideKthreads}, hideKthreads ? 'kernel threads hidden' : 'kernel threads shown');
		}

		case 'toggle-processes': {
			const processes = !state.view.processes;
			return withView(state, {processes}, processes ? 'one row per process' : 'one row per thread');
		}

		case 'tag': {
			const row = state.rows.at(state.selected.index);
			if (row === undefined || row.kind === 'group') return state;
			const tagged = new Set(state.tagged);
			if (tagged.has(row.key)) tagged.delete(row.key);
			else tagged.add(row.key);
			// Like htop: tagging moves down so Space Space Space tags a run of rows.
			return selectIndex({...state, tagged}, state.selected.index + 1);
		}

		case 'untag-all':
			return {...state, tagged: new Set(), status: {text: 'all tags cleared', tone: 'info'}};
		case 'dialog-cancel':
			return state.dialog === null
				? state
				: {...state, dialog: null, status: {text: 'cancelled: nothing was done', tone: 'info'}};
		case 'dialog-backspace': {
			const {dialog} = state;
			if (dialog?.kind !== 'patch') return state;
			return {...state, dialog: {...dialog, typed: [...dialog.typed].slice(0, -1).join('')}};
		}

		case 'open-emulator':
			return {...state, status: {text: 'opening the emulator...', tone: 'info'}};
		case 'prompt-confirm': {
			const {prompt} = state;
			if (prompt === null) return state;
			if (prompt.kind === 'search') {
				return {...state, prompt: null, search: prompt.text};
			}

			return {...withView(state, {filter: prompt.text}), prompt: null};
		}

		case 'prompt-cancel': {
			const {prompt} = state;
			if (prompt === null) return state;
			if (prompt.kind === 'search') {
				const back = prompt.originKey === null ? -1 : state.rows.indexOfKey(prompt.originKey);
				return selectIndex({...state, prompt: null}, back >= 0 ? back : prompt.originIndex);
			}

			return {...withView(state, {filter: prompt.previous}), prompt: null};
		}

		case 'prompt-backspace': {
			const {prompt} = state;
			if (prompt === null) return state;
			return promptText(state, [...prompt.text].slice(0, -1).join(''));
		}

		case 'replay-play':
		case 'replay-back':
		case 'replay-forward':
		case 'replay-previous-event':
		case 'replay-next-event':
		case 'replay-faster':
		case 'replay-slower': {
			const moved = state.replay === null ? null : replayCommand(state.replay, id);
			return moved === null
				? state
				: {...state, replay: moved.position, status: {text: moved.status, tone: 'info'}};
		}

		// Action requests (nudge, reverse, force, ..., dialog-confirm) never reach the reducer: the key
		// map yields them to the action runner (`ui/act.ts`); only their results come back here.
		default:
			return state;
	}
}

/** The prompt's text changed: search jumps to the first match from where it started; filter applies live. */
function promptText(state: UiState, text: string): UiState {
	const {prompt} = state;
	if (prompt === null) return state;
	if (prompt.kind === 'search') {
		const next = {...state, prompt: {...prompt, text}};
		if (text === '') return selectIndex(next, prompt.originIndex);
		const i = searchFrom(next, text, prompt.originIndex, 1);
		return i < 0
			? {...next, status: {text: `no match for '${text}'`, tone: 'warn'}}
			: selectIndex({...next, status: null}, i);
	}

	return withView({...state, prompt: {...prompt, text}}, {filter: text});
}

/** The reducer, with the views' line counts (see `PageMeasure`). */
export function createReducer(measure: PageMeasure): (state: UiState, action: UiAction) => UiState {
	return (state, action) => reduce(state, action, measure);
}

function reduce(state: UiState, action: UiAction, measure: PageMeasure): UiState {
	switch (action.type) {
		case 'history':
			return onHistory(state, action.history);
		case 'scan-failed':
			return {...state, scanError: action.message};
		case 'status':
			return {...state, status: {text: action.text, tone: action.tone ?? 'info'}};
		case 'resize': {
			if (action.width === state.width && action.height === state.height) return state;
			return scrollTo({...state, width: action.width, height: action.height, redraws: state.redraws + 1});
		}

		case 'feed-opened':
			return {
				...state,
				noLivepatch: false,
				history: null,
				rows: listOf([]),
				selected: {key: null, index: 0},
				top: 0,
				readonlyReason: action.readonlyReason === undefined ? state.readonlyReason : action.readonlyReason,
			};
		case 'dialog':
			return {...state, dialog: action.dialog, status: action.status ?? null};
		case 'dialog-text': {
			const {dialog} = state;
			if (dialog?.kind !== 'patch') return state;
			// Bounded: a patch name is short; a paste of a novel is not a confirmation.
			return {...state, dialog: {...dialog, typed: (dialog.typed + action.text).slice(0, 256)}};
		}

		case 'busy':
			return {...state, dialog: null, busy: action.text, status: {text: action.text, tone: 'info'}};
		case 'replay-tick':
			return state.replay === null ? state : {...state, replay: replayTick(state.replay)};
		case 'action-result': {
			const actionEvents = [...state.actionEvents, ...action.events].slice(-500);
			return {
				...state,
				busy: null,
				status: action.status ?? state.status,
				actionEvents,
				logScroll: keepLogPosition(state, {history: state.history, actionEvents}),
			};
		}
		case 'prompt-text':
			return state.prompt === null ? state : promptText(state, state.prompt.text + action.text);
		case 'command': {
			// A new key press replaces the last message (htop's function bar behaves the same).
			const cleared = action.id === 'redraw' ? state : {...state, status: null};
			return runCommand(cleared, action.id, measure);
		}
	}
}
