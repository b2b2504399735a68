// The key map is data; these tests pin how keys are named, which binding a key runs in which
// context, and that no key is ambiguous anywhere (first-match-wins must never hide a binding).
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {KeyContext} from '../../source/keymap.js';
import {actionBusy, footerBindings, isPrintable, keyName, keymap, matchKey} from '../../source/keymap.js';

const main: KeyContext = {
	screen: 'main',
	prompt: null,
	focus: 'tasks',
	row: 'thread',
	patch: true,
	transition: true,
	search: false,
	readonlyReason: null,
};

describe('keyName', () => {
	it('names the keys Ink reports', () => {
		expect(keyName('', {upArrow: true})).toBe('up');
		expect(keyName('', {pageDown: true})).toBe('pagedown');
		expect(keyName('', {home: true})).toBe('home');
		expect(keyName('', {end: true})).toBe('end');
		expect(keyName('\r', {return: true})).toBe('enter');
		expect(keyName('\n', {})).toBe('enter');
		expect(keyName('', {escape: true, meta: true})).toBe('escape');
		expect(keyName('\t', {tab: true})).toBe('tab');
		expect(keyName('', {tab: true, shift: true})).toBe('shift+tab');
		expect(keyName('l', {ctrl: true})).toBe('ctrl+l');
		expect(keyName('c', {ctrl: true})).toBe('ctrl+c');
		expect(keyName(' ', {})).toBe('space');
		expect(keyName('K', {shift: true})).toBe('K');
		expect(keyName('\\', {})).toBe('\\');
		expect(keyName('<', {})).toBe('<');
	});

	it('treats both Backspace encodings as backspace (terminals send DEL, Ink calls it delete)', () => {
		expect(keyName('', {delete: true})).toBe('backspace');
		expect(keyName('', {backspace: true})).toBe('backspace');
	});

	it('returns null for a paste of several characters', () => {
		expect(keyName('hello', {})).toBeNull();
	});

	it('knows printable keys from named ones', () => {
		expect(isPrintable('q')).toBe(true);
		expect(isPrintable('space')).toBe(true);
		expect(isPrintable('enter')).toBe(false);
		expect(isPrintable('ctrl+l')).toBe(false);
		expect(isPrintable('\u007F')).toBe(false);
		expect(isPrintable('\u009B')).toBe(false);
		expect(isPrintable('é')).toBe(true);
	});
});

describe('matchKey', () => {
	it('runs the main-screen commands', () => {
		expect(matchKey('q', main)?.id).toBe('quit');
		expect(matchKey('/', main)?.id).toBe('search');
		expect(matchKey('\\', main)?.id).toBe('filter');
		expect(matchKey('<', main)?.id).toBe('sort-left');
		expect(matchKey('>', main)?.id).toBe('sort-right');
		expect(matchKey('I', main)?.id).toBe('sort-invert');
		expect(matchKey('a', main)?.id).toBe('toggle-all');
		expect(matchKey('g', main)?.id).toBe('cycle-group');
		expect(matchKey('K', main)?.id).toBe('toggle-kthreads');
		expect(matchKey('H', main)?.id).toBe('toggle-processes');
		expect(matchKey('Z', main)?.id).toBe('pause');
		expect(matchKey('p', main)?.id).toBe('pause');
		expect(matchKey('+', main)?.id).toBe('slower');
		expect(matchKey('-', main)?.id).toBe('faster');
		expect(matchKey('ctrl+l', main)?.id).toBe('redraw');
		expect(matchKey('space', main)?.id).toBe('tag');
		expect(matchKey('U', main)?.id).toBe('untag-all');
		expect(matchKey('tab', main)?.id).toBe('next-pane');
		expect(matchKey('h', main)?.id).toBe('help');
		expect(matchKey('?', main)?.id).toBe('help');
	});

	it('gives Enter the meaning of the selected thing', () => {
		expect(matchKey('enter', main)?.id).toBe('open-detail');
		expect(matchKey('enter', {...main, row: 'group'})?.id).toBe('toggle-group');
		expect(matchKey('enter', {...main, focus: 'patches'})?.id).toBe('open-detail');
		expect(matchKey('enter', {...main, focus: 'patches', patch: false})).toBeNull();
		expect(matchKey('enter', {...main, screen: 'patch-detail'})?.id).toBe('action-menu-run');
		expect(matchKey('enter', {...main, prompt: 'search'})?.id).toBe('prompt-confirm');
	});

	it('offers n only once a search is set', () => {
		expect(matchKey('n', main)).toBeNull();
		expect(matchKey('n', {...main, search: true})?.id).toBe('search-next');
	});

	it('offers the emulator key only on the no-livepatch screen', () => {
		expect(matchKey('e', main)).toBeNull();
		expect(matchKey('e', {...main, screen: 'no-livepatch'})?.id).toBe('open-emulator');
	});

	it('has the action keys, disabled with the reason when they cannot act', () => {
		const nudge = matchKey('k', main);
		expect(nudge?.id).toBe('nudge');
		expect(nudge?.disabled?.(main)).toBeNull();
		expect(nudge?.disabled?.({...main, busy: true})).toBe(actionBusy);
		expect(matchKey('A', main)?.id).toBe('nudge-all');
		expect(matchKey('A', {...main, transition: false})).toBeNull();
		const readonly = {...main, readonlyReason: 'not root'};
		expect(matchKey('k', readonly)?.disabled?.(readonly)).toBe('read-only: not root');
		expect(matchKey('R', main)?.id).toBe('reverse');
		expect(matchKey('F', main)?.id).toBe('force');
		expect(matchKey('R', {...main, transition: false})).toBeNull();
		expect(matchKey('D', {...main, focus: 'patches'})?.id).toBe('disable');
		expect(matchKey('E', {...main, focus: 'patches'})?.id).toBe('enable');
		expect(matchKey('D', main)?.id).toBe('disable');
	});

	it('keeps Ctrl-C quitting while a prompt is open, and Esc cancelling it', () => {
		const prompt = {...main, prompt: 'filter' as const};
		expect(matchKey('ctrl+c', prompt)?.id).toBe('quit');
		expect(matchKey('escape', prompt)?.id).toBe('prompt-cancel');
		expect(matchKey('backspace', prompt)?.id).toBe('prompt-backspace');
		expect(matchKey('a', prompt)).toBeNull();
	});

	it('never has two bindings for the same key in the same context', () => {
		const contexts = fc.record<KeyContext>({
			screen: fc.constantFrom('main', 'help', 'task-detail', 'patch-detail', 'no-livepatch', 'too-small'),
			prompt: fc.constantFrom(null, 'search', 'filter'),
			focus: fc.constantFrom('patches', 'tasks', 'log'),
			row: fc.constantFrom(null, 'thread', 'process', 'group'),
			patch: fc.boolean(),
			transition: fc.boolean(),
			search: fc.boolean(),
			readonlyReason: fc.constantFrom(null, 'not root'),
		});
		const keys = [...new Set(keymap.flatMap((binding) => binding.keys))];
		fc.assert(
			fc.property(contexts, (ctx) => {
				for (const key of keys) {
					const live = keymap.filter((binding) => binding.keys.includes(key) && binding.when(ctx));
					if (live.length > 1) {
						throw new Error(
							`'${key}' is ambiguous in ${JSON.stringify(ctx)}: ${live.map((b) => b.id).join(', ')}`,
						);
					}
				}
			}),
		);
	});

	it('lists every command exactly once', () => {
		const ids = keymap.map((binding) => binding.id);
		expect(new Set(ids).size).toBe(ids.length);
	});
});

describe('footerBindings', () => {
	it('shows only keys that apply now, in map order', () => {
		const ids = footerBindings(main).map((binding) => binding.id);
		expect(ids.slice(0, 3)).toEqual(['quit', 'help', 'pause']);
		expect(ids).toContain('nudge');
		expect(ids).not.toContain('back');
		expect(ids).not.toContain('prompt-confirm');
		const prompt = footerBindings({...main, prompt: 'search'}).map((binding) => binding.id);
		expect(prompt).toEqual(['quit', 'prompt-confirm', 'prompt-cancel']);
	});
});
