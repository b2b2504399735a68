/**
Pre-styled lines that go around Ink's per-character output pipeline.

Why: `Lines` already hands Ink finished lines (text with SGR styles, cut to the width), yet Ink 6.8
still takes every one of them apart and puts it back together, character by character, on every
frame (`output.js`: `tokenize` + `styledCharsFromTokens` per line, `styledCharsToString` per row, no
cache across frames). With 100,000 threads in the model that was most of a task-table render. So
when the dashboard provides a registry, `Lines` gives Ink a short placeholder per line instead, a
marker of Private Use Area characters, and the finished line goes into the registry; when Ink hands
over the frame, `resolveRawLines` puts each finished line back in place of its marker, before the
frame writer diffs the frame against the screen.

The one controlled side effect in a view: with a registry, rendering `Lines` writes to it. It is an
outbox, not state: nothing in the UI ever reads it back, the same props put the same lines in it, and
what reaches the terminal is exactly what rendering without a registry shows (tests compare the two
cell by cell). Only the id in the markers differs from render to render, which is what lets an old
frame's lines be forgotten.

One marker per line, not one per block, so that Ink's vertical clipping (a Box with
`overflow="hidden"`, a frame cut to the terminal) drops exactly the lines it would have dropped.

Why markers cannot be forged: Private Use Area code points never come from our own text, and every
foreign string (process names, stack lines, log lines) goes through `clean()` (`model/sanitize.ts`),
which turns them into `?`. A marker that does not name a line in the registry leaves its line blank.

Limits: a marker is `markerLength` cells wide, so `Lines` only uses markers at least that wide
(otherwise Ink would wrap the marker); and everything after a marker on a frame line is replaced by
the finished line, so nothing may stand to the right of a `Lines` block (in our views, nothing does:
every pane is a full-width column).
*/
import {createContext} from 'react';

/** First code point of every marker (U+E000, the first Private Use Area code point). */
const start = 0xe000;
/** Digits are U+E100 + 0..4095. */
const digitBase = 0xe100;
const radix = 4096;
const idDigits = 3;
const indexDigits = 2;
/** Cells (and UTF-16 code units) of one marker. */
export const markerLength = 1 + idDigits + indexDigits;
/** Lines one `Lines` element can mark (far more than any terminal is tall). */
export const maxMarkedLines = radix ** indexDigits;
/** Ids run up to this (68.7 billion renders: 21 years at 100 renders a second). */
const idSpace = radix ** idDigits;
const startChar = String.fromCharCode(start);

export type RawLines = {
	/**
	Store the finished lines of one `Lines` element under a fresh id and return one marker per line,
	to render in their place.
	*/
	register(lines: readonly string[]): string[];
	/** The finished line for a marker, or undefined when the id was forgotten or never registered. */
	lookup(id: number, index: number): string | undefined;
	/**
	Forget what a frame no longer needs: every id older than the newest one `referenced` and not in
	it, so ids older than the oldest referenced one and any skipped render's in between. Ids newer than
	the newest referenced one are kept (registered by a render whose frame has not come yet).
	*/
	retain(referenced: ReadonlySet<number>): void;
	/** Ids held (for tests: the registry must not grow without bound). */
	readonly size: number;
};

function digits(value: number, count: number): string {
	let out = '';
	for (let i = 0; i < count; i++) {
		out = String.fromCharCode(digitBase + (value % radix)) + out;
		value = Math.floor(value / radix);
	}

	return out;
}

/** The marker for line `index` of id `id` (exported for tests). */
export function marker(id: number, index: number): string {
	return startChar + digits(id, idDigits) + digits(index, indexDigits);
}

/** Read the marker starting at `at` (its start character), or null when it is malformed or cut. */
function decode(line: string, at: number): {id: number; index: number} | null {
	if (at + markerLength > line.length) return null;
	let id = 0;
	let index = 0;
	for (let i = 1; i < markerLength; i++) {
		const digit = line.charCodeAt(at + i) - digitBase;
		if (digit < 0 || digit >= radix) return null;
		if (i <= idDigits) id = id * radix + digit;
		else index = index * radix + digit;
	}

	return {id, index};
}

export function createRawLines(): RawLines {
	const held = new Map<number, readonly string[]>();
	let next = 0;
	return {
		register(lines) {
			if (next === idSpace) {
				// Ids would repeat: start over (the frame on screen may show blank lines until the next render).
				next = 0;
				held.clear();
			}

			const id = next++;
			held.set(id, [...lines]);
			return lines.map((_, index) => marker(id, index));
		},
		lookup(id, index) {
			return held.get(id)?.[index];
		},
		retain(referenced) {
			let newest = -1;
			for (const id of referenced) newest = Math.max(newest, id);
			for (const id of held.keys()) {
				// A frame without markers shows that no registered line is waiting to be shown.
				if (newest === -1 || (id < newest && !referenced.has(id))) held.delete(id);
			}
		},
		get size() {
			return held.size;
		},
	};
}

/**
Null (the default): `Lines` renders its lines as Ink text, as component tests and `--once` expect.
The dashboard provides a registry and resolves every frame with `resolveRawLines`.
*/
export const RawLinesContext = createContext<RawLines | null>(null);

/**
Put the finished lines back into a frame from Ink: on each frame line, the text from a marker to the
end of the line becomes the registered line (what precedes the marker stays). A marker the registry
does not know leaves the rest of its line blank. Trailing blanks are trimmed as Ink trims its rows, so
the result is what Ink would have produced from the finished lines themselves. Then the registry
forgets the ids this frame no longer references.
*/
export function resolveRawLines(frame: string, registry: RawLines): string {
	const referenced = new Set<number>();
	if (!frame.includes(startChar)) {
		registry.retain(referenced);
		return frame;
	}

	const lines = frame.split('\n');
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i]!;
		const at = line.indexOf(startChar);
		if (at === -1) continue;
		const found = decode(line, at);
		if (found !== null) referenced.add(found.id);
		const raw = found === null ? undefined : registry.lookup(found.id, found.index);
		lines[i] = (line.slice(0, at) + (raw ?? '')).trimEnd();
	}

	registry.retain(referenced);
	return lines.join('\n');
}
