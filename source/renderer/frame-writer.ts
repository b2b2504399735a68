/**
Puts Ink's frames on the terminal, rewriting only the lines that changed, each at an absolute
position (`CSI row;1H`), inside a synchronized update.

Why not Ink's own writer: in Ink 6.8 its incremental mode moves the cursor up relative to where the
previous frame ended and is off by one line when the frame ends with a newline (every frame shorter
than the terminal), so each refresh lands one line lower (observed in tmux: duplicated header
lines); a frame as tall as the terminal avoids that but then every render clears the whole terminal
(`ink.js` `onRender`: `lastOutputHeight >= rows` → `clearTerminal`), which flickers. Ink's debug
mode hands us each complete frame instead, and on the alternate screen absolute positioning cannot
drift: after a resize or Ctrl-L we clear and paint everything once, then go back to changed lines.

Bytes per steady-state refresh: within each changed line only the cells from the first to the last
that changed (`line-diff.ts`): a STUCK time going from 15s to 16s costs a cursor move and a couple
of characters, not the whole row.
*/
import type {Cell} from './line-diff.js';
import {diffCells, parseCells} from './line-diff.js';

const esc = '\u001B[';
/** Begin / end synchronized update (DEC mode 2026): the terminal shows the frame at once, no tearing. */
const beginSync = `${esc}?2026h`;
const endSync = `${esc}?2026l`;
const clearLine = `${esc}K`;

// eslint-disable-next-line no-control-regex
const ansi = /\u001B\[[0-9;?]*[A-Za-z]/g;

export type FrameOut = {
	write(data: string): unknown;
	readonly columns?: number;
	readonly rows?: number;
};

export type FrameWriterOptions = {
	/**
	Defers a flush so several renders in one task cost one write. @default queueMicrotask: the frame
	is written as soon as the render that made it returns, never behind an immediate queued before it
	(a poll's next turn).
	*/
	readonly schedule?: (flush: () => void) => void;
	/** Terminal columns of one code point (0, 1 or 2). @default 1 */
	readonly charWidth?: (codePoint: number) => number;
};

export type FrameWriter = {
	/** A new complete frame from Ink (lines separated by `\n`). */
	frame(text: string): void;
	/** Forget what is on screen: the next flush clears it and paints every line (Ctrl-L, resize). */
	invalidate(): void;
	/** Write what is pending now. */
	flush(): void;
	/** Stop writing for good (before the terminal is restored); pending frames are dropped. */
	close(): void;
};

export function createFrameWriter(out: FrameOut, options: FrameWriterOptions = {}): FrameWriter {
	const schedule = options.schedule ?? ((flush: () => void) => queueMicrotask(flush));
	const charWidth = options.charWidth ?? (() => 1);
	const widthOf = (plain: string) => {
		let width = 0;
		for (const ch of plain) width += charWidth(ch.codePointAt(0)!);
		return width;
	};
	let onScreen: string[] | null = null;
	/** Parsed cells of what is on screen, per row (null: not parseable, rewrite whole). */
	let cells: Array<Cell[] | null> = [];
	let latest: string | null = null;
	let dirty = false;
	let scheduled = false;
	let closed = false;

	const flush = () => {
		scheduled = false;
		if (closed || !dirty || latest === null) return;
		dirty = false;
		const rows = out.rows && out.rows > 0 ? out.rows : Number.POSITIVE_INFINITY;
		const columns = out.columns && out.columns > 0 ? out.columns : Number.POSITIVE_INFINITY;
		// Never draw below the last row: a cursor move there is clamped and would overwrite it.
		const lines = latest.split('\n').slice(0, rows);
		let buffer = '';
		const full = onScreen === null;
		if (full) buffer += `${esc}H${esc}2J`;
		const previous = onScreen ?? [];
		const count = Math.max(lines.length, Math.min(previous.length, rows));
		const nextCells: Array<Cell[] | null> = [];
		for (let i = 0; i < count; i++) {
			const line = lines[i] ?? '';
			if (!full && line === previous[i]) {
				nextCells.push(cells[i] ?? null);
				continue;
			}

			const after = parseCells(line, charWidth);
			nextCells.push(after);
			const before = full ? [] : (cells[i] ?? null);
			if (after !== null && before !== null) {
				buffer += diffCells(before, after, i);
				continue;
			}

			// Not plain SGR text: rewrite the whole line, erasing what was there.
			buffer += `${esc}${i + 1};1H${line}`;
			if (!full && widthOf(line.replace(ansi, '')) < columns) buffer += clearLine;
		}

		cells = nextCells;
		onScreen = lines;
		if (buffer !== '') out.write(beginSync + buffer + endSync);
	};

	const request = () => {
		if (scheduled || closed) return;
		scheduled = true;
		schedule(flush);
	};

	return {
		frame(text: string) {
			if (closed) return;
			latest = text;
			dirty = true;
			request();
		},
		invalidate() {
			onScreen = null;
			dirty = latest !== null;
			request();
		},
		flush,
		close() {
			closed = true;
		},
	};
}
