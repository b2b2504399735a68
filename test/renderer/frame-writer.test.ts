// The frame writer and its line diff: what reaches the terminal after a change is exactly the new
// screen (text and styles, checked on an independent terminal model), and costs only the changed
// cells; a repaint clears first; nothing is drawn below the last row or after close().
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {createFrameWriter} from '../../source/renderer/frame-writer.js';
import {diffCells, parseCells} from '../../source/renderer/line-diff.js';
import {codePointWidth} from '../../source/views/format.js';
import {ScreenModel} from '../ui/screen-model.js';

const one = () => 1;

describe('parseCells', () => {
	it('gives every cell its complete style, whatever codes led to it', () => {
		const cells = parseCells('a\u001B[1;33mb\u001B[22mc\u001B[39md\u001B[0me', one)!;
		expect(cells.map((cell) => cell.ch).join('')).toBe('abcde');
		expect(cells.map((cell) => cell.style)).toEqual(['', '\u001B[0;1;33m', '\u001B[0;33m', '', '']);
	});

	it('keeps zero-width characters with their base and counts wide ones as two columns', () => {
		const cells = parseCells('e\u0301界x', codePointWidth)!;
		expect(cells.map((cell) => [cell.ch, cell.width])).toEqual([
			['e\u0301', 1],
			['界', 2],
			['x', 1],
		]);
	});

	it('refuses lines with escape sequences other than SGR', () => {
		expect(parseCells('a\u001B[2Jb', one)).toBeNull();
		expect(parseCells('a\u001B]8;;http://x\u0007b', one)).toBeNull();
	});
});

describe('diffCells', () => {
	const row = (text: string) => parseCells(text, one)!;

	it('rewrites only the cells that changed', () => {
		const text = '   182 root  S   0->1      15s intr    klp_sleeper_wait  cat';
		const before = row(text);
		const after = row(text.replace('15s', '16s'));
		// Row 7, at the column of the '5' (1-based): a cursor move and one character.
		expect(diffCells(before, after, 6)).toBe(`\u001B[7;${text.indexOf('15s') + 2}H6`);
	});

	it('restores the style in effect at the first changed cell, and resets after', () => {
		const before = row('x \u001B[33m15s\u001B[39m y');
		const after = row('x \u001B[33m16s\u001B[39m y');
		expect(diffCells(before, after, 0)).toBe('\u001B[1;4H\u001B[0;33m6\u001B[0m');
	});

	it('erases the tail when the line got shorter, and writes nothing when it did not change', () => {
		expect(diffCells(row('abcdef'), row('abc'), 2)).toBe('\u001B[3;4H\u001B[K');
		expect(diffCells(row('abcdef'), row('abX'), 2)).toBe('\u001B[3;3HX\u001B[K');
		expect(diffCells(row('abc'), row('abc'), 2)).toBe('');
	});

	it('turns any line into any other on a real terminal model (text and style)', () => {
		const styled = fc
			.array(
				fc.record({
					text: fc.stringMatching(/^[a-z0-9 ]{0,6}$/),
					codes: fc.subarray(['1', '2', '4', '7', '31', '33', '36', '42']),
				}),
				{maxLength: 8},
			)
			.map((runs) =>
				runs
					.map(({text, codes}) => (codes.length === 0 ? text : `\u001B[${codes.join(';')}m${text}\u001B[0m`))
					.join(''),
			);
		fc.assert(
			fc.property(styled, styled, (before, after) => {
				const expected = new ScreenModel(80, 3);
				expected.feed(`\u001B[2;1H${after}`);
				const actual = new ScreenModel(80, 3);
				actual.feed(`\u001B[2;1H${before}`);
				actual.feed('\u001B[0m' + diffCells(parseCells(before, one)!, parseCells(after, one)!, 1));
				expect(actual.lines()[1]).toBe(expected.lines()[1]);
				expect(actual.styles(1)).toEqual(expected.styles(1));
			}),
		);
	});
});

describe('createFrameWriter', () => {
	function setup(columns = 40, rows = 5) {
		const writes: string[] = [];
		const queue: Array<() => void> = [];
		const writer = createFrameWriter(
			{
				columns,
				rows,
				write: (data: string) => {
					writes.push(data);
				},
			},
			{schedule: (flush) => queue.push(flush)},
		);
		const run = () => {
			for (const flush of queue.splice(0)) flush();
		};

		const screen = () => {
			const model = new ScreenModel(columns, rows);
			for (const data of writes) model.feed(data);
			return model;
		};

		return {writer, writes, run, screen};
	}

	it('paints the first frame after a clear, then only what changed, once per turn', () => {
		const {writer, writes, run, screen} = setup();
		writer.frame('title\nrow 15s\nfooter');
		writer.frame('title\nrow 15s\nfooter');
		run();
		expect(writes).toHaveLength(1);
		expect(writes[0]).toContain('\u001B[2J');
		writer.frame('title\nrow 16s\nfooter');
		run();
		expect(writes).toHaveLength(2);
		expect(writes[1]).toBe('\u001B[?2026h\u001B[2;6H6\u001B[?2026l');
		expect(screen().lines().slice(0, 3)).toEqual(['title', 'row 16s', 'footer']);
	});

	it('by default writes a frame once the render that made it returns, ahead of immediates queued before', async () => {
		const order: string[] = [];
		const writer = createFrameWriter({
			columns: 10,
			rows: 2,
			write() {
				order.push('frame written');
			},
		});
		const turn = new Promise<void>((resolve) => {
			setImmediate(() => {
				order.push("a poll's next turn");
				resolve();
			});
		});
		writer.frame('a key\nrow');
		writer.frame('a key\nrows');
		expect(order).toEqual([]);
		await turn;
		expect(order).toEqual(['frame written', "a poll's next turn"]);
	});

	it('clears lines a shorter frame no longer uses', () => {
		const {writer, run, screen} = setup();
		writer.frame('a\nb\nc');
		run();
		writer.frame('a');
		run();
		expect(screen().lines().slice(0, 3)).toEqual(['a', '', '']);
	});

	it('repaints everything after invalidate()', () => {
		const {writer, writes, run, screen} = setup();
		writer.frame('one\ntwo');
		run();
		writer.invalidate();
		run();
		expect(writes).toHaveLength(2);
		expect(writes[1]).toContain('\u001B[2J');
		expect(screen().lines().slice(0, 2)).toEqual(['one', 'two']);
	});

	it('never draws below the last row', () => {
		const {writer, writes, run} = setup(40, 2);
		writer.frame('1\n2\n3\n4');
		run();
		expect(writes[0]).not.toContain('\u001B[3;1H');
		expect(writes[0]).toContain('\u001B[2;1H2');
	});

	it('writes nothing after close()', () => {
		const {writer, writes, run} = setup();
		writer.frame('x');
		writer.close();
		run();
		writer.frame('y');
		run();
		expect(writes).toHaveLength(0);
	});
});
