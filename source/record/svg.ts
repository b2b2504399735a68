/**
The post-mortem as a self-contained SVG timeline (`klptop report --svg`). Its geometry (`chart`) is
exported so that the browser test can say where each bar, label and mark must be from the data.
*/
import {clean} from '../model/sanitize.js';
import type {TaskClass} from '../model/types.js';
import {formatDuration, functionLabel, truncate} from '../views/format.js';
import type {Report, TransitionMark, TransitionReport} from './report.js';

export const chart = {
	width: 1000,
	/** Left edge of the plot: labels sit to its left. */
	left: 300,
	right: 30,
	/** Title block above each panel. */
	titleHeight: 44,
	pendingHeight: 120,
	/** The time axis under the pending area. */
	axisHeight: 28,
	rowHeight: 18,
	barHeight: 12,
	maxRows: 24,
	/** Space after a panel (its legend line sits there). */
	gap: 44,
	/** A page title above the first panel. */
	header: 56,
	/** Characters a blocker's label keeps (at 11 px it must end left of the plot). */
	labelChars: 44,
	background: '#ffffff',
	pendingFill: '#4c78a8',
} as const;

export const plotWidth = chart.width - chart.left - chart.right;

export const classColors: Readonly<Record<TaskClass, string>> = {
	running: '#2ca02c',
	interruptible: '#e6a700',
	uninterruptible: '#d62728',
	stopped: '#17becf',
	zombie: '#9467bd',
	unknown: '#7f7f7f',
};

export const markColors: Readonly<Record<TransitionMark['kind'], string>> = {
	started: '#555555',
	'fake-signal': '#1f77b4',
	reversed: '#c71585',
	forced: '#b00000',
	completed: '#555555',
	action: '#ff7f0e',
};

/** Pixel height of a transition's panel (title, pending area, axis, rows, gap). */
export function panelHeight(t: TransitionReport): number {
	return (
		chart.titleHeight +
		chart.pendingHeight +
		chart.axisHeight +
		Math.min(t.blockers.length, chart.maxRows) * chart.rowHeight +
		chart.gap
	);
}

/** The time span a panel draws: start to end (or the last poll), at least one second. */
export function panelSpan(t: TransitionReport): {readonly start: number; readonly end: number} {
	const end = Math.max(t.startedAt + 1000, t.endedAt ?? t.samples.at(-1)?.time ?? t.startedAt);
	return {start: t.startedAt, end};
}

function escapeXml(text: string): string {
	return text
		.replaceAll('&', '&amp;')
		.replaceAll('<', '&lt;')
		.replaceAll('>', '&gt;')
		.replaceAll('"', '&quot;');
}

/** Sanitised and escaped: a recorded string as SVG text. */
const text = (value: string) => escapeXml(clean(value));

const round = (n: number) => Math.round(n * 10) / 10;

function niceStep(spanS: number): number {
	for (const step of [
		1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
	]) {
		if (spanS / step <= 10) return step;
	}

	return 86_400 * Math.ceil(spanS / 86_400 / 10);
}

function panel(t: TransitionReport, n: number, top: number): string[] {
	const {start, end} = panelSpan(t);
	const x = (time: number) =>
		chart.left + ((Math.min(end, Math.max(start, time)) - start) / (end - start)) * plotWidth;
	const out: string[] = [];
	const outcome =
		t.outcome === 'still running'
			? `still running when the recording ended (${formatDuration(t.durationS)} recorded)`
			: `${t.outcome} after ${formatDuration(t.durationS)}`;
	out.push(
		`<text x="20" y="${top + 20}" font-size="16" font-weight="bold">${n}. ${text(t.patch)} ${t.direction}: ${escapeXml(outcome)}</text>`,
		`<text x="20" y="${top + 38}" font-size="12" fill="#444">started ${new Date(t.startedAt).toISOString()}; ${t.pendingAtStart} of ${t.total} threads pending at first; ${t.blockers.length} held it back</text>`,
	);

	// Pending threads over time: a step area from the first sample to the end.
	const chartTop = top + chart.titleHeight;
	const chartBottom = chartTop + chart.pendingHeight;
	const most = Math.max(1, ...t.samples.map((s) => s.pending));
	const y = (pending: number) => chartBottom - (pending / most) * chart.pendingHeight;
	out.push(
		`<rect x="${chart.left}" y="${chartTop}" width="${plotWidth}" height="${chart.pendingHeight}" fill="#f4f6f8"/>`,
	);
	if (t.samples.length > 0) {
		const points: string[] = [`${round(x(t.samples[0]!.time))},${chartBottom}`];
		t.samples.forEach((sample, i) => {
			const next = t.samples[i + 1]?.time ?? end;
			points.push(
				`${round(x(sample.time))},${round(y(sample.pending))}`,
				`${round(x(next))},${round(y(sample.pending))}`,
			);
		});
		points.push(`${round(x(end))},${chartBottom}`);
		out.push(`<polygon class="pending" points="${points.join(' ')}" fill="${chart.pendingFill}"/>`);
	}

	out.push(
		`<text x="${chart.left - 8}" y="${chartTop + 12}" font-size="12" text-anchor="end">${most} pending</text>`,
		`<text x="${chart.left - 8}" y="${chartBottom}" font-size="12" text-anchor="end">0</text>`,
	);

	// Time axis.
	const spanS = (end - start) / 1000;
	const step = niceStep(spanS);
	for (let s = 0; s <= spanS + 1e-9; s += step) {
		const tx = round(x(start + s * 1000));
		out.push(
			`<line x1="${tx}" y1="${chartBottom}" x2="${tx}" y2="${chartBottom + 5}" stroke="#333"/>`,
			`<text x="${tx}" y="${chartBottom + 18}" font-size="11" text-anchor="middle">+${formatDuration(s)}</text>`,
		);
	}

	// Blocker bars.
	const rowsTop = chartBottom + chart.axisHeight;
	const rows = t.blockers.slice(0, chart.maxRows);
	rows.forEach((blocker, i) => {
		const rowY = rowsTop + i * chart.rowHeight;
		const x1 = x(blocker.from);
		const width = Math.max(2, x(blocker.until) - x1);
		const fn =
			blocker.function === null
				? 'no patched function found'
				: functionLabel(blocker.function, blocker.object);
		out.push(
			`<text x="${chart.left - 8}" y="${rowY + chart.barHeight - 2}" font-size="11" text-anchor="end">${escapeXml(truncate(`${clean(blocker.comm)} ${blocker.tid} ${clean(fn)}`, chart.labelChars, '…'))}</text>`,
			`<rect class="bar" x="${round(x1)}" y="${rowY}" width="${round(width)}" height="${chart.barHeight}" fill="${classColors[blocker.class]}"><title>${text(blocker.comm)} ${blocker.tid}: ${blocker.class}, held ${formatDuration(blocker.heldS)}, ${blocker.ended}</title></rect>`,
		);
	});
	if (t.blockers.length > rows.length) {
		out.push(
			`<text x="${chart.left}" y="${rowsTop + rows.length * chart.rowHeight + 12}" font-size="11" fill="#444">and ${t.blockers.length - rows.length} more blockers (klptop report --json lists them all)</text>`,
		);
	}

	// Marks across the pending area and the rows.
	const marksBottom = rowsTop + rows.length * chart.rowHeight;
	for (const mark of t.marks) {
		if (mark.kind === 'started' || mark.kind === 'completed') continue;
		const mx = round(x(mark.time));
		const dash = mark.kind === 'fake-signal' ? ' stroke-dasharray="4 3"' : '';
		out.push(
			`<line class="mark ${mark.kind}" x1="${mx}" y1="${chartTop}" x2="${mx}" y2="${marksBottom}" stroke="${markColors[mark.kind]}" stroke-width="2"${dash}><title>${text(mark.text)}</title></line>`,
		);
	}

	return out;
}

function legend(top: number): string {
	const items: Array<[string, string]> = [
		...(Object.entries(classColors) as Array<[string, string]>).filter(([name]) => name !== 'unknown'),
		['fake signal', markColors['fake-signal']],
		['our action', markColors.action],
		['reversed', markColors.reversed],
		['forced', markColors.forced],
	];
	let x = 20;
	const parts: string[] = [];
	for (const [name, color] of items) {
		parts.push(
			`<rect x="${x}" y="${top}" width="10" height="10" fill="${color}"/>`,
			`<text x="${x + 14}" y="${top + 9}" font-size="11">${name}</text>`,
		);
		x += 14 + name.length * 7 + 14;
	}

	return parts.join('');
}

/** The whole chart, one document. */
export function reportSvg(report: Report): string {
	let top = chart.header;
	const body: string[] = [];
	report.transitions.forEach((t, i) => {
		body.push(...panel(t, i + 1, top));
		top += panelHeight(t);
		body.push(legend(top - chart.gap + 14));
	});
	if (report.transitions.length === 0) {
		body.push(`<text x="20" y="${top + 20}" font-size="14">No transition in this recording.</text>`);
		top += 40;
	}

	const height = top;
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${chart.width}" height="${height}" viewBox="0 0 ${chart.width} ${height}" font-family="DejaVu Sans, Verdana, sans-serif">`,
		`<rect x="0" y="0" width="${chart.width}" height="${height}" fill="${chart.background}"/>`,
		`<text x="20" y="24" font-size="18" font-weight="bold">klptop report: ${text(report.host)}, kernel ${report.kernel === null ? '?' : text(report.kernel)}</text>`,
		`<text x="20" y="44" font-size="12" fill="#444">recorded ${new Date(report.from).toISOString()} to ${new Date(report.to).toISOString()}, ${report.polls} polls</text>`,
		...body,
		'</svg>',
		'',
	].join('\n');
}
