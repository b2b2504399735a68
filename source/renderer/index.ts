/**
Our partial renderer beside Ink's: Ink lays out and reconciles, we put its frames on the terminal.

Why: Ink 6.8 takes every finished line apart character by character on each frame, and its
incremental writer drifts by a line (or clears the whole terminal) on frames shorter than the
screen. So views hand Ink short markers for finished lines (`raw-lines.ts`), Ink renders in debug
mode into `FrameStream`, which puts the lines back, and the frame writer (`frame-writer.ts`) rewrites
only the changed cells of changed lines (`line-diff.ts`) at absolute positions.
*/
export {createFrameWriter} from './frame-writer.js';
export type {FrameOut, FrameWriter, FrameWriterOptions} from './frame-writer.js';
export {FrameStream} from './frame-stream.js';
export {diffCells, parseCells} from './line-diff.js';
export type {Cell} from './line-diff.js';
export {
	createRawLines,
	InkLayoutContext,
	marker,
	markerLength,
	maxMarkedLines,
	RawLinesContext,
	resolveRawLines,
} from './raw-lines.js';
export type {InkLayout, RawLines} from './raw-lines.js';
