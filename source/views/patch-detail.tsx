/**
The detail of one patch (Enter on a patch): its attributes, its action menu (reverse, force,
disable, enable: reserved here, carried out by the actions issue) and a boxed table of its objects
and functions with their `patched` flags.

The table is `@alcalzone/ink-table` (ESM, renders under Ink 6.8). It draws Unicode box characters
and a separator between rows; for `--ascii` its skeleton component maps the box characters to
`+ - |`, and its header component obeys the colour setting. Long names are cut before they reach it
(it sizes columns from the longest value and never wraps), and rows beyond the screen are
summarised in one line.
*/
import {Table} from '@alcalzone/ink-table';
import {Box, Text} from 'ink';
import type {ReactNode} from 'react';
import {clean} from '../model/sanitize.js';
import type {History, HistoryEvent, PatchInfo} from '../model/types.js';
import type {PatchAction} from '../dashboard/patch-menu.js';
import {fit, formatClock, formatDuration, truncate} from './format.js';
import {Line, Title} from './line.js';
import {patchStateWord} from './patch-panel.js';
import type {Theme} from './theme.js';
import {glyphs, paint} from './theme.js';
import {timelineMarks, transitionHistory} from './timeline.js';
import type {HistoryLine} from './timeline.js';

const asciiBox: Readonly<Record<string, string>> = {
	'─': '-',
	'│': '|',
	'┌': '+',
	'┐': '+',
	'└': '+',
	'┘': '+',
	'├': '+',
	'┤': '+',
	'┬': '+',
	'┴': '+',
	'┼': '+',
};

function toAscii(text: string): string {
	let out = '';
	for (const ch of text) out += asciiBox[ch] ?? ch;
	return out;
}

function textOf(children: ReactNode): string {
	return typeof children === 'string'
		? children
		: Array.isArray(children)
			? children.join('')
			: String(children ?? '');
}

type FunctionRow = {object: string; patched: string; function: string; sympos: number};

export type PatchDetailProps = {
	readonly patch: PatchInfo | null;
	/** Name shown when the patch is gone. */
	readonly name: string;
	readonly history: History | null;
	/** The patch's action menu (dashboard/patch-menu.ts), empty when the patch is gone. */
	readonly actions: readonly PatchAction[];
	/** Selected action menu item. */
	readonly menu: number;
	readonly readonlyReason: string | null;
	/** Body lines available. */
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
	/** The event log's events: our actions for the transition history. */
	readonly events?: readonly HistoryEvent[];
};

/** Lines of the transition history: this patch's current or last transition, when the history has it. */
function historyOf(
	history: History | null,
	name: string,
	events: readonly HistoryEvent[],
	max: number,
): HistoryLine[] {
	const timeline = history?.timeline ?? null;
	if (timeline === null || timeline.patch !== name || max <= 0) return [];
	return transitionHistory(timelineMarks(timeline, events, history!.snapshot.time), max);
}

function historyLine(line: HistoryLine, start: number, width: number, theme: Theme) {
	return (
		<Line
			key={`${line.time}-${line.word}-${line.text}`}
			width={width}
			theme={theme}
			segments={[
				{text: `  ${formatClock(line.time)} `},
				{text: fit(`+${formatDuration((line.time - start) / 1000)}`, 7), dim: true},
				{
					text: fit(line.word, 11),
					bold: true,
					color:
						line.word === 'forced'
							? 'red'
							: line.word === 'reversed'
								? 'magenta'
								: line.word === 'our action'
									? 'yellow'
									: undefined,
				},
				{text: clean(line.text)},
			]}
		/>
	);
}

function menuLine(action: PatchAction, selected: boolean, width: number, theme: Theme, off: string | null) {
	const g = glyphs(theme);
	return (
		<Line
			key={action.id}
			width={width}
			theme={theme}
			inverse={selected}
			segments={[
				{text: selected ? ` ${g.pointer} ` : '   '},
				{
					text: action.key,
					bold: true,
					color: action.unavailable === null ? 'cyan' : undefined,
					dim: action.unavailable !== null,
				},
				{text: `  ${action.label}`, dim: action.unavailable !== null},
				{
					text:
						action.unavailable !== null
							? `  (${action.unavailable})`
							: off === null
								? '  (asks for confirmation)'
								: `  (${off})`,
					dim: true,
				},
			]}
		/>
	);
}

export function PatchDetail({
	patch,
	name,
	history,
	actions,
	menu,
	readonlyReason,
	height,
	width,
	theme,
	events = [],
}: PatchDetailProps) {
	if (patch === null) {
		return (
			<Box flexDirection="column" width={width} height={height + 1}>
				<Title text={`Patch ${clean(name)}`} width={width} theme={theme} focused />
				<Line
					width={width}
					theme={theme}
					segments={[{text: '  this patch is gone: it was unpatched and its module removed (Esc goes back)'}]}
				/>
			</Box>
		);
	}

	const state = patchStateWord(patch, history?.transition ?? null, history?.lastTransition ?? null);
	const yes = (value: boolean | null) => (value === null ? 'n/a' : value ? 'yes' : 'no');
	const facts = [
		`enabled ${yes(patch.enabled)}`,
		`transition ${yes(patch.transition)}`,
		`replace ${yes(patch.replace)}`,
		`stack_order ${patch.stackOrder ?? 'n/a'}`,
		`force ${patch.hasForce ? 'present' : 'absent'}`,
	];
	if (patch.hasSignal) facts.push('signal present');
	const off = readonlyReason === null ? null : `read-only: ${clean(readonlyReason)}`;

	// Function rows, names cut so the table fits the width.
	const all: FunctionRow[] = [];
	for (const object of patch.objects) {
		for (const fn of object.functions) {
			all.push({
				object: clean(object.name),
				patched: yes(object.patched),
				function: clean(fn.name),
				sympos: fn.sympos,
			});
		}
	}

	// Lines above the table: facts 2, blank, menu title, 4 items, blank, then the transition history
	// (title, at least 3 lines and up to half of what is left, blank); the table costs 3 + 2 per row.
	const menuUsed = 2 + 1 + 1 + actions.length + 1;
	const past = historyOf(history, patch.name, events, Math.max(3, Math.floor((height - menuUsed) / 2) - 2));
	const timeline = history?.timeline ?? null;
	const used = menuUsed + (past.length > 0 ? past.length + 2 : 0);
	const tableRoom = Math.max(0, height - used - 1);
	const maxRows = Math.max(0, Math.floor((tableRoom - 3) / 2));
	const shown = all.slice(0, maxRows);
	const nameRoom = Math.max(8, Math.floor((width - 30) / 2));
	const data = shown.map((row) => ({
		object: truncate(row.object, nameRoom, glyphs(theme).ellipsis),
		patched: row.patched,
		function: truncate(row.function, nameRoom, glyphs(theme).ellipsis),
		sympos: row.sympos,
	}));
	const skeleton = ({children}: {children?: ReactNode}) => (
		<Text dimColor>{theme.ascii ? toAscii(textOf(children)) : textOf(children)}</Text>
	);
	const header = ({children}: {children?: ReactNode}) => (
		<Text bold color={paint(theme, 'cyan')}>
			{theme.ascii ? toAscii(textOf(children)) : textOf(children)}
		</Text>
	);
	const cell = ({children}: {children?: ReactNode}) => (
		<Text>{theme.ascii ? toAscii(textOf(children)) : textOf(children)}</Text>
	);
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text={`Patch ${clean(patch.name)}: ${state}`} width={width} theme={theme} focused />
			<Line width={width} theme={theme} segments={[{text: `  ${facts.join(`  ${glyphs(theme).dot}  `)}`}]} />
			<Line
				width={width}
				theme={theme}
				segments={[
					{
						text: `  ${patch.objects.length} object${patch.objects.length === 1 ? '' : 's'}, ${all.length} function${all.length === 1 ? '' : 's'}`,
					},
				]}
			/>
			<Text> </Text>
			<Line
				width={width}
				theme={theme}
				segments={[{text: 'Actions (up/down choose, Enter runs, or press the key)', bold: true}]}
			/>
			{actions.map((action, i) => menuLine(action, i === menu, width, theme, off))}
			<Text> </Text>
			{past.length > 0 && timeline !== null ? (
				<>
					<Line
						width={width}
						theme={theme}
						segments={[
							{
								text: `Transition history (${timeline.direction}, ${timeline.endedAt === null ? 'running' : 'ended'})`,
								bold: true,
							},
						]}
					/>
					{past.map((line) => historyLine(line, timeline.startedAt, width, theme))}
					<Text> </Text>
				</>
			) : null}
			{data.length > 0 ? (
				<Table data={data} skeleton={skeleton} header={header} cell={cell} />
			) : all.length === 0 ? (
				<Line width={width} theme={theme} segments={[{text: '  no function listed', dim: true}]} />
			) : null}
			{all.length > shown.length ? (
				<Line
					width={width}
					theme={theme}
					segments={[
						{text: `  ... ${all.length - shown.length} more function(s) not shown at this height`, dim: true},
					]}
				/>
			) : null}
		</Box>
	);
}
