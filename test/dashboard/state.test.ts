// The dashboard's reducer, tested without rendering: selection by identity across refreshes,
// sort, filter, search, grouping, toggles, detail views and the reserved actions.
import {describe, expect, it} from 'vitest';
import type {CommandId} from '../../source/keymap.js';
import type {History, HistoryEvent} from '../../source/model/types.js';
import {initialState, keyContext, layoutOf, logEvents} from '../../source/dashboard/state.js';
import {reduce} from '../../source/ui/reducer.js';
import {toArray} from '../../source/dashboard/row-model.js';
import type {UiAction, UiState} from '../../source/dashboard/state.js';
import {blocker, historyOf, manyBlockers, patch, snapshot, t0, thread} from '../ui/fixtures.js';

function start(over: Partial<Parameters<typeof initialState>[0]> = {}): UiState {
	return initialState({
		width: 120,
		height: 40,
		delayS: 1,
		readonlyReason: null,
		pids: null,
		tids: null,
		...over,
	});
}

function run(state: UiState, ...actions: Array<UiAction | CommandId>): UiState {
	return actions.reduce<UiState>(
		(current, action) => reduce(current, typeof action === 'string' ? {type: 'command', id: action} : action),
		state,
	);
}

const withHistory = (history: History): UiAction => ({type: 'history', history});
const typed = (text: string): UiAction => ({type: 'prompt-text', text});
const rowsOf = (state: UiState) => toArray(state.rows);
const tids = (state: UiState) => rowsOf(state).map((row) => row.tid);
const selectedTid = (state: UiState) => rowsOf(state)[state.selected.index]?.tid;

describe('selection follows the thread, not the row index', () => {
	it('keeps the same thread selected when new rows push it down', () => {
		const a = blocker(500, {comm: 'a'});
		const b = blocker(600, {comm: 'b'});
		const first = historyOf(snapshot({time: t0, blockers: [a, b]}));
		let state = run(
			start(),
			withHistory(first),
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
		);
		expect(state.view.sort).toEqual({column: 'tid', descending: false});
		state = run(state, 'down');
		expect(selectedTid(state)).toBe(600);
		expect(state.selected.index).toBe(1);

		// Two new blockers with smaller TIDs sort above it.
		const second = historyOf(
			snapshot({time: t0, blockers: [a, b]}),
			snapshot({time: t0 + 1000, blockers: [blocker(100), blocker(200), a, b]}),
		);
		state = run(state, withHistory(second));
		expect(tids(state)).toEqual([100, 200, 500, 600]);
		expect(selectedTid(state)).toBe(600);
		expect(state.selected.index).toBe(3);
	});

	it('does not mistake a recycled TID (new start time) for the selected thread', () => {
		const old = blocker(600, {starttime: 1});
		let state = run(start(), withHistory(historyOf(snapshot({blockers: [blocker(100), old]}))));
		state = run(state, 'end');
		expect(state.selected.key).toBe('600:1');
		const recycled = blocker(600, {starttime: 99});
		state = run(state, withHistory(historyOf(snapshot({blockers: [recycled, blocker(100), blocker(50)]}))));
		// The old key is gone: the selection stays at the same place, on whatever row is there now.
		expect(state.selected.key).not.toBe('600:1');
		expect(state.selected.index).toBe(1);
	});

	it('falls back to the neighbour when the selected thread stops blocking', () => {
		const rows = [blocker(1), blocker(2), blocker(3)];
		let state = run(start(), withHistory(historyOf(snapshot({blockers: rows}))));
		state = run(state, 'down');
		const gone = rowsOf(state)[state.selected.index]!.tid;
		state = run(state, withHistory(historyOf(snapshot({blockers: rows.filter((row) => row.tid !== gone)}))));
		expect(rowsOf(state)).toHaveLength(2);
		expect(state.selected.index).toBe(1);
		expect(selectedTid(state)).not.toBe(gone);
	});

	it('scrolls to keep the selection on screen', () => {
		let state = run(start({height: 24}), withHistory(historyOf(snapshot({blockers: manyBlockers(100)}))));
		const page = layoutOf(state).tableRows;
		state = run(state, 'page-down', 'page-down');
		expect(state.selected.index).toBe(2 * page);
		expect(state.top).toBeLessThanOrEqual(state.selected.index);
		expect(state.selected.index).toBeLessThan(state.top + page);
		state = run(state, 'end');
		expect(state.selected.index).toBe(99);
		expect(state.top).toBe(100 - page);
		state = run(state, 'home');
		expect(state.top).toBe(0);
		expect(state.selected.index).toBe(0);
	});
});

describe('sort, filter, search', () => {
	const rows = [
		blocker(30, {comm: 'charlie', class: 'uninterruptible', function: 'do_exit', object: 'vmlinux'}),
		blocker(10, {comm: 'alpha'}),
		blocker(20, {comm: 'bravo', class: 'running', function: null, object: null}),
	];
	const history = historyOf(snapshot({blockers: rows}));

	it('moves the sort column with < and > and inverts with I', () => {
		let state = run(start(), withHistory(history));
		expect(state.view.sort).toEqual({column: 'stuck', descending: true});
		state = run(state, 'sort-right', 'sort-right', 'sort-right');
		expect(state.view.sort.column).toBe('comm');
		expect(rowsOf(state).map((row) => row.comm)).toEqual(['alpha', 'bravo', 'charlie']);
		state = run(state, 'sort-invert');
		expect(rowsOf(state).map((row) => row.comm)).toEqual(['charlie', 'bravo', 'alpha']);
		state = run(state, 'sort-left');
		expect(state.view.sort.column).toBe('function');
		// Unknown function sorts last in either direction.
		expect(rowsOf(state).at(-1)!.comm).toBe('bravo');
		state = run(state, 'sort-invert');
		expect(rowsOf(state).at(-1)!.comm).toBe('bravo');
		state = run(state, 'sort-left');
		expect(state.view.sort).toEqual({column: 'class', descending: true});
		expect(rowsOf(state)[0]!.class).toBe('uninterruptible');
	});

	it('filters live while typing, keeps it on Enter, clears it on Esc', () => {
		let state = run(start(), withHistory(history), 'filter', typed('br'));
		expect(state.prompt?.kind).toBe('filter');
		expect(rowsOf(state).map((row) => row.comm)).toEqual(['bravo']);
		state = run(state, 'prompt-confirm');
		expect(state.prompt).toBeNull();
		expect(state.view.filter).toBe('br');
		// It survives a refresh.
		state = run(state, withHistory(history));
		expect(rowsOf(state)).toHaveLength(1);
		state = run(state, 'back');
		expect(state.view.filter).toBe('');
		expect(rowsOf(state)).toHaveLength(3);
	});

	it('filters on function and ids too, and backspace widens again', () => {
		let state = run(start(), withHistory(history), 'filter', typed('do_ex'));
		expect(rowsOf(state).map((row) => row.tid)).toEqual([30]);
		state = run(
			state,
			'prompt-backspace',
			'prompt-backspace',
			'prompt-backspace',
			'prompt-backspace',
			'prompt-backspace',
		);
		expect(rowsOf(state)).toHaveLength(3);
		state = run(state, typed('20'));
		expect(rowsOf(state).map((row) => row.tid)).toEqual([20]);
		state = run(state, 'prompt-cancel');
		expect(state.view.filter).toBe('');
	});

	it('searches from where it started, n goes to the next match and wraps, Esc goes back', () => {
		const many = historyOf(
			snapshot({blockers: [1, 2, 3, 4, 5].map((tid) => blocker(tid, {comm: tid % 2 ? 'odd' : 'even'}))}),
		);
		let state = run(
			start(),
			withHistory(many),
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
			'sort-left',
		);
		expect(tids(state)).toEqual([1, 2, 3, 4, 5]);
		state = run(state, 'search', typed('ev'));
		expect(selectedTid(state)).toBe(2);
		state = run(state, 'prompt-confirm');
		expect(state.search).toBe('ev');
		expect(keyContext(state).search).toBe(true);
		state = run(state, 'search-next');
		expect(selectedTid(state)).toBe(4);
		state = run(state, 'search-next');
		expect(selectedTid(state)).toBe(2);
		state = run(state, 'search-prev');
		expect(selectedTid(state)).toBe(4);
		state = run(state, 'search', typed('odd'));
		expect(selectedTid(state)).toBe(5);
		state = run(state, 'prompt-cancel');
		expect(selectedTid(state)).toBe(4);
		expect(state.search).toBe('ev');
	});

	it('says so when nothing matches', () => {
		const state = run(start(), withHistory(history), 'search', typed('zzz'));
		expect(state.status?.text).toContain("no match for 'zzz'");
	});
});

describe('grouping and toggles', () => {
	const history = historyOf(snapshot({blockers: manyBlockers(40)}));

	it('groups by function, biggest first, collapsed until Enter', () => {
		let state = run(start(), withHistory(history), 'cycle-group');
		expect(state.view.group).toBe('function');
		expect(rowsOf(state).every((row) => row.kind === 'group')).toBe(true);
		expect(rowsOf(state).map((row) => row.count)).toEqual([10, 10, 10, 10]);
		expect(
			rowsOf(state)
				.map((row) => row.function)
				.sort(),
		).toEqual(['do_exit', 'futex_wait_queue', 'klp_sleeper_wait', 'pipe_read']);
		const first = rowsOf(state)[0]!;
		state = run(state, 'toggle-group');
		expect(rowsOf(state)).toHaveLength(14);
		expect(
			rowsOf(state)
				.slice(1, 11)
				.every((row) => row.member && row.function === first.function),
		).toBe(true);
		// The expanded group stays expanded across a refresh.
		state = run(state, withHistory(history));
		expect(rowsOf(state)).toHaveLength(14);
		state = run(state, 'cycle-group');
		expect(state.view.group).toBe('process');
		expect(rowsOf(state)).toHaveLength(10);
		expect(rowsOf(state)[0]!.count).toBe(4);
		state = run(state, 'cycle-group');
		expect(state.view.group).toBe('none');
		expect(rowsOf(state)).toHaveLength(40);
	});

	it('hides kernel threads with K and shows processes with H', () => {
		let state = run(start(), withHistory(history), 'toggle-kthreads');
		expect(rowsOf(state).some((row) => row.kthread)).toBe(false);
		expect(rowsOf(state)).toHaveLength(39);
		state = run(state, 'toggle-kthreads', 'toggle-processes');
		expect(rowsOf(state)).toHaveLength(10);
		expect(rowsOf(state).every((row) => row.kind === 'process' && row.count === 4)).toBe(true);
		// The process row's class is its worst thread's.
		expect(rowsOf(state)[0]!.class).toBe('uninterruptible');
	});

	it('limits rows to --pid and --tid', () => {
		let state = run(start({pids: [1004]}), withHistory(history));
		expect(tids(state).sort()).toEqual([1004, 1005, 1006, 1007]);
		state = run(start({tids: [1010, 1011]}), withHistory(history));
		expect(tids(state).sort()).toEqual([1010, 1011]);
	});

	it('shows all threads from the snapshot with a, and asks for a poll at once', () => {
		const threads = [
			thread(1, {patchState: 1}),
			thread(2, {patchState: 1}),
			{...blocker(4242, {comm: 'sleeper'})},
		];
		let state = run(start(), withHistory(historyOf(snapshot({threads: null}))));
		expect(rowsOf(state)).toHaveLength(1);
		state = run(state, 'toggle-all');
		expect(state.view.showAll).toBe(true);
		expect(state.pollNow).toBe(1);
		state = run(state, withHistory(historyOf(snapshot({threads}))));
		expect(rowsOf(state)).toHaveLength(3);
		const sleeper = rowsOf(state).find((row) => row.tid === 4242)!;
		expect(sleeper.blocker).not.toBeNull();
		expect(rowsOf(state).find((row) => row.tid === 1)!.blocker).toBeNull();
	});

	it('tags rows with Space (moving down) and untags all with U', () => {
		let state = run(start(), withHistory(history), 'tag', 'tag');
		expect(state.tagged.size).toBe(2);
		expect(state.selected.index).toBe(2);
		state = run(state, 'up', 'tag');
		expect(state.tagged.size).toBe(1);
		state = run(state, 'untag-all');
		expect(state.tagged.size).toBe(0);
	});

	it('pauses and changes the interval along a ladder', () => {
		let state = run(start(), 'pause');
		expect(state.paused).toBe(true);
		state = run(state, 'pause', 'slower', 'slower');
		expect(state.paused).toBe(false);
		expect(state.delayS).toBe(3);
		state = run(state, 'faster', 'faster', 'faster', 'faster', 'faster', 'faster', 'faster');
		expect(state.delayS).toBe(0.1);
	});
});

describe('panes, details and reserved actions', () => {
	const history = historyOf(
		snapshot({
			blockers: [blocker(4242, {comm: 'sleeper'})],
			patches: [patch('klp_sleeper_patch', {transition: true}), patch('older', {enabled: true})],
		}),
	);

	it('cycles panes with Tab and moves the patch selection', () => {
		let state = run(start(), withHistory(history));
		expect(state.patch).toBe('klp_sleeper_patch');
		state = run(state, 'next-pane');
		expect(state.focus).toBe('log');
		state = run(state, 'next-pane');
		expect(state.focus).toBe('patches');
		state = run(state, 'down');
		expect(state.patch).toBe('older');
		state = run(state, 'prev-pane');
		expect(state.focus).toBe('log');
	});

	it('opens a patch detail whose menu knows what the kernel would refuse', () => {
		let state = run(start(), withHistory(history), 'prev-pane', 'open-detail');
		expect(state.screen).toEqual({kind: 'patch-detail', name: 'klp_sleeper_patch', menu: 0});
		// Running a menu item reads the world: the App does it (see app-actions.test.tsx), not the reducer.
		expect(run(state, 'action-menu-run')).toEqual(state);
		state = run(state, 'down', 'down');
		expect(state.screen).toEqual({kind: 'patch-detail', name: 'klp_sleeper_patch', menu: 2});
		state = run(state, 'back');
		expect(state.screen.kind).toBe('main');
	});

	it('leaves action keys to the App, and a dialog is cancelled, typed into and cleared', () => {
		const state = run(start(), withHistory(history));
		expect(reduce(state, {type: 'command', id: 'nudge'})).toEqual({...state, status: null});
		const plan = {
			kind: 'force',
			patch: 'p',
			attribute: 'force',
			value: '1',
			observed: {name: 'p', enabled: true, transition: true},
			summary: 'write 1 to force',
			warning: 'w',
			confirmation: 'typed-name',
		} as const;
		let next = reduce(state, {type: 'dialog', dialog: {kind: 'patch', plan, typed: ''}});
		next = reduce(reduce(next, {type: 'dialog-text', text: 'px'}), {type: 'command', id: 'dialog-backspace'});
		expect(next.dialog).toEqual({kind: 'patch', plan, typed: 'p'});
		next = reduce(next, {type: 'command', id: 'dialog-cancel'});
		expect(next.dialog).toBeNull();
		expect(next.status).toEqual({text: 'cancelled: nothing was done', tone: 'info'});
	});

	it('keeps a task detail open after the thread stops blocking, and says when', () => {
		let state = run(start(), withHistory(history), 'open-detail');
		expect(state.screen).toEqual({kind: 'task-detail', key: '4242:5242', scroll: 0});
		expect(state.detail?.blocker?.comm).toBe('sleeper');
		expect(state.detail?.goneAt).toBeNull();
		state = run(state, withHistory(historyOf(snapshot({time: t0 + 5000, transition: false}))));
		expect(state.screen.kind).toBe('task-detail');
		expect(state.detail?.goneAt).toBe(t0 + 5000);
		expect(state.detail?.thread.comm).toBe('sleeper');
	});

	it('toggles help and leaves it with Esc', () => {
		let state = run(start(), 'help');
		expect(state.screen.kind).toBe('help');
		expect(keyContext(state).screen).toBe('help');
		state = run(state, 'down', 'down');
		expect(state.screen).toEqual({kind: 'help', scroll: 2});
		state = run(state, 'back');
		expect(state.screen.kind).toBe('main');
	});

	it('asks for a full redraw on Ctrl-L and on a resize, and reports too small', () => {
		let state = run(start(), 'redraw');
		expect(state.redraws).toBe(1);
		state = run(state, {type: 'resize', width: 50, height: 12});
		expect(state.redraws).toBe(2);
		expect(keyContext(state).screen).toBe('too-small');
		state = run(state, {type: 'resize', width: 50, height: 12});
		expect(state.redraws).toBe(2);
	});

	it('shows the no-livepatch screen for a source without livepatch and leaves it for the emulator', () => {
		let state = run(start({noFeed: true}));
		expect(keyContext(state).screen).toBe('no-livepatch');
		state = run(state, {type: 'feed-opened'});
		expect(keyContext(state).screen).toBe('main');
		state = run(state, withHistory(historyOf(snapshot({livepatch: false, transition: false, patches: []}))));
		expect(keyContext(state).screen).toBe('no-livepatch');
	});

	it('quits on q', () => {
		expect(run(start(), 'quit').quit).toBe(true);
	});
});

describe('grouping all threads', () => {
	it('keeps threads that do not block in a group of their own, last', () => {
		const threads = [
			thread(1),
			thread(2),
			thread(3),
			{...blocker(10, {function: null, object: null})},
			{...blocker(11, {tgid: 10})},
		];
		const history = historyOf(
			snapshot({threads, blockers: [blocker(10, {function: null, object: null}), blocker(11, {tgid: 10})]}),
		);
		let state = run(start(), withHistory(history), 'toggle-all', 'cycle-group');
		expect(rowsOf(state).map((row) => [row.key, row.count, row.blocking])).toEqual([
			['g:f::', 1, 1],
			['g:f:klp_sleeper:klp_sleeper_wait', 1, 1],
			['g:n', 3, 0],
		]);
		state = run(state, 'cycle-group', 'toggle-processes');
		// Process 10 has two blocking threads: its group counts two interruptible, not its thread count.
		const process10 = rowsOf(state).find((row) => row.key === 'g:p:10')!;
		expect(process10.summary).toBe('2 interruptible');
	});
});

describe('moving in the patch panel', () => {
	it('goes to the first and last patch with Home and End', () => {
		const patches = ['a', 'b', 'c', 'd'].map((name) => patch(name));
		let state = run(start(), withHistory(historyOf(snapshot({patches}))), 'prev-pane');
		expect(state.focus).toBe('patches');
		state = run(state, 'end');
		expect(state.patch).toBe('d');
		state = run(state, 'up');
		expect(state.patch).toBe('c');
		state = run(state, 'home');
		expect(state.patch).toBe('a');
	});
});

describe('the event log scrolled back stays on what it shows', () => {
	const base = historyOf(snapshot({blockers: [blocker(4242)]}));
	const event = (n: number): HistoryEvent => ({
		time: t0 + n * 1000,
		kind: 'kernel-log',
		patch: null,
		tid: null,
		text: `line ${n}`,
	});
	/** The history as foldSnapshot keeps it: the last 500 events, the same objects from poll to poll. */
	const all = Array.from({length: 600}, (_, n) => event(n));
	const window = (from: number, to: number): History => ({...base, events: all.slice(from, to)});
	const bottomText = (state: UiState) =>
		logEvents(state)[logEvents(state).length - 1 - state.logScroll]?.text;

	it('through the 500-event cap, merged actions and events dropped under it', () => {
		let state = run(start(), withHistory(window(0, 500)), 'next-pane');
		expect(state.focus).toBe('log');
		state = run(state, ...Array.from({length: 10}, () => 'up' as const));
		expect(state.logScroll).toBe(10);
		expect(bottomText(state)).toBe('line 489');

		// At the cap: 5 new events at the end, the 5 oldest dropped: the same length as before.
		state = run(state, withHistory(window(5, 505)));
		expect(bottomText(state)).toBe('line 489');
		expect(state.logScroll).toBe(15);

		// An action's result lands between two old events (by time): above the bottom line it shifts
		// nothing, below it one more newer event.
		const action = (at: number, text: string): HistoryEvent => ({
			time: t0 + at * 1000,
			kind: 'action',
			patch: null,
			tid: null,
			text,
		});
		state = reduce(state, {type: 'action-result', status: null, events: [action(480.5, 'above')]});
		expect(bottomText(state)).toBe('line 489');
		expect(state.logScroll).toBe(15);
		state = reduce(state, {type: 'action-result', status: null, events: [action(495.5, 'below')]});
		expect(bottomText(state)).toBe('line 489');
		expect(state.logScroll).toBe(16);

		// Following the newest (scroll 0) stays at the newest.
		const following = run(state, ...Array.from({length: 16}, () => 'down' as const));
		expect(following.logScroll).toBe(0);
		expect(run(following, withHistory(window(6, 506))).logScroll).toBe(0);

		// The line shown at the bottom is dropped under the cap: the view stops at the oldest left.
		state = run(state, withHistory(window(495, 595)));
		const rows = layoutOf(state).logRows;
		expect(state.logScroll).toBe(logEvents(state).length - rows);
		expect(
			logEvents(state)
				.slice(0, 3)
				.map((e) => e.text),
		).toEqual(['above', 'line 495', 'below']);
	});
});
