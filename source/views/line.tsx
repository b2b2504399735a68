/**
One terminal line made of styled segments, cut to a width in cells. Every view draws through this,
so no line can wrap (a wrapped line would make the frame taller than planned) and styling obeys
the theme in one place.

Segment text must already be sanitised (`clean()`); this component only measures and styles it.
*/
import {Text} from 'ink';
import {useContext} from 'react';
import type {Theme} from './theme.js';
import {glyphs} from './theme.js';
import {cellWidth} from './format.js';
import {markerLength, maxMarkedLines, RawLinesContext} from '../renderer/index.js';
import type {RawLines} from '../renderer/index.js';
import {renderSegments} from './segment.js';
import type {LineStyle, Segment} from './segment.js';

export type {Segment} from './segment.js';

export type LineProps = {
	readonly segments: readonly Segment[];
	readonly width: number;
	readonly theme: Theme;
	/** Fill the line to `width` (for bars: selection, headers). */
	readonly pad?: boolean;
	/** Applied to the whole line (selection). */
	readonly inverse?: boolean;
	readonly bold?: boolean;
};

export function Line({segments, width, theme, pad = false, inverse = false, bold = false}: LineProps) {
	const registry = useContext(RawLinesContext);
	return finished([renderSegments(segments, width, theme, {pad, inverse, bold})], width, registry);
}

/**
Several lines as one Ink element (one layout node however many lines: see `renderSegments`).

Under a `RawLinesContext` registry (the dashboard), Ink gets one short marker per line (here and in
`Line`) and the finished lines go to the registry, to be put back into the frame by `resolveRawLines`: Ink then does
not take every styled line apart character by character on every frame (see `raw-lines.ts`).
*/
export function Lines({
	lines,
	width,
	theme,
}: {
	readonly lines: ReadonlyArray<{readonly segments: readonly Segment[]} & LineStyle>;
	readonly width: number;
	readonly theme: Theme;
}) {
	const registry = useContext(RawLinesContext);
	if (lines.length === 0) return null;
	const rendered = lines.map((line) => renderSegments(line.segments, width, theme, line));
	return finished(rendered, width, registry);
}

/** Finished lines as one `<Text>`: themselves, or their markers under a registry. */
function finished(lines: readonly string[], width: number, registry: RawLines | null) {
	if (registry !== null && width >= markerLength && lines.length <= maxMarkedLines) {
		return <Text>{registry.register(lines).join('\n')}</Text>;
	}

	// Ink drops an empty <Text> from the layout; a space keeps the line.
	return <Text>{lines.map((line) => (line === '' ? ' ' : line)).join('\n')}</Text>;
}

/**
A pane's title line: `── Tasks: 12 blockers ───…`. The focused pane's title is inverse so the
pane that takes the arrow keys is visible without colour.
*/
export function Title({
	text,
	width,
	theme,
	focused = false,
	right = '',
}: {
	readonly text: string;
	readonly width: number;
	readonly theme: Theme;
	readonly focused?: boolean;
	readonly right?: string;
}) {
	const {rule} = glyphs(theme);
	const head = `${rule}${rule}`;
	const label = ` ${text} `;
	const tail = right === '' ? '' : ` ${right} ${rule}${rule}`;
	const fill = Math.max(0, width - cellWidth(head) - cellWidth(label) - cellWidth(tail));
	return (
		<Line
			width={width}
			theme={theme}
			segments={[
				{text: head, dim: true},
				{text: label, bold: true, inverse: focused},
				{text: rule.repeat(fill), dim: true},
				{text: tail, dim: true},
			]}
		/>
	);
}
