/**
One terminal line made of styled segments, cut to a width in cells. Every view draws through this,
so no line can wrap (a wrapped line would make the frame taller than planned) and styling obeys
the theme in one place.

Segment text must already be sanitised (`clean()`); this component only measures and styles it.
*/
import {Text} from 'ink';
import type {Theme} from './theme.js';
import {cellWidth} from './format.js';
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
	const text = renderSegments(segments, width, theme, {pad, inverse, bold});
	// Ink drops an empty <Text> from the layout; a space keeps the line.
	return <Text>{text === '' ? ' ' : text}</Text>;
}

/** Several lines as one Ink element (one layout node however many lines: see `renderSegments`). */
export function Lines({
	lines,
	width,
	theme,
}: {
	readonly lines: ReadonlyArray<{readonly segments: readonly Segment[]} & LineStyle>;
	readonly width: number;
	readonly theme: Theme;
}) {
	if (lines.length === 0) return null;
	const text = lines
		.map((line) => renderSegments(line.segments, width, theme, line))
		.map((line) => (line === '' ? ' ' : line))
		.join('\n');
	return <Text>{text}</Text>;
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
	const rule = theme.ascii ? '-' : '─';
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
