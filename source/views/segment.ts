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
