/**
The patch panel: one dense line per loaded patch (name, enabled, transition, replace, stack_order,
objects/functions, a state word). Hand-rolled rows rather than a boxed table: a box costs three
lines plus one separator per row, and this panel must stay small at 80x24.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {
	HistoryEvent,
	LastTransition,
	PatchInfo,
	TransitionProgress,
	TransitionTimeline,
} from '../model/types.js';
import {fit, formatDuration, percent, switchedCount} from './format.js';
import {Line, Lines, Title} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';
import {glyphs} from './theme.js';
import {markRow, sparkline, timelineMarks, timelineSpan} from './timeline.js';

export type PatchPanelProps = {
	readonly patches: readonly PatchInfo[];
	readonly transition: TransitionProgress | null;
	readonly lastTransition: LastTransition | null;
	/** Livepatch modules loaded with no patch listed (`Snapshot.leftoverModules`); null when unknown. */
	readonly leftoverModules?: readonly string[] | null;
	readonly selected: string | null;
	readonly focused: boolean;
	/** Patch lines available (the title line is extra). */
	readonly rows: number;
	readonly width: number;
	readonly theme: Theme;
	/**
	The current (or last) transition over time, drawn in `timelineRows` lines (0 or 2) under the
	patches: pending threads as a sparkline, and under it the marks (fake signals, our actions,
	reversals, force). `events` supplies our actions (the event log's), `now` the snapshot's time.
	*/
	readonly timeline?: TransitionTimeline | null;
	readonly timelineRows?: number;
	readonly events?: readonly HistoryEvent[];
	readonly now?: number;
};

const markColors: Readonly<Record<string, string>> = {S: 'blue', A: 'yellow', R: 'magenta', F: 'red'};
const markNames: Readonly<Record<string, string>> = {
	S: 'fake signal',
	A: 'our action',
	R: 'reversed',
	F: 'forced',
};

/** The two timeline lines: `pending <sparkline> 100->1 2m05s` and `marks <S A R F> legend`. */
export function timelineSegments(
	timeline: TransitionTimeline,
	events: readonly HistoryEvent[],
	now: number,
	width: number,
	theme: Theme,
): [Segment[], Segment[]] {
	const g = glyphs(theme);
	const label = 10;
	const suffix = 24;
	const cells = Math.max(8, width - label - suffix);
	const {start, end} = timelineSpan(timeline, now);
	const first = timeline.samples[0]?.pending ?? 0;
	const last = timeline.endedAt === null ? (timeline.samples.at(-1)?.pending ?? 0) : 0;
	const took = formatDuration((end - start) / 1000);
	const spark: Segment[] = [
		{text: fit('  pending', label), dim: true},
		{
			text: sparkline(timeline, now, cells, theme.ascii),
			color: timeline.endedAt === null ? 'yellow' : 'green',
		},
		{text: ` ${first}${g.arrow}${last} ${timeline.endedAt === null ? took : `done in ${took}`}`},
	];
	const row = markRow(timelineMarks(timeline, events, now), start, end, cells);
	const marks: Segment[] = [{text: fit('  marks', label), dim: true}];
	for (const char of row) {
		const color = markColors[char];
		const previous = marks.at(-1)!;
		if (marks.length > 1 && previous.color === color) {
			marks[marks.length - 1] = {...previous, text: previous.text + char};
		} else {
			marks.push(color === undefined ? {text: char} : {text: char, color, bold: true});
		}
	}

	const present = ['S', 'A', 'R', 'F'].filter((char) => row.includes(char));
	const legend = present.map((char) => `${char} ${markNames[char]}`).join(', ');
	marks.push({text: ` ${legend.length <= suffix - 1 ? legend : present.join(' ')}`, dim: true});
	return [spark, marks];
}

/** One word (or two) for where a patch stands: `patching 87%`, `unpatching 40%`, `applied`, `disabled`. */
export function patchStateWord(
	patch: PatchInfo,
	transition: TransitionProgress | null,
	lastTransition: LastTransition | null,
): string {
	if (transition !== null && transition.patch === patch.name) {
		return `${transition.direction} ${percent(switchedCount(transition), transition.total)}%`;
	}

	if (patch.transition) {
		return patch.enabled ? 'patching' : 'unpatching';
	}

	const forced =
		lastTransition !== null && lastTransition.patch === patch.name && lastTransition.outcome === 'forced';
	if (patch.enabled) {
		return forced ? 'applied (forced)' : 'applied';
	}

	return forced ? 'disabled (forced)' : 'disabled';
}

/**
What the empty panel says. After unpatching (reverse of a load, disable) the patch directory goes
but the module stays loaded until `rmmod`: "no livepatch module is loaded" is said only when
/proc/modules was read and lists none.
*/
export function noPatchSegments(leftoverModules: readonly string[] | null): Segment[] {
	if (leftoverModules === null) {
		return [{text: '  no patch under /sys/kernel/livepatch', dim: true}];
	}

	if (leftoverModules.length === 0) {
		return [{text: '  no livepatch module is loaded', dim: true}];
	}

	const names = leftoverModules.map((name) => clean(name)).join(' ');
	return [
		{text: '  no patch is active; still loaded (disabled): '},
		{text: names, bold: true},
		{text: `  unload with: rmmod ${names}`, color: 'yellow'},
	];
}

const yesNo = (value: boolean | null) => (value === null ? '-' : value ? 'yes' : 'no');

function counts(patch: PatchInfo): string {
	let functions = 0;
	for (const object of patch.objects) {
		functions += object.functions.length;
	}

	return `${patch.objects.length}/${functions}`;
}

export function PatchPanel(props: PatchPanelProps) {
	const {patches, transition, lastTransition, selected, focused, rows, width, theme} = props;
	const {timeline = null, timelineRows = 0, events = [], now = 0} = props;
	const timelineLines =
		timeline !== null && timelineRows >= 2
			? timelineSegments(timeline, events, now, width, theme).map((segments) => ({segments}))
			: [];
	const g = glyphs(theme);
	if (patches.length === 0) {
		return (
			<Box flexDirection="column" width={width}>
				<Title text="Patches 0" width={width} theme={theme} focused={focused} />
				<Lines
					lines={[{segments: noPatchSegments(props.leftoverModules ?? null)}, ...timelineLines]}
					width={width}
					theme={theme}
				/>
			</Box>
		);
	}

	const selectedIndex = Math.max(
		0,
		patches.findIndex((patch) => patch.name === selected),
	);
	const top = Math.min(Math.max(0, selectedIndex - rows + 1), Math.max(0, patches.length - rows));
	const visible = patches.slice(top, top + rows);
	// Fixed columns, then the name takes what is left.
	const fixed = ' ENABLED TRANS REPLACE ORDER OBJ/FN ';
	const stateWidth = 17;
	// The name column is as wide as the longest name (within what the width leaves), not wider.
	let longest = 10;
	for (const patch of patches) longest = Math.max(longest, clean(patch.name).length);
	const nameWidth = Math.max(8, Math.min(longest, width - 2 - fixed.length - stateWidth));
	const lines = visible.map((patch) => {
		const state = patchStateWord(patch, transition, lastTransition);
		const inTransition = state.startsWith('patching') || state.startsWith('unpatching');
		const segments: Segment[] = [
			{text: '  '},
			{text: fit(clean(patch.name), nameWidth, 'left', g.ellipsis), bold: true},
			{text: ` ${fit(yesNo(patch.enabled), 7)}`},
			{text: ` ${fit(patch.transition ? 'yes' : 'no', 5)}`, color: patch.transition ? 'yellow' : undefined},
			{text: ` ${fit(yesNo(patch.replace), 7)}`},
			{text: ` ${fit(patch.stackOrder === null ? '-' : String(patch.stackOrder), 5, 'right')}`},
			{text: ` ${fit(counts(patch), 6, 'right')}`},
			{text: ' '},
			{
				text: fit(state, stateWidth),
				color: inTransition
					? 'yellow'
					: state.includes('forced')
						? 'red'
						: patch.enabled
							? 'green'
							: undefined,
				bold: inTransition,
			},
		];
		return {segments, inverse: focused && patch.name === selected, bold: !focused && patch.name === selected};
	});
	// The title line doubles as the column header, so the panel costs one line plus one per patch.
	const window = patches.length > rows ? ` (${top + 1}-${top + visible.length})` : '';
	const label = fit(` Patches ${patches.length}${window}`, nameWidth + 2);
	return (
		<Box flexDirection="column" width={width}>
			<Line
				width={width}
				theme={theme}
				segments={[
					{text: label, bold: true, inverse: focused},
					{text: `${fixed}${fit('STATE', stateWidth)}`, dim: true},
				]}
			/>
			<Lines lines={[...lines, ...timelineLines]} width={width} theme={theme} />
		</Box>
	);
}
