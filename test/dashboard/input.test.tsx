// From key presses to effects: typeahead arriving in one chunk is replayed key by key, prompts take
// printable keys as text, refused actions answer with their reason.
import {describe, expect, it} from 'vitest';
import {keyEffect, keyNames} from '../../source/dashboard/input.js';
import {initialState} from '../../source/dashboard/state.js';
import {reduce} from '../../source/ui/reducer.js';
import {blocker, FakeFeed, historyOf, snapshot} from '../ui/fixtures.js';
import {renderApp, tick, waitForFrame, waitForInputsToBeReady} from '../ui/helpers.js';

const state = reduce(
	initialState({width: 120, height: 40, delayS: 1, readonlyReason: null, pids: null, tids: null}),
	{type: 'history', history: historyOf(snapshot())},
);

const forceDialog = {
	kind: 'patch',
	typed: '',
	plan: {
		kind: 'force',
		patch: 'p',
		attribute: 'force',
		value: '1',
		observed: {name: 'p', enabled: true, transition: true},
		summary: 'write 1 to force',
		warning: 'w',
		confirmation: 'typed-name',
	},
} as const;

describe('keyNames', () => {
	it('splits a chunk of plain characters into keys, Enter included', () => {
		expect(keyNames('\\cat\r', {})).toEqual(['\\', 'c', 'a', 't', 'enter']);
		expect(keyNames('q', {})).toEqual(['q']);
		expect(keyNames('', {upArrow: true})).toEqual(['up']);
		expect(keyNames('q', {meta: true})).toEqual(['escape', 'q']);
		expect(keyNames('', {escape: true, meta: true})).toEqual(['escape']);
		expect(keyNames('ab\u007F\u007F\t\u000C', {})).toEqual([
			'a',
			'b',
			'backspace',
			'backspace',
			'tab',
			'ctrl+l',
		]);
	});
});

describe('keyEffect', () => {
	it('maps keys to reducer actions, prompt text, refusals and the emulator', () => {
		expect(keyEffect('/', state)).toEqual({type: 'command', id: 'search'});
		const prompt = reduce(state, {type: 'command', id: 'search'});
		expect(keyEffect('q', prompt)).toEqual({type: 'prompt-text', text: 'q'});
		expect(keyEffect('space', prompt)).toEqual({type: 'prompt-text', text: ' '});
		expect(keyEffect('k', state)).toEqual({type: 'request', id: 'nudge'});
		const readonly = {...state, readonlyReason: 'not root'};
		expect(keyEffect('k', readonly)).toEqual({type: 'status', text: 'read-only: not root', tone: 'warn'});
		// The force dialog takes letters as the typed name: `y` and `n` are text there, Esc cancels.
		const typed = {...state, dialog: forceDialog};
		expect(keyEffect('y', typed)).toEqual({type: 'dialog-text', text: 'y'});
		expect(keyEffect('n', typed)).toEqual({type: 'dialog-text', text: 'n'});
		expect(keyEffect('escape', typed)).toEqual({type: 'command', id: 'dialog-cancel'});
		expect(keyEffect('enter', typed)).toEqual({type: 'request', id: 'dialog-submit'});
		const yes = {
			...state,
			dialog: {...forceDialog, plan: {...forceDialog.plan, confirmation: 'yes' as const}},
		};
		expect(keyEffect('y', yes)).toEqual({type: 'request', id: 'dialog-confirm'});
		expect(keyEffect('n', yes)).toEqual({type: 'command', id: 'dialog-cancel'});
		// Nothing else applies under a dialog.
		expect(keyEffect('k', yes)).toBeNull();
		expect(keyEffect('x', state)).toBeNull();
		expect(keyEffect('e', {...state, noLivepatch: true})).toEqual({type: 'open-emulator'});
	});
});

describe('typeahead through the App', () => {
	it('applies a filter typed faster than the screen refreshes (one chunk)', async () => {
		const app = renderApp({
			feed: new FakeFeed([snapshot()]),
			history: historyOf(
				snapshot({blockers: [blocker(500, {comm: 'alpha'}), blocker(600, {comm: 'bravo'})]}),
			),
		});
		await waitForInputsToBeReady();
		app.stdin.write('\\brav\r');
		await tick(20);
		const frame = await waitForFrame(app.frame, (text) => text.includes("filter 'brav'"));
		expect(frame).toContain('bravo');
		expect(frame).not.toContain('alpha');
	});
});
