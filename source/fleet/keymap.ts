/**
Every key of the fleet screen, as data (the host dashboard's `keymap.ts` shape and helpers): the
footer, the help screen and the input handler read this one table. Keys mean what they mean on the
host dashboard (`/` search, `\` filter, `<` `>` sort, `g` group, Enter open, Esc back, `k` nudge,
`R` reverse, `F` force), and nothing acts on many hosts with one key: every action names one host.
*/
import {actionBusy, moveBindings, promptBindings} from '../keymap.js';
import type {Binding} from '../keymap.js';

export type FleetKeyContext = {
	readonly screen: 'main' | 'help' | 'too-small';
	readonly prompt: 'search' | 'filter' | null;
	/** Kind of the selected row. */
	readonly row: 'host' | 'group' | null;
	/** The selected host has a transition running (per its last document). */
	readonly transition: boolean;
	/** A search term is set (for `n`). */
	readonly search: boolean;
	/** Why actions are off (no `--allow-actions`), else null. */
	readonly readonlyReason: string | null;
	/** A confirmation dialog: `confirm` takes y / n, `typed` the host's name (force). */
	readonly dialog: 'confirm' | 'typed' | null;
	/** An action is running on some host. */
	readonly busy: boolean;
};

export const fleetCommandIds = [
	'quit',
	'help',
	'back',
	'redraw',
	'pause',
	'up',
	'down',
	'page-up',
	'page-down',
	'home',
	'end',
	'open-host',
	'toggle-group',
	'search',
	'search-next',
	'search-prev',
	'filter',
	'sort-left',
	'sort-right',
	'sort-invert',
	'cycle-group',
	'nudge',
	'reverse',
	'force',
	'prompt-confirm',
	'prompt-cancel',
	'prompt-backspace',
	'dialog-confirm',
	'dialog-submit',
	'dialog-cancel',
	'dialog-backspace',
] as const;

export type FleetCommandId = (typeof fleetCommandIds)[number];
export type FleetBinding = Binding<FleetKeyContext, FleetCommandId>;

const always = () => true;
const noPrompt = (ctx: FleetKeyContext) => ctx.prompt === null && ctx.dialog === null;
const onMain = (ctx: FleetKeyContext) => noPrompt(ctx) && ctx.screen === 'main';
const onList = (ctx: FleetKeyContext) => noPrompt(ctx) && (ctx.screen === 'main' || ctx.screen === 'help');
const onHost = (ctx: FleetKeyContext) => onMain(ctx) && ctx.row === 'host';

/** Actions: off without --allow-actions, and one at a time. */
export const fleetActionGuard = (ctx: FleetKeyContext): string | null =>
	ctx.readonlyReason !== null ? `read-only: ${ctx.readonlyReason}` : ctx.busy ? actionBusy : null;

export const fleetKeymap: readonly FleetBinding[] = [
	{
		id: 'quit',
		keys: ['q', 'ctrl+c', 'f10'],
		description: 'quit (ssh connections end, pushed copies are removed)',
		category: 'general',
		when: always,
		footer: 'Quit',
	},
	{
		id: 'help',
		keys: ['h', '?', 'f1'],
		description: 'this help: every key',
		category: 'general',
		when: (ctx) => noPrompt(ctx) && ctx.screen === 'main',
		footer: 'Help',
	},
	{
		id: 'back',
		keys: ['escape'],
		description:
			'back: close the help; on the fleet, clear the filter and search (in a host: back to the fleet)',
		category: 'general',
		when: noPrompt,
		footer: 'Back',
		footerWhen: (ctx) => ctx.screen !== 'main' || ctx.search,
	},
	{id: 'redraw', keys: ['ctrl+l'], description: 'redraw the whole screen', category: 'general', when: always},
	{
		id: 'pause',
		keys: ['Z', 'p'],
		description: 'freeze / unfreeze the screen (the streams keep running)',
		category: 'general',
		when: onMain,
		footer: 'Pause',
	},

	...moveBindings(onList),
	{
		id: 'open-host',
		keys: ['enter'],
		description: "open the host's full dashboard, fed by its stream (Esc comes back)",
		category: 'move',
		when: onHost,
		footer: 'Open',
	},
	{
		id: 'toggle-group',
		keys: ['enter'],
		description: 'on a group line: show or hide its hosts',
		category: 'move',
		when: (ctx) => onMain(ctx) && ctx.row === 'group',
		footer: 'Expand',
	},

	{
		id: 'search',
		keys: ['/', 'f3'],
		description:
			'search: jump to the next host whose name, group, kernel, patch, function or error has the text',
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
		description: 'filter: only hosts with the text (name, group, kernel, patch, function, state, error)',
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
	{
		id: 'cycle-group',
		keys: ['g'],
		description: 'group hosts: by kernel release, by patch, by blocking function, none',
		category: 'view',
		when: onMain,
		footer: 'Group',
	},

	{
		id: 'nudge',
		keys: ['k'],
		description:
			"nudge the selected host's nudgeable blockers (its klptop nudge, with its guards), with confirmation",
		category: 'action',
		when: (ctx) => onHost(ctx) && ctx.transition,
		disabled: fleetActionGuard,
		footer: 'Nudge',
	},
	{
		id: 'reverse',
		keys: ['R'],
		description: "reverse the selected host's transition (its klptop reverse), with confirmation",
		category: 'action',
		when: (ctx) => onHost(ctx) && ctx.transition,
		disabled: fleetActionGuard,
	},
	{
		id: 'force',
		keys: ['F'],
		description: "force the selected host's transition (its klptop force; type the host's name to confirm)",
		category: 'action',
		when: (ctx) => onHost(ctx) && ctx.transition,
		disabled: fleetActionGuard,
	},

	...promptBindings(),

	{
		id: 'dialog-confirm',
		keys: ['y'],
		description: 'yes: run it on that one host',
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'confirm',
		footer: 'Yes',
	},
	{
		id: 'dialog-submit',
		keys: ['enter'],
		description: "force: confirm the host's name typed",
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'typed',
		footer: 'Confirm',
	},
	{
		id: 'dialog-cancel',
		keys: ['escape', 'n'],
		description: 'cancel: nothing is done (while typing a name, Esc only)',
		category: 'dialog',
		when: (ctx) => ctx.dialog !== null,
		footer: 'Cancel',
	},
	{
		id: 'dialog-backspace',
		keys: ['backspace'],
		description: 'force: delete the last character typed',
		category: 'dialog',
		when: (ctx) => ctx.dialog === 'typed',
	},
];

/** The help screen's legend of the fleet table's columns and states. */
export const fleetLegend: readonly string[] = [
	'HOST inventory name or ssh alias; STATE STUCK (transition > 60s), transit, applied, idle, no-lp (no',
	'livepatch support), connect, pushing, or what fails: unreach, auth-fail, host-key (unknown or changed:',
	'never accepted silently), no-klptop, sudo-fail, stalled (no document for 3 intervals), garbage, exited;',
	'KERNEL release; PATCH enabled/loaded patches; TRANSITION direction (▲ patching ▼ unpatching), elapsed,',
	'pending/total threads; BLOCK blockers by state letter (S sleeping, D uninterruptible, R running, T',
	'stopped, Z zombie); HELP what can still help (N nudge, W wait, R reverse, K kill, F force); AGE of',
	'the last document; FUNCTION the patched function most blockers sleep in. Stuck and failing hosts come first.',
];
