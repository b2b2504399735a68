/**
The fleet screen's parts, pure functions of their props (sized by the App, like the host
dashboard's views): the title and count lines, the per-patch table, the host table (one dense line
per host or group), the status line, and an action's confirmation page. Every line goes through
`Line`/`Lines` (cut to the width, styled by the theme); every string is sanitised in `cells.ts` or
here.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import {fit, formatClock} from '../views/format.js';
import {Line, Lines, Title} from '../views/line.js';
import type {Segment} from '../views/line.js';
import type {Theme} from '../views/theme.js';
import {glyphs} from '../views/theme.js';
import {promptOrStatus} from '../views/footer.js';
import {dialogLines} from './act.js';
import {columnTitles, fleetColumns, hostCells} from './cells.js';
import type {Condition, FleetSummary} from './model.js';
import type {FleetColumnId, FleetRow, FleetView} from './rows.js';
import type {FleetDialog, FleetPrompt, FleetStatus} from './screen-state.js';
import {patchLines} from './text.js';

export const conditionColor: Readonly<Record<Condition, string | undefined>> = {
	failing: 'red',
	stuck: 'red',
	transition: 'yellow',
	connecting: 'cyan',
	'no-livepatch': undefined,
	applied: 'green',
	idle: undefined,
};

export type FleetHeaderProps = {
	readonly summary: FleetSummary;
	readonly delayS: number;
	readonly paused: boolean;
	readonly now: number;
	readonly width: number;
	readonly theme: Theme;
};

/** Two lines: what this is, and the counts (the fleet at a glance). */
export function FleetHeader({summary, delayS, paused, now, width, theme}: FleetHeaderProps) {
	const g = glyphs(theme);
	const c = summary.counts;
	const title: Segment[] = [{text: 'klptop fleet', bold: true}];
	if (paused) title.push({text: ' '}, {text: 'FROZEN', inverse: true, bold: true});
	title.push({
		text: ` ${g.dot} ${c.hosts} host${c.hosts === 1 ? '' : 's'} over ssh ${g.dot} every ${delayS}s ${g.dot} ${formatClock(now)}`,
	});
	// Below 100 columns the short words; counts beyond the first three only when not zero.
	const short = width < 100;
	const count = (n: number, text: string, brief: string, color: string, strong = false): Segment[] => [
		{text: String(n), bold: true, ...(n > 0 ? {color} : {dim: true})},
		{text: ` ${short ? brief : text}`, ...(n > 0 && strong ? {color, bold: true} : {})},
	];
	const sep: Segment = {text: ` ${g.dot} `, dim: true};
	const counts: Segment[] = [
		...count(c.applied, 'applied', 'applied', 'green'),
		sep,
		...count(c.inTransition, 'in transition', 'in trans', 'yellow'),
		{text: ' ('},
		...count(c.stuck, 'stuck > 60s', 'stuck>60s', 'red', true),
		{text: ')'},
		sep,
		...count(c.unreachable, 'unreachable', 'unreach', 'red', true),
	];
	const optional: Array<[number, string, string, string, boolean]> = [
		[c.failing, 'failing', 'failing', 'red', true],
		[c.noLivepatch, 'no livepatch', 'no-lp', 'cyan', false],
		[c.connecting, 'connecting', 'connect', 'cyan', false],
		[c.notRoot, 'not root', 'not root', 'yellow', false],
	];
	for (const [n, text, brief, color, strong] of optional) {
		if (n > 0 || (!short && text === 'no livepatch'))
			counts.push(sep, ...count(n, text, brief, color, strong));
	}

	return (
		<Box flexDirection="column" width={width}>
			<Line width={width} theme={theme} segments={title} />
			<Line width={width} theme={theme} segments={counts} />
		</Box>
	);
}

/** Per patch name: hosts with it applied, in transition, missing. */
export function PatchTable({
	summary,
	rows,
	width,
	theme,
}: {
	readonly summary: FleetSummary;
	readonly rows: number;
	readonly width: number;
	readonly theme: Theme;
}) {
	const [head, ...lines] = patchLines(summary, width);
	const shown = lines.slice(0, rows);
	const more = lines.length - shown.length;
	const body: Array<{segments: Segment[]}> =
		shown.length === 0
			? [{segments: [{text: '  no patch loaded on any reporting host', dim: true}]}]
			: shown.map((text, i) => ({
					segments: [{text: i === shown.length - 1 && more > 0 ? `${text}   (+${more} more patches)` : text}],
				}));
	while (body.length < rows) body.push({segments: [{text: ' '}]});
	return (
		<Box flexDirection="column" width={width}>
			<Line width={width} theme={theme} segments={[{text: head!, bold: true, underline: true}]} />
			<Lines lines={body} width={width} theme={theme} />
		</Box>
	);
}

export type HostTableProps = {
	readonly rows: readonly FleetRow[];
	readonly top: number;
	readonly selectedIndex: number;
	/** Body lines (the column header is extra). */
	readonly height: number;
	readonly width: number;
	readonly sort: FleetView['sort'];
	readonly now: number;
	readonly emptyText: string;
	readonly theme: Theme;
};

function cell(text: string, width: number, right = false): string {
	return fit(text, width, right ? 'right' : 'left');
}

/** The host table: a column header, then one line per host or group. Only visible rows are built. */
export function HostTable({
	rows,
	top,
	selectedIndex,
	height,
	width,
	sort,
	now,
	emptyText,
	theme,
}: HostTableProps) {
	const g = glyphs(theme);
	const visible = rows.slice(top, top + height);
	const longest = Math.max(
		0,
		...visible.map((row) =>
			row.kind === 'host' ? [...clean(row.state.host.name)].length + (row.member ? 2 : 0) : 0,
		),
	);
	const columns = fleetColumns(width, longest);
	const arrow = sort.descending ? g.sortDown : g.sortUp;
	const header = columns
		.map((column) => {
			const title = columnTitles[column.id] + (column.id === sort.column ? arrow : '');
			return cell(title, column.width, column.right);
		})
		.join(' ');
	const noteFrom = columns.findIndex((column) => column.id === 'transition');
	const longestLabel = Math.max(
		0,
		...visible.map((row) => (row.kind === 'group' ? [...row.label].length : 0)),
	);
	const labelWidth = Math.max(
		columns[0]!.width + 1 + columns[1]!.width,
		Math.min(Math.floor(width * 0.45), longestLabel + 3),
	);
	const lines = visible.map((row, i) => {
		const selected = top + i === selectedIndex;
		if (row.kind === 'group') {
			const hostWidth = labelWidth;
			const parts = [...row.conditions].map(([condition, n]) => `${n} ${condition}`);
			return {
				inverse: selected,
				segments: [
					{text: `${row.expanded ? g.expanded : g.collapsed} `, bold: true},
					{
						text: cell(row.label, Math.max(8, hostWidth - 2)) + ' ',
						bold: true,
						color: conditionColor[row.worst],
					},
					{text: `${row.hosts.length} host${row.hosts.length === 1 ? '' : 's'}: ${parts.join(', ')}`},
				] satisfies Segment[],
			};
		}

		const cells = hostCells(row.state, row.condition, now, theme.ascii);
		const failing = row.condition === 'failing' || row.state.status === 'pushing';
		const color = conditionColor[row.condition];
		const segments: Segment[] = [];
		for (const [n, column] of columns.entries()) {
			const id: FleetColumnId = column.id;
			if (failing && n >= noteFrom) {
				segments.push({text: cells.note, color: 'red'});
				break;
			}

			let text = cells[id];
			if (id === 'host' && row.member) text = `  ${text}`;
			if (id === 'function' && text === '' && cells.note !== '') {
				segments.push({text: `(${cells.note})`, dim: true});
				continue;
			}

			const segment: Segment = {text: cell(text, column.width, column.right) + ' '};
			if (id === 'state') segments.push({...segment, color, bold: row.condition === 'stuck' || failing});
			else if (id === 'helps' && text.startsWith('N')) segments.push({...segment, color: 'yellow'});
			else if (id === 'age' && row.state.status === 'stalled') segments.push({...segment, color: 'red'});
			else segments.push(segment);
		}

		return {inverse: selected, segments};
	});
	if (lines.length === 0) lines.push({inverse: false, segments: [{text: `  ${emptyText}`, dim: true}]});
	// The table keeps its height: the status line and the footer stay at the bottom of the screen.
	while (lines.length < height) lines.push({inverse: false, segments: [{text: ' '}]});
	return (
		<Box flexDirection="column" width={width}>
			<Line width={width} theme={theme} pad inverse segments={[{text: header}]} />
			<Lines lines={lines} width={width} theme={theme} />
		</Box>
	);
}

export type FleetStatusProps = {
	readonly prompt: FleetPrompt | null;
	readonly status: FleetStatus | null;
	readonly view: FleetView;
	readonly search: string;
	readonly rows: number;
	readonly width: number;
	readonly theme: Theme;
};

export function FleetStatusLine({prompt, status, view, search, rows, width, theme}: FleetStatusProps) {
	const g = glyphs(theme);
	let segments = promptOrStatus(prompt, status, g.cursor);
	if (segments === null) {
		const parts = [
			`${rows} row${rows === 1 ? '' : 's'}`,
			`sort ${columnTitles[view.sort.column]} ${view.sort.descending ? g.sortDown : g.sortUp}`,
		];
		if (view.group !== 'none') parts.push(`grouped by ${view.group}`);
		if (view.filter !== '') parts.push(`filter '${clean(view.filter)}'`);
		if (search !== '') parts.push(`search '${clean(search)}' (n next)`);
		segments = [{text: parts.join(` ${g.dot} `), dim: true}];
	}

	return <Line width={width} theme={theme} segments={segments} />;
}

/** The confirmation page of an action: the host named first, the remote command spelled out. */
export function FleetDialogView({
	dialog,
	height,
	width,
	theme,
}: {
	readonly dialog: FleetDialog;
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
}) {
	const lines = dialogLines(dialog).map((text, i) => ({
		segments: [
			{text, bold: i === 0, color: dialog.kind === 'force' && i < 3 ? 'red' : undefined},
		] as Segment[],
	}));
	const shown = lines.slice(0, Math.max(1, height));
	while (shown.length < height) shown.push({segments: [{text: ' '}]});
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text={`Confirm: ${dialog.kind} on ${clean(dialog.host)}`} width={width} theme={theme} focused />
			<Lines lines={shown} width={width} theme={theme} />
		</Box>
	);
}
