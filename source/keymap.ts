/**
Every key of the dashboard, as data: which command it runs, when, and how it is described.

The help screen, the footer and the input handler all read this one table (gemini-cli's
`keyBindings.ts` idea, htop's `Action_setBindings`), so a key cannot do something the help does
not say, and a key the help lists always works where its `when` says it does.

Keys are named by `keyName()`: a printable character stands for itself (`q`, `/`, `<`, `K`), the
rest have names (`up`, `pageup`, `enter`, `escape`, `tab`, `shift+tab`, `space`, `ctrl+l`, ...).

The action keys (nudge, nudge all, reverse, force, disable, enable) carry their guard: `disabled`
keeps a key listed and matched while saying why it does nothing right now (read-only, not root, a
tree without an emulator behind it, another action still running). While a confirmation dialog is
open only its own keys apply.
*/
import {isClean} from './model/sanitize.js';

export type Pane = 'patches' | 'tasks' | 'log';

export type ScreenKind = 'main' | 'help' | 'task-detail' | 'patch-detail' | 'no-livepatch' | 'too-small';

/** What the key map needs to know about the dashboard to decide which keys apply. */
export type KeyContext = {
	readonly screen: ScreenKind;
	/** A text prompt (search or filter) is open and takes the keys. */
	readonly prompt: 'search' | 'filter' | null;
	readonly focus: Pane;
	/** Kind of the selected task-table row. */
	readonly row: 'thread' | 'process' | 'group' | null;
	/** A patch is selected in the patch panel (or shown in the patch detail). */
	readonly patch: boolean;
	/** A transition is running. */
	readonly transition: boolean;
	/** A search term is set (for `n`). */
	readonly search: boolean;
	/** Actions are off (`--readonly`, not root, a source that cannot act): the reason, else null. */
	readonly readonlyReason: string | null;
	/**
	A confirmation dialog is open: `confirm` takes y / n, `typed` takes the patch name (force; Esc
	cancels, since `n` may be part of the name), `notice` lists refusals only (nothing to confirm).
	*/
	readonly dialog?: 'confirm' | 'typed' | 'notice' | null;
	/** An action is running (nudging...): other actions wait for it. */
	readonly busy?: boolean;
	/** The dashboard replays a recording (`--replay`): time keys instead of refresh keys. */
	readonly replay?: boolean;
};

export const commandIds = [
	'quit',
	'help',
	'back',
	'redraw',
	'pause',
	'slower',
	'faster',
	'up',
	'down',
	'page-up',
	'page-down',
	'home',
	'end',
	'next-pane',
	'prev-pane',
	'open-detail',
	'toggle-group',
	'search',
	'search-next',
	'search-prev',
	'filter',
	'sort-left',
	'sort-right',
	'sort-invert',
	'toggle-all',
	'cycle-group',
	'toggle-kthreads',
	'toggle-processes',
	'tag',
	'untag-all',
	'nudge',
	'nudge-all',
	'action-menu-run',
	'reverse',
	'force',
	'disable',
	'enable',
	'open-emulator',
	'replay-play',
	'replay-back',
	'replay-forward',
	'replay-previous-event',
	'replay-next-event',
	'replay-faster',
	'replay-slower',
	'prompt-confirm',
	'prompt-cancel',
	'prompt-backspace',
	'dialog-confirm',
	'dialog-submit',
	'dialog-cancel',
	'dialog-backspace',
] as const;

export type CommandId = (typeof commandIds)[number];

export type Category =
	'general' | 'replay' | 'move' | 'find' | 'view' | 'tag' | 'action' | 'prompt' | 'dialog';

export const categoryTitles: Readonly<Record<Category, string>> = {
	general: 'General',
	replay: 'Replaying a recording (--replay)',
	move: 'Moving around',
	find: 'Search, filter, sort',
	view: 'What the table shows',
	tag: 'Tagging',
	action: 'Actions (each asks for confirmation first)',
	prompt: 'While typing a search or filter',
	dialog: 'In a confirmation dialog',
};

/**
A key binding. Generic so that another screen (the fleet's, `source/fleet/keymap.ts`) keeps its own
table, context and commands, and still gets the same matching, footer and help.
*/
export type Binding<C = KeyContext, I extends string = CommandId> = {
	readonly id: I;
	/** Key names (see `keyName`). The first one is the one shown in the footer. */
	readonly keys: readonly string[];
	/** One line for the help screen. */
	readonly description: string;
	readonly category: Category;
	/** Whether the key applies in this context; when false it is not matched at all. */
	readonly when: (ctx: C) => boolean;
	/** Why the key does nothing right now although it applies (shown instead of acting), else null. */
	readonly disabled?: (ctx: C) => string | null;
	/** Short label for the footer; bindings without one appear only in the help screen. */
	readonly footer?: string;
	/** Narrower than `when` for the footer only (a key that works everywhere but matters in some places). */
	readonly footerWhen?: (ctx: C) => boolean;
	/**
	An action: the key yields a request that the action runner (`ui/act.ts`) carries out through
	`source/actions` (it reads the world and acts on it); the reducer never sees it.
	*/
	readonly request?: true;
	/** Whether the help screen (opened from `ctx`) lists the key: only where it does something. @default always */
	readonly helpWhen?: (ctx: C) => boolean;
};

/** Status text of an action key while another action is still running. */
export const actionBusy = 'an action is running: wait for its result';

const always = () => true;
const noPrompt = (ctx: KeyContext) => ctx.prompt === null && (ctx.dialog ?? null) === null;
const onMain = (ctx: KeyContext) => noPrompt(ctx) && ctx.screen === 'main';
const onList = (ctx: KeyContext) =>
	noPrompt(ctx) &&
	(ctx.screen === 'main' ||
		ctx.screen === 'help' ||
		ctx.screen === 'task-detail' ||
		ctx.screen === 'patch-detail');
const onTasks = (ctx: KeyContext) => onMain(ctx) && ctx.focus === 'tasks';
const live = (ctx: KeyContext) => noPrompt(ctx) && ctx.screen !== 'no-livepatch' && ctx.replay !== true;
const replaying = (ctx: KeyContext) => noPrompt(ctx) && ctx.replay === true;
/** The help screen lists the replay keys only on a replay. */
const onReplay = (ctx: KeyContext) => ctx.replay === true;

/**
The one place the dashboard decides whether an action may run: the reason it may not (read-only
first, then "another action is running"), else null. The action keys carry it as `disabled`; the
action menu's Enter asks it after the menu's own note (`ui/act.ts`). The engine refuses again on its
own (`ctx.disabledReason`), for the CLI.
*/
export const actionGuard = (ctx: KeyContext): string | null =>
	ctx.readonlyReason !== null ? `read-only: ${ctx.readonlyReason}` : ctx.busy === true ? actionBusy : null;

/** The list moves, the same on every screen with a list (the fleet's too); `onList` says where. */
export function moveBindings<C>(
	onList: (ctx: C) => boolean,
): Array<Binding<C, 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end'>> {
	return [
		{id: 'up', keys: ['up'], description: 'move up (or scroll)', category: 'move', when: onList},
		{id: 'down', keys: ['down'], description: 'move down (or scroll)', category: 'move', when: onList},
		{id: 'page-up', keys: ['pageup'], description: 'one page up', category: 'move', when: onList},
		{id: 'page-down', keys: ['pagedown'], description: 'one page down', category: 'move', when: onList},
		{id: 'home', keys: ['home'], description: 'to the first row', category: 'move', when: onList},
		{id: 'end', keys: ['end'], description: 'to the last row', category: 'move', when: onList},
	];
}

/** The keys of a text prompt (search, filter), for any screen whose context has one. */
export function promptBindings<C extends {readonly prompt: unknown}>(): Array<
	Binding<C, 'prompt-confirm' | 'prompt-cancel' | 'prompt-backspace'>
> {
	return [
		{
			id: 'prompt-confirm',
			keys: ['enter'],
			description: 'keep the text (search: stay on the match; filter: apply)',
			category: 'prompt',
			when: (ctx) => ctx.prompt !== null,
			footer: 'Done',
		},
		{
			id: 'prompt-cancel',
			keys: ['escape'],
			description: 'cancel (search: back where you were; filter: clear it)',
			category: 'prompt',
			when: (ctx) => ctx.prompt !== null,
			footer: 'Cancel',
		},
		{
			id: 'prompt-backspace',
			keys: ['backspace'],
			description: 'delete the last character',
			category: 'prompt',
			when: (ctx) => ctx.prompt !== null,
		},
	];
}

export const keymap: readonly Binding[] = [
	// General
	// While a prompt is open, printable keys are text (the App routes them before matching), so `q`
	// types a q there; Ctrl-C still quits.
	{
		id: 'quit',
		keys: ['q', 'ctrl+c', 'f10'],
		description: 'quit (the terminal is restored)',
		category: 'general',
		when: always,
		footer: 'Quit',
	},
	{
		id: 'help',
		keys: ['h', '?', 'f1'],
		description: 'this help: every key',
		category: 'general',
		when: (ctx) =>
			noPrompt(ctx) && ctx.screen !== 'help' && ctx.screen !== 'no-livepatch' && ctx.screen !== 'too-small',
		footer: 'Help',
	},
	{
		id: 'back',
		keys: ['escape'],
		description: 'back: close help or a detail view; on the main screen clear the filter and search',
		category: 'general',
		when: noPrompt,
		footer: 'Back',
		footerWhen: (ctx) => ctx.screen !== 'main' || ctx.search,
	},
	{id: 'redraw', keys: ['ctrl+l'], description: 'redraw the whole screen', category: 'general', when: always},
	{
		id: 'pause',
		keys: ['Z', 'p'],
		description: 'pause / resume refreshing',
		category: 'general',
		when: live,
		footer: 'Pause',
	},
	{
		id: 'slower',
		keys: ['+'],
		description: 'refresh less often (longer interval)',
		category: 'general',
		when: live,
	},
	{
		id: 'faster',
		keys: ['-'],
		description: 'refresh more often (shorter interval)',
		category: 'general',
		when: live,
	},
	// Replay: time instead of refreshing (the refresh keys above do not apply to a recording).
	{
		id: 'replay-play',
		keys: ['Z', 'p'],
		description: 'replay: play / pause (one recorded poll per recorded interval / speed, at most 1 s each)',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
		footer: 'Play',
	},
	{
		id: 'replay-back',
		keys: ['left', ','],
		description: 'replay: one recorded poll back',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
	},
	{
		id: 'replay-forward',
		keys: ['right', '.'],
		description: 'replay: one recorded poll forward',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
		footer: 'Step',
	},
	{
		id: 'replay-previous-event',
		keys: ['['],
		description: 'replay: back to the previous event (start, fake signal, action, reversal, force, end)',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
	},
	{
		id: 'replay-next-event',
		keys: [']'],
		description: 'replay: on to the next event (start, fake signal, action, reversal, force, end)',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
		footer: 'Event',
	},
	{
		id: 'replay-faster',
		keys: ['f'],
		description: 'replay: play faster (x2, up to 64x)',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
	},
	{
		id: 'replay-slower',
		keys: ['s'],
		description: 'replay: play slower (/2, down to 1x)',
		category: 'replay',
		when: replaying,
		helpWhen: onReplay,
	},
	{
		id: 'open-emulator',
		keys: ['e'],
		description: "open the built-in emulator (scenario 'stuck-interruptible') instead of this host",
		category: 'general',
		when: (ctx) => noPrompt(ctx) && ctx.screen === 'no-livepatch',
		// Help cannot be opened from that screen, and everywhere else `e` does nothing.
		helpWhen: (ctx) => ctx.screen === 'no-livepatch',
		footer: 'Emulator',
	},

	// Moving around
	...moveBindings(onList),
	{
		id: 'next-pane',
		keys: ['tab'],
		description: 'next pane: patches, tasks, event log',
		category: 'move',
		when: onMain,
		footer: 'Pane',
	},
	{id: 'prev-pane', keys: ['shift+tab'], description: 'previous pane', category: 'move', when: onMain},
	{
		id: 'open-detail',
		keys: ['enter'],
		description: 'open the selected thread (stack, why it is stuck) or patch (objects, functions, actions)',
		category: 'move',
		when: (ctx) =>
			onMain(ctx) &&
			((ctx.focus === 'tasks' && (ctx.row === 'thread' || ctx.row === 'process')) ||
				(ctx.focus === 'patches' && ctx.patch)),
		footer: 'Detail',
	},
	{
		id: 'toggle-group',
		keys: ['enter'],
		description: 'on a group line: expand or collapse the group',
		category: 'move',
		when: (ctx) => onTasks(ctx) && ctx.row === 'group',
		footer: 'Expand',
	},

	// Search, filter, sort
	{
		id: 'search',
		keys: ['/', 'f3'],
		description: 'search: jump to the next row whose name, function or id contains the text',
		category: 'find',
		when: onMain,
		footer: 'Search',
	},
	{
		id: 'search-next',
		keys: ['n'],
		description: 'next search match',
		category: 'find',
		when: (ctx) => onMain(ctx) && ctx.search,
	},
	{
		id: 'search-prev',
		keys: ['N'],
		description: 'previous search match',
		category: 'find',
		when: (ctx) => onMain(ctx) && ctx.search,
	},
	{
		id: 'filter',
		keys: ['\\'],
		description: 'filter: show only rows containing the text (Esc clears it)',
		category: 'find',
		when: onMain,
		footer: 'Filter',
	},
	{
		id: 'sort-left',
		keys: ['<'],
		description: 'sort by the column to the left',
		category: 'find',
		when: onMain,
		footer: 'Sort',
	},
	{
		id: 'sort-right',
		keys: ['>'],
		description: 'sort by the column to the right',
		category: 'find',
		when: onMain,
	},
	{id: 'sort-invert', keys: ['I'], description: 'invert the sort order', category: 'find', when: onMain},

	// What the table shows
	{
		id: 'toggle-all',
		keys: ['a'],
		description: 'all threads (with their patch_state) instead of only the blockers',
		category: 'view',
		when: onMain,
		footer: 'All',
	},
	{
		id: 'cycle-group',
		keys: ['g'],
		description: 'group rows: by patched function, by process, none',
		category: 'view',
		when: onMain,
		footer: 'Group',
	},
	{
		id: 'toggle-kthreads',
		keys: ['K'],
		description: 'hide / show kernel threads',
		category: 'view',
		when: onMain,
	},
	{
		id: 'toggle-processes',
		keys: ['H'],
		description: 'one row per process instead of per thread',
		category: 'view',
		when: onMain,
	},

	// Tagging
	{
		id: 'tag',
		keys: ['space'],
		description: 'tag / untag the selected thread (actions apply to tagged threads)',
		category: 'tag',
		when: (ctx) => onTasks(ctx) && (ctx.row === 'thread' || ctx.row === 'process'),
	},
	{id: 'untag-all', keys: ['U'], description: 'untag every thread', category: 'tag', when: onMain},

	// Actions, reserved for issue #4
	{
		id: 'nudge',
		request: true,
		keys: ['k'],
		description: 'nudge the selected (or tagged) threads: SIGSTOP + SIGCONT, with confirmation',
		category: 'action',
		when: (ctx) =>
			noPrompt(ctx) &&
			((ctx.screen === 'main' && ctx.focus === 'tasks' && ctx.row !== null) || ctx.screen === 'task-detail'),
		disabled: actionGuard,
		footer: 'Nudge',
	},
	{
		// Not `N`: that is "previous search match".
		id: 'nudge-all',
		request: true,
		keys: ['A'],
		description: 'nudge All nudgeable blockers (interruptible sleepers), with one confirmation',
		category: 'action',
		when: (ctx) => onMain(ctx) && ctx.transition,
		disabled: actionGuard,
	},
	{
		id: 'action-menu-run',
		request: true,
		keys: ['enter'],
		description: "in a patch's detail: run the action selected in its menu",
		category: 'action',
		when: (ctx) => noPrompt(ctx) && ctx.screen === 'patch-detail',
		disabled: actionGuard,
		footer: 'Run',
	},
	{
		id: 'reverse',
		request: true,
		keys: ['R'],
		description: 'reverse the running transition (write the opposite value to enabled), with confirmation',
		category: 'action',
		when: (ctx) =>
			noPrompt(ctx) && (ctx.screen === 'main' || ctx.screen === 'patch-detail') && ctx.transition,
		disabled: actionGuard,
	},
	{
		id: 'force',
		request: true,
		keys: ['F'],
		description: 'force the running transition (type the patch name to confirm; breaks consistency)',
		category: 'action',
		when: (ctx) =>
			noPrompt(ctx) && (ctx.screen === 'main' || ctx.screen === 'patch-detail') && ctx.transition,
		disabled: actionGuard,
	},
	{
		id: 'disable',
		request: true,
		keys: ['D'],
		description:
			'disable the selected patch (on a thread: the patch it holds back), starts unpatching, with confirmation',
		category: 'action',
		when: (ctx) => noPrompt(ctx) && (ctx.screen === 'main' || ctx.screen === 'patch-detail'),
		disabled: actionGuard,
	},
	{
		id: 'enable',
		request: true,
		keys: ['E'],
		description:
			'enable the selected patch again (on a thread: the patch it holds back), where the kernel allows it',
		category: 'action',
		when: (ctx) => noPrompt(ctx) && (ctx.screen === 'main' || ctx.screen === 'patch-detail'),
		disabled: actionGuard,
	},

	// Prompt
	...promptBindings(),

	{
		id: 'dialog-confirm',
		request: true,
		keys: ['y'],
		description: 'yes: do what the dialog lists (never enough to force: that needs the name typed)',
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'confirm',
		footer: 'Yes',
	},
	{
		id: 'dialog-submit',
		request: true,
		keys: ['enter'],
		description: 'force dialog: confirm the patch name typed',
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'typed',
		footer: 'Confirm',
	},
	{
		id: 'dialog-cancel',
		keys: ['escape', 'n'],
		description: 'cancel: nothing is done (while typing a name, Esc only: n is a letter there)',
		category: 'dialog',
		when: (ctx) => (ctx.dialog ?? null) !== null,
		footer: 'Cancel',
	},
	{
		id: 'dialog-backspace',
		keys: ['backspace'],
		description: 'force dialog: delete the last character typed',
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'typed',
	},
];

/** The subset of Ink's `Key` that `keyName` reads. */
export type KeyFlags = {
	readonly upArrow?: boolean;
	readonly downArrow?: boolean;
	readonly leftArrow?: boolean;
	readonly rightArrow?: boolean;
	readonly pageUp?: boolean;
	readonly pageDown?: boolean;
	readonly home?: boolean;
	readonly end?: boolean;
	readonly return?: boolean;
	readonly escape?: boolean;
	readonly tab?: boolean;
	readonly backspace?: boolean;
	readonly delete?: boolean;
	readonly ctrl?: boolean;
	readonly shift?: boolean;
	readonly meta?: boolean;
};

/**
Name a key press as Ink's `useInput` reports it, or null for input that is no single key (a paste).

Terminals send DEL (0x7f) for the Backspace key and Ink calls that `delete`; both are `backspace`
here, since nothing in the dashboard deletes forwards.
*/
export function keyName(input: string, key: KeyFlags): string | null {
	if (key.upArrow) return 'up';
	if (key.downArrow) return 'down';
	if (key.leftArrow) return 'left';
	if (key.rightArrow) return 'right';
	if (key.pageUp) return 'pageup';
	if (key.pageDown) return 'pagedown';
	if (key.home) return 'home';
	if (key.end) return 'end';
	// A CR typed before raw mode was on reaches us as LF (the tty's ICRNL): still Enter.
	if (key.return || input === '\r' || input === '\n') return 'enter';
	if (key.tab) return key.shift ? 'shift+tab' : 'tab';
	if (key.backspace || key.delete) return 'backspace';
	if (key.escape && input === '') return 'escape';
	if (key.ctrl && input.length === 1) return `ctrl+${input.toLowerCase()}`;
	if (input === ' ') return 'space';
	// Raw control characters, as they come when keys arrive together in one chunk (see `keyNames`).
	if (input === '\t') return 'tab';
	if (input === '\u007F' || input === '\b') return 'backspace';
	if (input === '\u001B') return 'escape';
	if (input.length === 1 && input < ' ') return `ctrl+${String.fromCharCode(input.charCodeAt(0) + 96)}`;
	// A lone ESC that Ink could not parse further arrives as `meta` with empty input.
	if (key.escape) return 'escape';
	if ([...input].length === 1) return input;
	return null;
}

/**
True for a key name that is a single printable character (text for a prompt): whatever the
sanitiser would replace (controls, bidi overrides, zero-width and private-use characters) is not text.
*/
export function isPrintable(name: string): boolean {
	return name === 'space' || ([...name].length === 1 && isClean(name));
}

/** The binding a key runs in this context, or null when the key does nothing here. First match wins. */
export function matchKey<C = KeyContext, I extends string = CommandId>(
	name: string,
	ctx: C,
	map: ReadonlyArray<Binding<C, I>> = keymap as unknown as ReadonlyArray<Binding<C, I>>,
): Binding<C, I> | null {
	for (const binding of map) {
		if (binding.keys.includes(name) && binding.when(ctx)) {
			return binding;
		}
	}

	return null;
}

/** Bindings with a footer label that apply now, in map order. */
export function footerBindings<C = KeyContext, I extends string = CommandId>(
	ctx: C,
	map: ReadonlyArray<Binding<C, I>> = keymap as unknown as ReadonlyArray<Binding<C, I>>,
): Array<Binding<C, I>> {
	return map.filter(
		(binding) =>
			binding.footer !== undefined &&
			binding.when(ctx) &&
			(binding.footerWhen === undefined || binding.footerWhen(ctx)),
	);
}

/** How a key name is printed for people: `Enter`, `Esc`, `PgUp`, `Ctrl-L`, `Space`, `\`. */
export function displayKey(name: string): string {
	const names: Record<string, string> = {
		up: '↑',
		down: '↓',
		left: '←',
		right: '→',
		pageup: 'PgUp',
		pagedown: 'PgDn',
		home: 'Home',
		end: 'End',
		enter: 'Enter',
		escape: 'Esc',
		tab: 'Tab',
		'shift+tab': 'S-Tab',
		backspace: 'Bksp',
		space: 'Space',
	};
	const named = names[name];
	if (named !== undefined) {
		return named;
	}

	// htop's function keys: f1 -> F1.
	if (/^f\d+$/.test(name)) {
		return name.toUpperCase();
	}

	if (name.startsWith('ctrl+')) {
		return `Ctrl-${name.slice(5).toUpperCase()}`;
	}

	return name;
}

/** ASCII spelling of the arrow key names for `--ascii`. */
export function displayKeyAscii(name: string): string {
	const arrows: Record<string, string> = {up: 'Up', down: 'Down', left: 'Left', right: 'Right'};
	return arrows[name] ?? displayKey(name);
}
