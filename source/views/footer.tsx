/**
The two bottom lines. The status line shows an open prompt, else the last message, else what the
table currently shows (population, sort, grouping, filter, tags). The footer lists the keys that
apply now, generated from the key map (the same table as the help screen), and says why actions
are off when they are.
*/
import type {Binding, KeyContext} from '../keymap.js';
import {displayKey, displayKeyAscii} from '../keymap.js';
import {clean} from '../model/sanitize.js';
import type {ColumnId, GroupMode} from '../dashboard/rows.js';
import {cellWidth} from './format.js';
import {Line} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';
import {glyphs} from './theme.js';

export type StatusLineProps = {
	readonly prompt: {readonly kind: 'search' | 'filter'; readonly text: string} | null;
	readonly status: {readonly text: string; readonly tone: 'info' | 'warn' | 'error'} | null;
	readonly summary: {
		readonly showAll: boolean;
		readonly processes: boolean;
		readonly group: GroupMode;
		readonly hideKthreads: boolean;
		readonly sort: {readonly column: ColumnId; readonly descending: boolean};
		readonly filter: string;
		readonly search: string;
		readonly tagged: number;
		readonly rows: number;
		readonly limited: boolean;
	};
	readonly width: number;
	readonly theme: Theme;
};

const sortTitles: Readonly<Record<ColumnId, string>> = {
	tid: 'TID',
	tgid: 'TGID',
	user: 'USER',
	state: 'S',
	kthread: 'K',
	patch: 'PATCH',
	stuck: 'STUCK',
	class: 'CLASS',
	function: 'FUNCTION',
	comm: 'COMM',
};

/** The status line while a prompt is open or a message is shown (the fleet screen's too), else null. */
export function promptOrStatus(
	prompt: StatusLineProps['prompt'],
	status: StatusLineProps['status'],
	cursor: string,
): Segment[] | null {
	if (prompt !== null) {
		return [
			{text: prompt.kind === 'search' ? 'Search: ' : 'Filter: ', bold: true, color: 'cyan'},
			{text: clean(prompt.text)},
			{text: cursor},
			{text: '   Enter keeps it, Esc cancels', dim: true},
		];
	}

	if (status === null) return null;
	const color = status.tone === 'error' ? 'red' : status.tone === 'warn' ? 'yellow' : 'cyan';
	return [{text: clean(status.text), color, bold: status.tone !== 'info'}];
}

export function StatusLine({prompt, status, summary, width, theme}: StatusLineProps) {
	const g = glyphs(theme);
	let segments = promptOrStatus(prompt, status, g.cursor);
	if (segments === null) {
		const parts = [
			`${summary.rows} ${summary.processes ? 'process' : 'thread'} row${summary.rows === 1 ? '' : 's'}`,
			summary.showAll ? 'all threads' : 'blockers only',
			`sort ${sortTitles[summary.sort.column]} ${summary.sort.descending ? g.sortDown : g.sortUp}`,
		];
		if (summary.group !== 'none') parts.push(`grouped by ${summary.group}`);
		if (summary.hideKthreads) parts.push('kthreads hidden');
		if (summary.limited) parts.push('--pid/--tid');
		if (summary.filter !== '') parts.push(`filter '${clean(summary.filter)}'`);
		if (summary.search !== '') parts.push(`search '${clean(summary.search)}' (n next)`);
		if (summary.tagged > 0) parts.push(`${summary.tagged} tagged`);
		segments = [{text: parts.join(` ${g.dot} `), dim: true}];
	}

	return <Line width={width} theme={theme} segments={segments} />;
}

export type FooterProps<C extends {readonly readonlyReason: string | null} = KeyContext> = {
	readonly bindings: ReadonlyArray<Binding<C, string>>;
	readonly context: C;
	readonly width: number;
	readonly theme: Theme;
};

/**
The footer's text, as segments: `key label` pairs that fit whole (an item is never cut in half),
then, when actions are off, why. Disabled keys are left out while read-only: the reason says it all.
*/
export function footerSegments<C extends {readonly readonlyReason: string | null}>({
	bindings,
	context,
	theme,
	width,
}: FooterProps<C>): Segment[] {
	const readonly = context.readonlyReason === null ? '' : `read-only: ${clean(context.readonlyReason)}`;
	const room = width - (readonly === '' ? 0 : Math.min(readonly.length, Math.floor(width / 2)) + 1);
	const segments: Segment[] = [];
	let used = 0;
	for (const binding of bindings) {
		const off = binding.disabled?.(context) ?? null;
		if (off !== null && readonly !== '') continue;
		const key = binding.keys[0]!;
		const keyText = theme.ascii ? displayKeyAscii(key) : displayKey(key);
		const label = ` ${binding.footer} `;
		const w = cellWidth(keyText) + label.length + 1;
		if (used + w > room) break;
		segments.push(
			{text: keyText, bold: off === null, inverse: off === null, dim: off !== null},
			{text: label, dim: off !== null},
			{text: ' '},
		);
		used += w;
	}

	if (readonly !== '') {
		segments.push(
			{text: ' '.repeat(Math.max(0, width - used - readonly.length))},
			{text: readonly, color: 'yellow'},
		);
	}

	return segments;
}

export function Footer<C extends {readonly readonlyReason: string | null}>(props: FooterProps<C>) {
	return <Line width={props.width} theme={props.theme} segments={footerSegments(props)} />;
}
