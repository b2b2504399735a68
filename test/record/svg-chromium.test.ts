// The report's SVG chart in a real browser: Debian's Chromium (headless) renders it to a PNG, which is
// decoded here (test/helpers/png.ts) and checked against the recorded data, not against a stored
// image: every blocker's bar has its class colour from its start to its end and no further, its
// label is left of it on its row, the pending area is as high as the pending count at each poll,
// and the kernel's fake-signal rounds and our action are vertical marks at their times. Positions
// come from the report's numbers and the chart's published geometry (`chart` in source/record/svg.ts).
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {loadRecording} from '../../source/record/load.js';
import {buildReport} from '../../source/record/report.js';
import {chart, classColors, markColors, plotWidth, reportSvg} from '../../source/record/svg.js';
import {decodePng} from '../helpers/png.js';
import type {Image} from '../helpers/png.js';
import {recordScenario, reverseAs, tempDir} from './helpers.js';

const chromium = '/usr/bin/chromium';

function hex(color: string): [number, number, number] {
	return [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16)) as [number, number, number];
}

function near(actual: readonly number[], expected: readonly number[], tolerance = 12): boolean {
	return actual.every((value, i) => Math.abs(value - expected[i]!) <= tolerance);
}

/** Some pixel within `dx` of x (on row y) has the colour. */
function colourNear(image: Image, x: number, y: number, color: string, dx = 1): boolean {
	for (let px = Math.floor(x - dx); px <= Math.ceil(x + dx); px++)
		if (near(image.pixel(px, y), hex(color))) return true;
	return false;
}

/** Dark (text) pixels in a box. */
function inked(image: Image, x0: number, y0: number, x1: number, y1: number): number {
	let count = 0;
	for (let y = Math.floor(y0); y < y1; y++) {
		for (let x = Math.floor(x0); x < x1; x++) {
			const [r, g, b] = image.pixel(x, y);
			if (r + g + b < 3 * 110) count++;
		}
	}

	return count;
}

describe('the report chart in Chromium', () => {
	it('draws bars, labels, the pending area and the marks where the data says', async () => {
		// cat 182 and kthread 398 are freed by the kernel's first round (~15 s); cat 539 (D) stays
		// until the operator reverses at 25 s, after which 182 and 398, now asleep in the patched
		// functions, hold the unpatching back until the recording ends.
		const recorded = await recordScenario('demo', 40, {
			atSecond: {25: reverseAs('bob')},
		});
		const report = buildReport(loadRecording(recorded.file));
		const t = report.transitions[0]!;
		expect(t.blockers[0]!.tid).toBe(539);
		expect(new Set(t.blockers.slice(1, 3).map((b) => b.tid))).toEqual(new Set([182, 398]));
		const svg = reportSvg(report);
		const height = Number(/height="(\d+)"/.exec(svg)![1]);
		const dir = tempDir('klptop-svg-');
		const svgFile = path.join(dir, 'chart.svg');
		const pngFile = path.join(dir, 'chart.png');
		writeFileSync(svgFile, svg);
		execFileSync(
			chromium,
			[
				'--headless',
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				`--user-data-dir=${path.join(dir, 'profile')}`,
				'--hide-scrollbars',
				'--force-device-scale-factor=1',
				`--window-size=${chart.width},${height}`,
				`--screenshot=${pngFile}`,
				`file://${svgFile}`,
			],
			{stdio: 'ignore', timeout: 60_000},
		);
		const image = decodePng(readFileSync(pngFile));
		expect([image.width, image.height]).toEqual([chart.width, height]);

		// The first panel's geometry, from the published numbers.
		const start = t.startedAt;
		// To the end of the transition, or of the recording when it still runs (the case here).
		const end = t.endedAt ?? t.samples.at(-1)!.time;
		expect(t.endedAt).toBeNull();
		const x = (time: number) => chart.left + ((time - start) / (end - start)) * plotWidth;
		const chartTop = chart.header + chart.titleHeight;
		const chartBottom = chartTop + chart.pendingHeight;
		const rowsTop = chartBottom + chart.axisHeight;
		const marks = t.marks.filter((mark) => mark.kind !== 'started' && mark.kind !== 'completed');
		const clearOfMarks = (px: number) => marks.every((mark) => Math.abs(x(mark.time) - px) > 4);

		const rows = t.blockers.slice(0, chart.maxRows);
		for (const [i, blocker] of rows.entries()) {
			const y = rowsTop + i * chart.rowHeight + chart.barHeight / 2;
			const x1 = x(blocker.from);
			const x2 = x(blocker.until);
			// Inside the bar, away from its ends and from the marks drawn over it: the class colour.
			const inside = [x1 + 3, (x1 + x2) / 2, x2 - 3].filter(
				(px) => px > x1 + 2 && px < x2 - 2 && clearOfMarks(px),
			);
			expect(inside.length, `bar of ${blocker.tid}`).toBeGreaterThan(0);
			for (const px of inside) {
				expect(image.pixel(px, y), `bar of ${blocker.tid} at x=${px}`).toSatisfy((rgb: number[]) =>
					near(rgb, hex(classColors[blocker.class])),
				);
			}

			// Past its end (when it ended before the chart does): white again.
			if (x2 < chart.left + plotWidth - 6 && clearOfMarks(x2 + 4)) {
				expect(near(image.pixel(x2 + 4, y), [255, 255, 255]), `after the bar of ${blocker.tid}`).toBe(true);
			}

			// Its label: ink on its row, left of the plot.
			expect(
				inked(image, chart.left - 200, y - 6, chart.left - 6, y + 6),
				`label of ${blocker.tid}`,
			).toBeGreaterThan(20);
		}

		// No label and no bar below the last row.
		const below = rowsTop + rows.length * chart.rowHeight + 2;
		expect(inked(image, chart.left - 200, below, chart.left - 6, below + 10)).toBe(0);

		// The pending area: filled up to the count of each poll, not above it.
		const most = Math.max(...t.samples.map((s) => s.pending));
		const yOf = (pending: number) => chartBottom - (pending / most) * chart.pendingHeight;
		let checked = 0;
		for (const [i, sample] of t.samples.entries()) {
			const next = t.samples[i + 1]?.time ?? end;
			const px = (x(sample.time) + x(next)) / 2;
			if (x(next) - x(sample.time) < 8 || !clearOfMarks(px)) continue;
			// (A count too small to be 4 px high is not checked inside; the line above it still is.)
			if (chartBottom - yOf(sample.pending) >= 5) {
				expect(
					near(image.pixel(px, yOf(sample.pending) + 3), hex(chart.pendingFill)),
					`pending at poll ${i}`,
				).toBe(true);
			}

			if (yOf(sample.pending) - 3 > chartTop) {
				expect(
					near(image.pixel(px, yOf(sample.pending) - 3), hex('#f4f6f8')),
					`above pending at poll ${i}`,
				).toBe(true);
			}

			checked++;
		}

		expect(checked).toBeGreaterThan(10);

		// The marks: the kernel's round(s) and the operator's reverse, at their times.
		const signals = marks.filter((mark) => mark.kind === 'fake-signal');
		const action = marks.find((mark) => mark.kind === 'action')!;
		expect(signals.length).toBeGreaterThan(0);
		for (const mark of [...signals, action]) {
			const column = Array.from({length: 8}, (_, k) => chartTop + 1 + k);
			expect(
				column.some((y) => colourNear(image, x(mark.time), y, markColors[mark.kind])),
				`${mark.kind} mark at ${mark.time - start} ms`,
			).toBe(true);
		}

		// And nothing of a mark's colour where no mark is (midway between the round and the action).
		const quiet = (x(signals[0]!.time) + x(action.time)) / 2;
		if (clearOfMarks(quiet))
			expect(colourNear(image, quiet, chartTop + 2, markColors['fake-signal'], 3)).toBe(false);
	}, 120_000);
});
