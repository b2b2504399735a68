/**
Pre-styled lines that go around Ink's per-character output pipeline: with a registry, `Line` and
`Lines` hand Ink a two-character Private Use Area marker per line and put the finished line in the
registry; `resolveRawLines` puts it back when Ink hands over the frame. Ink 6.8 otherwise takes
every finished line apart per character on every frame (most of a 100,000-thread table render).
Why markers cannot be forged, the outbox rule and the limits: ARCHITECTURE.md (Screen output).
*/
import {createContext} from 'react';

/**
A marker is two characters: the block (which registered element: U+E000 + slot, slot < 3200) and the
line in it (U+EC80 + index, index < 3200). Two cells, not more, because Ink still measures and copies
each marker character by character: the shorter the marker, the less of Ink's work is left.
*/
const blockBase = 0xe000;
const lineBase = 0xec80;
const slots = lineBase - blockBase;
/** Cells (and UTF-16 code units) of one marker. */
export const markerLength = 2;
/** Lines one element can mark (far more than any terminal is tall). */
export const maxMarkedLines = 0xf900 - lineBase;
/** Any Private Use Area character: where a marker (or what is left of one) begins. */
const markerChar = /[\uE000-\uF8FF]/u;

export type RawLines = {
	/**
	Store the finished lines of one element under a fresh slot and return one marker per line, to
	render in their place.
	*/
	register(lines: readonly string[]): string[];
	/** The finished line for a marker, or undefined when its slot was freed or never used. */
	lookup(slot: number, index: number): string | undefined;
	/**
	Forget what a frame no longer needs: every slot registered before the newest one `referenced`
	and not in it (older than the oldest referenced, and any skipped render's in between). Slots
	registered after the newest referenced one are kept (their frame has not come yet).
	*/
	retain(referenced: ReadonlySet<number>): void;
	/** Slots held (for tests: the registry must not grow without bound). */
	readonly size: number;
};

/** The marker for line `index` of slot `slot` (exported for tests). */
export function marker(slot: number, index: number): string {
	return String.fromCharCode(blockBase + slot, lineBase + index);
}

/** Read the marker starting at `at`, or null when it is malformed or cut. */
function decode(line: string, at: number): {slot: number; index: number} | null {
	const slot = line.charCodeAt(at) - blockBase;
	const index = line.charCodeAt(at + 1) - lineBase;
	if (!(slot >= 0 && slot < slots && index >= 0 && index < maxMarkedLines)) return null;
	return {slot, index};
}

/**
Slots are handed out round-robin, skipping held ones: a freed slot is used again only after every
other slot has been, so a marker left over from an old frame finds its slot empty (a blank line)
rather than another element's lines.

Lines equal to a block still held get that block's slot again (and count as registered now): a pane
whose lines did not change hands Ink the same markers, so Ink sees no text change, re-measures
nothing and lays nothing out again (an idle dashboard re-renders every poll; without this each
render gave every line a new marker and Ink measured the whole frame again). Two elements with
equal lines share a slot: their markers resolve to the same lines.
*/
export function createRawLines(): RawLines {
	const held = new Map<number, {order: number; readonly key: string; readonly lines: readonly string[]}>();
	/** The slot holding each block's lines, by their text (lines never hold a newline). */
	const byLines = new Map<string, number>();
	let next = 0;
	let order = 0;
	const forget = (slot: number): void => {
		const entry = held.get(slot);
		if (entry === undefined) return;
		held.delete(slot);
		if (byLines.get(entry.key) === slot) byLines.delete(entry.key);
	};

	return {
		register(lines) {
			const key = lines.join('\n');
			const same = byLines.get(key);
			const entry = same === undefined ? undefined : held.get(same);
			if (same !== undefined && entry !== undefined && entry.lines.length === lines.length) {
				entry.order = order++;
				return lines.map((_, index) => marker(same, index));
			}

			if (held.size >= slots) {
				// Nothing has been resolved for thousands of registrations (no frames?): start over.
				held.clear();
				byLines.clear();
			}

			while (held.has(next)) next = (next + 1) % slots;
			const slot = next;
			next = (next + 1) % slots;
			held.set(slot, {order: order++, key, lines: [...lines]});
			byLines.set(key, slot);
			return lines.map((_, index) => marker(slot, index));
		},
		lookup(slot, index) {
			return held.get(slot)?.lines[index];
		},
		retain(referenced) {
			let newest = -1;
			for (const slot of referenced) newest = Math.max(newest, held.get(slot)?.order ?? -1);
			for (const [slot, entry] of held) {
				// A frame without markers shows that no registered line is waiting to be shown.
				if (newest === -1 || (entry.order < newest && !referenced.has(slot))) forget(slot);
			}
		},
		get size() {
			return held.size;
		},
	};
}

/**
Null (the default): `Line` and `Lines` render their lines as Ink text, as component tests expect.
The dashboard provides a registry and resolves every frame with `resolveRawLines`.
*/
export const RawLinesContext = createContext<RawLines | null>(null);

/**
The width Ink is told the terminal has. Ink's output step builds a grid of every cell of the frame
(the root's width x its height, objects each measured and turned back into text) whatever is drawn:
with finished lines that grid holds nothing but markers and blanks, and it was most of what a frame
still cost. So while every line on screen is a finished line, the dashboard's stream tells Ink the
terminal is `markerLength` columns wide. Layout does not change: every pane Box has an explicit
width (the terminal's), so text is still measured and wrapped at full width; only the grid shrinks.
Ink writes what lies beyond it by growing the grid's rows and then drops the empty cells, so the
markers (at column 0 of full-width panes, nothing side by side) come out as before and
`resolveRawLines` puts the full lines back. What would not survive is Ink-drawn content after a gap
(a margin, a box side by side with another): the gap would collapse. Only the patch detail has
Ink-drawn content (its boxed table), and it gets the terminal's width: the App says which screen is
up (`narrow`) before Ink lays the frame out. The same kind of outbox as the registry: written while
rendering, read only by the stream Ink renders to (`run-dashboard.tsx`).
*/
export type InkLayout = {narrow: boolean};
export const InkLayoutContext = createContext<InkLayout | null>(null);

/**
Put the finished lines back into a frame from Ink: on each frame line, the text from a marker to the
end of the line becomes the registered line (what precedes the marker stays). A marker the registry
does not know leaves the rest of its line blank. Trailing blanks are trimmed as Ink trims its rows, so
the result is what Ink would have produced from the finished lines themselves. Then the registry
forgets the slots this frame no longer references.
*/
export function resolveRawLines(frame: string, registry: RawLines): string {
	const referenced = new Set<number>();
	if (!markerChar.test(frame)) {
		registry.retain(referenced);
		return frame;
	}

	const lines = frame.split('\n');
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i]!;
		const at = line.search(markerChar);
		if (at === -1) continue;
		const found = decode(line, at);
		if (found !== null) referenced.add(found.slot);
		const raw = found === null ? undefined : registry.lookup(found.slot, found.index);
		lines[i] = (line.slice(0, at) + (raw ?? '')).trimEnd();
	}

	registry.retain(referenced);
	return lines.join('\n');
}
