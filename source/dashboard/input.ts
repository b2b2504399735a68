/**
From a key press to what it does: the one place that combines the key map (`keymap.ts`) with the
dashboard state. Pure, so typeahead can be replayed through the reducer key by key.
*/
import {isPrintable, keyName, matchKey} from '../keymap.js';
import type {CommandId, KeyFlags} from '../keymap.js';
import type {UiAction, UiState} from './state.js';
import {keyContext} from './state.js';

/**
What a key asks for: a reducer action, an action request (carried out by the runner, `ui/act.ts`),
or opening the emulator (a side effect the App performs).
*/
export type KeyEffect =
	UiAction | {readonly type: 'request'; readonly id: CommandId} | {readonly type: 'open-emulator'};

/** The effect of one named key in this state, or null when the key does nothing here. */
export function keyEffect(name: string, state: UiState): KeyEffect | null {
	const ctx = keyContext(state);
	if (ctx.prompt !== null && isPrintable(name)) {
		return {type: 'prompt-text', text: name === 'space' ? ' ' : name};
	}

	// The force dialog takes the patch name as typed text (so `y`, `n` and `q` are letters there).
	if (ctx.dialog === 'typed' && isPrintable(name)) {
		return {type: 'dialog-text', text: name === 'space' ? ' ' : name};
	}

	const binding = matchKey(name, ctx);
	if (binding === null) return null;
	const refused = binding.disabled?.(ctx) ?? null;
	// The action menu decides itself: an action the kernel would refuse says why, before "read-only".
	if (refused !== null && binding.id !== 'action-menu-run') {
		return {type: 'status', text: refused, tone: 'warn'};
	}

	if (binding.id === 'open-emulator') return {type: 'open-emulator'};
	if (binding.request === true) return {type: 'request', id: binding.id};
	return {type: 'command', id: binding.id};
}

/**
Name the keys of one chunk of input. Ink hands over a run of plain characters in one call when they
arrive together (fast typing, typeahead over ssh, a paste); each character is then a key of its own,
so `\cat⏎` typed quickly still opens the filter, types `cat` and applies it.
*/
export function keyNames(input: string, key: KeyFlags): string[] {
	// ESC then a letter in one chunk reaches us as Alt+letter; nothing here uses Alt, so it was Esc
	// pressed just before the letter.
	if (key.meta && !key.escape && [...input].length === 1 && input >= ' ') {
		return ['escape', keyName(input, {}) ?? input];
	}

	const name = keyName(input, key);
	if (name !== null) return [name];
	return [...input].map((ch) => keyName(ch, {}) ?? ch);
}
