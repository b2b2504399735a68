import type {TaskClass} from '../model/types.js';

/**
How the dashboard draws: colour or not (`NO_COLOR`, `--no-color`), Unicode or ASCII (`--ascii`).
Views take a `Theme` prop and never look at the environment themselves.
*/

export type Theme = {
	/** Colours on. Bold, dim and inverse stay on without colour: they carry meaning, not decoration. */
	readonly color: boolean;
	/** Only ASCII glyphs: no box drawing, block or arrow characters. */
	readonly ascii: boolean;
};

export type Glyphs = {
	readonly rule: string;
	readonly ellipsis: string;
	readonly barOn: string;
	readonly barOff: string;
	readonly sortDown: string;
	readonly sortUp: string;
	readonly collapsed: string;
	readonly expanded: string;
	readonly member: string;
	readonly tag: string;
	readonly arrow: string;
	readonly pointer: string;
	readonly cursor: string;
	readonly dot: string;
};

const unicode: Glyphs = {
	rule: '─',
	ellipsis: '…',
	barOn: '█',
	barOff: '░',
	sortDown: '▼',
	sortUp: '▲',
	collapsed: '▸',
	expanded: '▾',
	member: '│',
	tag: '*',
	arrow: '→',
	pointer: '▶',
	cursor: '▏',
	dot: '·',
};

const ascii: Glyphs = {
	rule: '-',
	ellipsis: '~',
	barOn: '#',
	barOff: '-',
	sortDown: 'v',
	sortUp: '^',
	collapsed: '+',
	expanded: '-',
	member: '|',
	tag: '*',
	arrow: '->',
	pointer: '>',
	cursor: '_',
	dot: '|',
};

export function glyphs(theme: Theme): Glyphs {
	return theme.ascii ? ascii : unicode;
}

/** A colour name when colours are on, else undefined (so Ink emits no colour code). */
export function paint(theme: Theme, color: string): string | undefined {
	return theme.color ? color : undefined;
}

/** Colour of a blocker class: red for what only reverse/force can help, yellow for what a signal can. */
export const classColor: Readonly<Record<TaskClass, string | undefined>> = {
	running: 'green',
	interruptible: 'yellow',
	uninterruptible: 'red',
	stopped: 'cyan',
	zombie: 'magenta',
	unknown: undefined,
};
