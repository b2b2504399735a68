/**
The task table: one dense line per thread (or process, or group), no separator lines, hand-rolled
so a 100,000-row model costs only the visible rows: the view slices `rows` before it creates a
single element, and column widths are computed from the visible slice.

Columns: TID TGID USER S K PATCH STUCK CLASS FUNCTION [object] COMM. At narrow widths TGID, then
USER, then K give way, and FUNCTION drops its `[object]` before it is cut.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {TaskClass} from '../model/types.js';
import type {ColumnId, TaskRow} from '../dashboard/rows.js';
import {fit, formatDuration, functionLabel} from './format.js';
import {Line, Lines} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';
import {classColor, glyphs} from './theme.js';

export type TaskTableProps = {
	/** The rows in display order; only the visible window is taken (a `RowList`, or an array). */
	readonly rows: {readonly length: number; slice(start: number, end: number): readonly TaskRow[]};
	/** First row on screen. */
	readonly top: number;
	readonly selectedIndex: number;
	/** Body lines (the column header is extra). */
	readonly height: number;
	readonly width: number;
	readonly sort: {readonly column: ColumnId; readonly descending: boolean};
	readonly tagged: ReadonlySet<string>;
	readonly focused: boolean;
	/** The running transition's target patch_state, for the PATCH column (`0->1`). */
	readonly target: 0 | 1 | null;
	/** One row per process: TID shows the process id and COMM its thread count. */
	readonly processes: boolean;
	/** What to say when there is no row. */
	readonly emptyText: string;
	readonly theme: Theme;
};

export type Column = {
	readonly id: ColumnId;
	readonly title: string;
	readonly width: number;
	readonly align: 'left' | 'right';
};

const classShort: Readonly<Record<TaskClass, string>> = {
	running: 'run',
	interruptible: 'intr',
	uninterruptible: 'unintr',
	stopped: 'stop',
	zombie: 'zombie',
	unknown: '?',
};

function digits(n: number): number {
	return n <= 0 ? 1 : Math.floor(Math.log10(n)) + 1;
}

/** Column layout for a width, sized from the rows that will be drawn. */
export function tableColumns(
	width: number,
	visible: readonly TaskRow[],
	sort: ColumnId,
	processes: boolean,
): Column[] {
	let maxId = 0;
	for (const row of visible) {
		if (row.tid > maxId) maxId = row.tid;
		if (row.tgid > maxId) maxId = row.tgid;
	}

	const idWidth = Math.max(5, digits(maxId) + 1);
	const wideClass = width >= 120;
	const fixed: Column[] = [
		{id: 'tid', title: processes ? 'PID' : 'TID', width: idWidth, align: 'right'},
		{id: 'tgid', title: 'TGID', width: idWidth, align: 'right'},
		{id: 'user', title: 'USER', width: 5, align: 'left'},
		{id: 'state', title: 'S', width: sort === 'state' ? 2 : 1, align: 'left'},
		{id: 'kthread', title: 'K', width: sort === 'kthread' ? 2 : 1, align: 'left'},
		{id: 'patch', title: 'PATCH', width: 6, align: 'left'},
		{id: 'stuck', title: 'STUCK', width: 6, align: 'right'},
		{id: 'class', title: 'CLASS', width: wideClass ? 16 : 7, align: 'left'},
	];
	const commWidth = processes ? 22 : 16;
	const minFunction = 14;
	const dropOrder: ColumnId[] = ['tgid', 'user', 'kthread'];
	let columns = fixed;
	const used = () => 2 + columns.reduce((sum, column) => sum + column.width + 1, 0);
	for (const drop of dropOrder) {
		if (width - used() >= minFunction + 1 + 10) break;
		columns = columns.filter((column) => column.id !== drop);
	}

	const rest = Math.max(0, width - used());
	const comm = Math.max(6, Math.min(commWidth, rest - minFunction - 1));
	const fn = Math.max(1, rest - comm - 1);
	return [
		...columns,
		{id: 'function', title: 'FUNCTION [object]', width: fn, align: 'left'},
		{id: 'comm', title: 'COMM', width: comm, align: 'left'},
	];
}

function userText(uid: number | null): string {
	if (uid === null) return '?';
	return uid === 0 ? 'root' : String(uid);
}

function functionText(row: TaskRow, width: number): string {
	if (row.function === null) {
		return row.blocking > 0 ? '?' : '';
	}

	const full = functionLabel(row.function, row.object, {hideVmlinux: true});
	return full.length <= width ? full : clean(row.function);
}

function cell(row: TaskRow, column: Column, target: 0 | 1 | null, theme: Theme, processes: boolean): Segment {
	const g = glyphs(theme);
	const w = column.width;
	const text = (value: string, extra: Omit<Segment, 'text'> = {}): Segment => ({
		text: fit(value, w, column.align, g.ellipsis),
		...extra,
	});
	switch (column.id) {
		case 'tid':
			return text(String(row.tid));
		case 'tgid':
			return text(String(row.tgid), {dim: row.tgid === row.tid});
		case 'user':
			return text(userText(row.uid));
		case 'state':
			return text(clean(row.state));
		case 'kthread':
			return text(row.kthread ? 'K' : '', {color: 'magenta', bold: true});
		case 'patch': {
			if (row.patchState === null) return text('?', {dim: true});
			const blocking =
				row.blocking > 0 && target !== null && row.patchState !== target && row.patchState !== -1;
			// ASCII on purpose: a single non-ASCII character sends Ink's width measurement of the whole
			// line down its slow (grapheme segmenting) path, and this column is on every row.
			return text(blocking ? `${row.patchState}->${target}` : String(row.patchState), {
				color: blocking ? 'yellow' : undefined,
			});
		}

		case 'stuck': {
			const s = row.stuckS;
			return text(formatDuration(s), {
				color: s === null ? undefined : s >= 60 ? 'red' : s >= 15 ? 'yellow' : undefined,
				dim: s === null,
			});
		}

		case 'class':
			return row.class === null
				? text('')
				: text(w >= 15 ? row.class : classShort[row.class], {color: classColor[row.class]});
		case 'function':
			return text(functionText(row, w), {color: row.function === null ? undefined : 'cyan'});
		case 'comm': {
			const comm = clean(row.comm);
			return text(processes && row.kind === 'process' ? `${comm} (${row.count})` : comm, {
				bold: row.blocking > 0,
			});
		}
	}
}

function groupSegments(row: TaskRow, theme: Theme): Segment[] {
	const g = glyphs(theme);
	const threads = `${row.count} thread${row.count === 1 ? '' : 's'}`;
	const label =
		row.key === 'g:n'
			? '(not blocking the transition)'
			: row.key.startsWith('g:f:')
				? row.function === null
					? '(blocking, no patched function found on the stack)'
					: functionLabel(row.function, row.object, {hideVmlinux: true})
				: `${clean(row.comm)} (pid ${row.tgid})`;
	const segments: Segment[] = [
		{text: `${row.expanded ? g.expanded : g.collapsed} `, bold: true},
		{
			text: label,
			bold: true,
			color: row.key.startsWith('g:f:') && row.function !== null ? 'cyan' : undefined,
		},
		{text: `  ${threads}`},
	];
	if (row.blocking > 0 && row.blocking !== row.count) segments.push({text: `, ${row.blocking} blocking`});
	if (row.summary) segments.push({text: ` (${row.summary})`, dim: true});
	if (row.stuckS !== null) segments.push({text: `  stuck up to ${formatDuration(row.stuckS)}`});
	return segments;
}

export function TaskTable(props: TaskTableProps) {
	const {
		rows,
		top,
		selectedIndex,
		height,
		width,
		sort,
		tagged,
		focused,
		target,
		processes,
		emptyText,
		theme,
	} = props;
	const g = glyphs(theme);
	// Slice first: nothing below this line ever touches more than `height` rows.
	const visible = rows.slice(top, top + height);
	const columns = tableColumns(width, visible, sort.column, processes);
	const header: Segment[] = [{text: '  '}];
	for (const column of columns) {
		const arrow = column.id === sort.column ? (sort.descending ? g.sortDown : g.sortUp) : '';
		const title = column.title + arrow;
		header.push({
			text: fit(
				title,
				column.width,
				column.align === 'right' && title.length <= column.width ? 'right' : 'left',
			),
			underline: column.id === sort.column,
		});
		header.push({text: ' '});
	}

	const lines = visible.map((row, i) => {
		const index = top + i;
		const selected = index === selectedIndex;
		const marker = tagged.has(row.key) ? g.tag : row.member ? g.member : ' ';
		let segments: Segment[];
		if (row.kind === 'group') {
			segments = [{text: `${marker} `}, ...groupSegments(row, theme)];
		} else {
			segments = [{text: marker, color: tagged.has(row.key) ? 'yellow' : undefined, bold: true}, {text: ' '}];
			for (const column of columns) {
				segments.push(cell(row, column, target, theme, processes), {text: ' '});
			}
		}

		return {segments, inverse: selected && focused, bold: selected && !focused};
	});
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Line width={width} theme={theme} segments={header} pad inverse={focused} bold />
			{rows.length === 0 ? (
				<Line width={width} theme={theme} segments={[{text: `  ${emptyText}`, dim: true}]} />
			) : (
				<Lines lines={lines} width={width} theme={theme} />
			)}
		</Box>
	);
}
