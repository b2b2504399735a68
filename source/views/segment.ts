/** A styled run of text on one line; views describe lines as arrays of these. */
import {cellWidth, truncate} from './format.js';

export type Segment = {
	readonly text: string;
	readonly color?: string;
	readonly backgroundColor?: string;
	readonly bold?: boolean;
	readonly dim?: boolean;
	readonly inverse?: boolean;
	readonly underline?: boolean;
};

/** Cut segments so their total width is at most `width` cells; with `pad`, fill the rest with spaces. */
export function fitSegments(segments: readonly Segment[], width: number, pad = false): Segment[] {
	const out: Segment[] = [];
	let used = 0;
	for (const segment of segments) {
		if (used >= width) {
			break;
		}

		const w = cellWidth(segment.text);
		if (used + w <= width) {
			out.push(segment);
			used += w;
		} else {
			const text = truncate(segment.text, width - used);
			out.push({...segment, text});
			used += cellWidth(text);
		}
	}

	if (pad && used < width) {
		const last = out.at(-1);
		// Extend the last segment's style (an inverse selection bar runs to the edge).
		out.push({...(last ?? {}), text: ' '.repeat(width - used)});
	}

	return out;
}

const foreground: Readonly<Record<string, number>> = {
	black: 30,
	red: 31,
	green: 32,
	yellow: 33,
	blue: 34,
	magenta: 35,
	cyan: 36,
	white: 37,
	gray: 90,
	grey: 90,
};

export type LineStyle = {
	/** Fill the line to the width (bars: selection, headers). */
	readonly pad?: boolean;
	/** Applied to every segment (the selection bar). */
	readonly inverse?: boolean;
	readonly bold?: boolean;
};

/**
One line as a string with SGR styles, cut to `width` cells: what `Line` puts in a single Ink
`<Text>`. Styling segments here rather than as nested `<Text>` elements matters for speed: Ink
lays out and squashes every element on every render, and a table row of a dozen styled cells would
be a dozen elements; as one string it is one (the task table is one element for all its rows).
Colours only with `theme.color`; bold, dim, underline and inverse always (they carry meaning).
*/
export function renderSegments(
	segments: readonly Segment[],
	width: number,
	theme: {readonly color: boolean},
	style: LineStyle = {},
): string {
	const padded = style.pad === true || style.inverse === true;
	const parts = fitSegments(segments, width, padded);
	if (!padded) trimEnd(parts);
	// Runs of equal style become one escape sequence: fewer bytes, and less for Ink to tokenize.
	let out = '';
	let runCodes = '';
	let runText = '';
	const flush = () => {
		if (runText === '') return;
		out += runCodes === '' ? runText : `\u001B[${runCodes}m${runText}\u001B[0m`;
	};

	for (const part of parts) {
		const codes: number[] = [];
		if (part.bold || style.bold) codes.push(1);
		if (part.dim) codes.push(2);
		if (part.underline) codes.push(4);
		if (part.inverse || style.inverse) codes.push(7);
		if (theme.color) {
			const fg = part.color === undefined ? undefined : foreground[part.color];
			const bg = part.backgroundColor === undefined ? undefined : foreground[part.backgroundColor];
			if (fg !== undefined) codes.push(fg);
			if (bg !== undefined) codes.push(bg + 10);
		}

		const joined = codes.join(';');
		if (joined === runCodes) {
			runText += part.text;
		} else {
			flush();
			runCodes = joined;
			runText = part.text;
		}
	}

	flush();
	return out;
}

/** Drop trailing blanks that nothing shows (no inverse, underline or background): bytes on the wire. */
function trimEnd(parts: Segment[]): void {
	while (parts.length > 0) {
		const last = parts.at(-1)!;
		if (last.inverse || last.underline || last.backgroundColor !== undefined) return;
		const text = last.text.trimEnd();
		if (text !== '') {
			parts[parts.length - 1] = {...last, text};
			return;
		}

		parts.pop();
	}
}
