/**
Rewrite one terminal line with as few bytes as possible: only the cells between the first and the
last that changed, starting with a cursor move to the first one.

In a steady refresh most lines change in a few cells (a STUCK time goes from 15s to 16s, a
countdown from 9s to 8s), and rewriting whole lines would cost a hundred bytes each where a dozen
do. Lines are Ink's output: text with SGR styles (`ESC [ ... m`). They are read into cells that
carry the complete style in effect, so a changed span can start mid-line with the right style.
A line with any other escape sequence is simply rewritten whole.
*/

export type Cell = {
	/** The character (plus any zero-width characters that follow it). */
	readonly ch: string;
	/** SGR sequence that sets this cell's complete style from a reset, '' for the default style. */
	readonly style: string;
	/** Terminal columns it takes (1 or 2). */
	readonly width: number;
};

type SgrState = {
	bold: boolean;
	dim: boolean;
	italic: boolean;
	underline: boolean;
	inverse: boolean;
	strike: boolean;
	fg: string;
	bg: string;
};

const fresh = (): SgrState => ({
	bold: false,
	dim: false,
	italic: false,
	underline: false,
	inverse: false,
	strike: false,
	fg: '',
	bg: '',
});

function apply(state: SgrState, params: string): void {
	const codes = params === '' ? ['0'] : params.split(';');
	for (let i = 0; i < codes.length; i++) {
		const code = Number(codes[i]);
		if (code === 38 || code === 48) {
			// Extended colour: 38;5;n or 38;2;r;g;b, kept verbatim.
			const take = codes[i + 1] === '5' ? 3 : codes[i + 1] === '2' ? 5 : 1;
			const value = codes.slice(i, i + take).join(';');
			if (code === 38) state.fg = value;
			else state.bg = value;
			i += take - 1;
			continue;
		}

		if (code === 0) Object.assign(state, fresh());
		else if (code === 1) state.bold = true;
		else if (code === 2) state.dim = true;
		else if (code === 3) state.italic = true;
		else if (code === 4) state.underline = true;
		else if (code === 7) state.inverse = true;
		else if (code === 9) state.strike = true;
		else if (code === 22) {
			state.bold = false;
			state.dim = false;
		} else if (code === 23) state.italic = false;
		else if (code === 24) state.underline = false;
		else if (code === 27) state.inverse = false;
		else if (code === 29) state.strike = false;
		else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) state.fg = String(code);
		else if (code === 39) state.fg = '';
		else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) state.bg = String(code);
		else if (code === 49) state.bg = '';
	}
}

function styleOf(state: SgrState): string {
	const codes: string[] = [];
	if (state.bold) codes.push('1');
	if (state.dim) codes.push('2');
	if (state.italic) codes.push('3');
	if (state.underline) codes.push('4');
	if (state.inverse) codes.push('7');
	if (state.strike) codes.push('9');
	if (state.fg !== '') codes.push(state.fg);
	if (state.bg !== '') codes.push(state.bg);
	return codes.length === 0 ? '' : `\u001B[0;${codes.join(';')}m`;
}

/** Read a line into cells, or null when it holds an escape sequence other than SGR. */
export function parseCells(line: string, widthOf: (cp: number) => number): Cell[] | null {
	const cells: Cell[] = [];
	const state = fresh();
	let style = '';
	let i = 0;
	while (i < line.length) {
		const c = line.charCodeAt(i);
		if (c === 0x1b) {
			// eslint-disable-next-line no-control-regex
			const m = /^\u001B\[([0-9;]*)m/.exec(line.slice(i, i + 40));
			if (m === null) return null;
			apply(state, m[1]!);
			style = styleOf(state);
			i += m[0].length;
			continue;
		}

		const cp = line.codePointAt(i)!;
		const ch = String.fromCodePoint(cp);
		i += ch.length;
		const width = widthOf(cp);
		if (width === 0 && cells.length > 0) {
			const last = cells.at(-1)!;
			cells[cells.length - 1] = {...last, ch: last.ch + ch};
			continue;
		}

		cells.push({ch, style, width: width === 0 ? 1 : width});
	}

	return cells;
}

function sameCell(a: Cell | undefined, b: Cell | undefined): boolean {
	return a !== undefined && b !== undefined && a.ch === b.ch && a.style === b.style && a.width === b.width;
}

/** Write cells from..to (inclusive) starting at `column` (0-based) on `row` (0-based). */
function span(cells: readonly Cell[], from: number, to: number, row: number, column: number): string {
	let out = `\u001B[${row + 1};${column + 1}H`;
	let current = '';
	for (let i = from; i <= to; i++) {
		const cell = cells[i]!;
		if (cell.style !== current) {
			out += cell.style === '' ? '\u001B[0m' : cell.style;
			current = cell.style;
		}

		out += cell.ch;
	}

	if (current !== '') out += '\u001B[0m';
	return out;
}

/**
Bytes that turn row `row` from `before` into `after` (both parsed), or '' when nothing changed.
`eraseTail`: the new line is shorter, so what follows it must be erased (EL; never needed when the
new line fills the row, and never sent then: EL in the pending-wrap state would erase its last cell).
*/
export function diffCells(before: readonly Cell[], after: readonly Cell[], row: number): string {
	let first = 0;
	let column = 0;
	while (first < after.length && sameCell(before[first], after[first])) {
		column += after[first]!.width;
		first++;
	}

	const shorter = after.length < before.length;
	if (first === after.length && !shorter) return '';
	let out = '';
	if (first < after.length) {
		let last = after.length - 1;
		if (after.length === before.length) {
			while (last > first && sameCell(before[last], after[last])) last--;
		}

		out += span(after, first, last, row, column);
	}

	if (shorter) {
		// The span above, if any, ended at the new line's last cell: the cursor already stands after it.
		let end = 0;
		for (const cell of after) end += cell.width;
		out += `${out === '' ? `\u001B[${row + 1};${end + 1}H` : ''}\u001B[K`;
	}

	return out;
}
