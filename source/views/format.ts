/**
Text helpers for views that lay out their own lines: terminal cell widths, padding, truncation,
durations and bars. Pure functions; nothing here knows about Ink.

Widths are counted in terminal cells, not UTF-16 units: East Asian wide and emoji code points take
two cells, combining marks none. Strings reaching these helpers are already sanitised (`clean()`),
so control characters never need measuring.
*/
import {clean} from '../model/sanitize.js';
import {glyphs} from './theme.js';

/** Cells one code point takes on a terminal (0, 1 or 2). An approximation of wcwidth(3). */
export function codePointWidth(cp: number): 0 | 1 | 2 {
	if (cp < 0x300) {
		return 1;
	}

	// Combining marks and variation selectors.
	if (
		(cp >= 0x300 && cp <= 0x36f) ||
		(cp >= 0x1ab0 && cp <= 0x1aff) ||
		(cp >= 0x1dc0 && cp <= 0x1dff) ||
		(cp >= 0x20d0 && cp <= 0x20ff) ||
		(cp >= 0xfe00 && cp <= 0xfe0f) ||
		(cp >= 0xfe20 && cp <= 0xfe2f) ||
		cp === 0x200d
	) {
		return 0;
	}

	if (
		(cp >= 0x1100 && cp <= 0x115f) ||
		(cp >= 0x2e80 && cp <= 0x303e) ||
		(cp >= 0x3041 && cp <= 0x33ff) ||
		(cp >= 0x3400 && cp <= 0x4dbf) ||
		(cp >= 0x4e00 && cp <= 0x9fff) ||
		(cp >= 0xa000 && cp <= 0xa4cf) ||
		(cp >= 0xac00 && cp <= 0xd7a3) ||
		(cp >= 0xf900 && cp <= 0xfaff) ||
		(cp >= 0xfe30 && cp <= 0xfe4f) ||
		(cp >= 0xff00 && cp <= 0xff60) ||
		(cp >= 0xffe0 && cp <= 0xffe6) ||
		(cp >= 0x1f300 && cp <= 0x1f64f) ||
		(cp >= 0x1f900 && cp <= 0x1f9ff) ||
		(cp >= 0x20000 && cp <= 0x3fffd)
	) {
		return 2;
	}

	return 1;
}

function isPlainAscii(text: string): boolean {
	for (let i = 0; i < text.length; i++) {
		const cp = text.charCodeAt(i);
		if (cp < 0x20 || cp > 0x7e) {
			return false;
		}
	}

	return true;
}

/** Terminal cells a (sanitised) string takes. */
export function cellWidth(text: string): number {
	if (isPlainAscii(text)) {
		return text.length;
	}

	let width = 0;
	for (const ch of text) {
		width += codePointWidth(ch.codePointAt(0)!);
	}

	return width;
}

/**
Cut a string to at most `width` cells. When something was cut and `ellipsis` is set, the last cell
shows it (`…`, or `~` in ASCII mode) so a truncated name never passes for a whole one.
*/
export function truncate(text: string, width: number, ellipsis = ''): string {
	if (width <= 0) {
		return '';
	}

	if (isPlainAscii(text)) {
		if (text.length <= width) {
			return text;
		}

		return ellipsis === '' ? text.slice(0, width) : text.slice(0, width - 1) + ellipsis;
	}

	if (cellWidth(text) <= width) {
		return text;
	}

	const room = ellipsis === '' ? width : width - 1;
	let out = '';
	let used = 0;
	for (const ch of text) {
		const w = codePointWidth(ch.codePointAt(0)!);
		if (used + w > room) {
			break;
		}

		out += ch;
		used += w;
	}

	// A wide character that did not fit leaves one cell: fill it so columns stay aligned.
	return out + ' '.repeat(room - used) + ellipsis;
}

/** Exactly `width` cells: truncated, then padded on the right (or on the left with `right`). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left', ellipsis = ''): string {
	const cut = truncate(text, width, ellipsis);
	const pad = width - cellWidth(cut);
	if (pad <= 0) {
		return cut;
	}

	return align === 'left' ? cut + ' '.repeat(pad) : ' '.repeat(pad) + cut;
}

/**
A compact duration, like top's TIME column: `0s`, `59s`, `1m05s`, `1h02m`, `3d04h`.
Null (unknown) prints as `-`.
*/
export function formatDuration(seconds: number | null): string {
	if (seconds === null || !Number.isFinite(seconds)) {
		return '-';
	}

	const s = Math.max(0, Math.floor(seconds));
	if (s < 60) {
		return `${s}s`;
	}

	const m = Math.floor(s / 60);
	if (m < 60) {
		return `${m}m${String(s % 60).padStart(2, '0')}s`;
	}

	const h = Math.floor(m / 60);
	if (h < 24) {
		return `${h}h${String(m % 60).padStart(2, '0')}m`;
	}

	return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/**
How long ago, to the unit one reads at that age: `42s`, `5m`, `1h24m`, `3d04h` (the seconds of a
minute-old event are noise, and an idle header that ticks every second is a new frame every second).
*/
export function formatAgo(seconds: number): string {
	const s = Math.max(0, Math.floor(seconds));
	return s >= 60 && s < 3600 ? `${Math.floor(s / 60)}m` : formatDuration(s);
}

/** A rate like `2.5/s`, `0.03/s`, or `-` when unknown. */
export function formatRate(perSecond: number | null): string {
	if (perSecond === null || !Number.isFinite(perSecond)) {
		return '-';
	}

	const abs = Math.abs(perSecond);
	const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 1 : 2;
	return `${perSecond.toFixed(digits)}/s`;
}

/** Local wall-clock time `HH:MM:SS` of an epoch-ms timestamp. */
export function formatClock(time: number): string {
	const date = new Date(time);
	const two = (n: number) => String(n).padStart(2, '0');
	return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
A progress bar of exactly `width` cells for `done` out of `total`.
Unicode: `█` filled, `░` empty; ASCII: `#` and `-`.
*/
export function progressBar(done: number, total: number, width: number, ascii: boolean): string {
	if (width <= 0) {
		return '';
	}

	const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
	const filled = Math.round(ratio * width);
	const {barOn, barOff} = glyphs({color: false, ascii});
	return barOn.repeat(filled) + barOff.repeat(width - filled);
}

/** Threads known to have switched: neither pending nor of unreadable patch_state. */
export function switchedCount(progress: {
	readonly total: number;
	readonly pending: number;
	readonly unknown?: number | undefined;
}): number {
	return Math.max(0, progress.total - progress.pending - (progress.unknown ?? 0));
}

/** Percentage of `done` out of `total`, floored so 99.9% never reads as 100%. */
export function percent(done: number, total: number): number {
	if (total <= 0) {
		return 100;
	}

	return Math.floor((Math.min(done, total) / total) * 100);
}

/** Word-wrap plain text to lines of at most `width` cells (long words are cut). */
export function wrapText(text: string, width: number): string[] {
	if (width <= 0) return [];
	const lines: string[] = [];
	let line = '';
	for (const word of text.split(/\s+/)) {
		if (word === '') continue;
		let rest = word;
		while (cellWidth(rest) > width) {
			if (line !== '') {
				lines.push(line);
				line = '';
			}

			const head = truncate(rest, width);
			lines.push(head);
			rest = rest.slice(head.length);
		}

		if (line === '') {
			line = rest;
		} else if (cellWidth(line) + 1 + cellWidth(rest) <= width) {
			line += ` ${rest}`;
		} else {
			lines.push(line);
			line = rest;
		}
	}

	if (line !== '') lines.push(line);
	return lines;
}

/**
A patched function as every screen names it, `func [object]`, sanitised (it comes from the kernel).
`hideVmlinux`: without `[vmlinux]`, where width is short (the task table: the module functions are
the ones worth telling apart).
*/
export function functionLabel(fn: string, object: string | null, {hideVmlinux = false} = {}): string {
	const shown = object === null || (hideVmlinux && object === 'vmlinux') ? null : object;
	return shown === null ? clean(fn) : `${clean(fn)} [${clean(shown)}]`;
}
