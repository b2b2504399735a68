/**
Pure parsers for the procfs/sysfs/kmsg texts the reader consumes.

Every parser is total: it never throws, and returns `null` for anything it does not recognise
(empty files, half-written values, garbage). They avoid regular expressions: some run once per
thread on a 100,000-thread scan.
*/
import type {KernelLogLine, PatchState, StackFrame} from '../model/types.js';

/** Fields of `/proc/<pid>/task/<tid>/stat` the reader needs. */
export type StatFields = {
	readonly tid: number;
	readonly comm: string;
	readonly state: string;
	readonly ppid: number;
	/** Process group (field 5). */
	readonly pgrp: number;
	/** Session (field 6). */
	readonly session: number;
	/** Controlling terminal (field 7), 0 for none. */
	readonly ttyNr: number;
	/** Foreground process group of that terminal (field 8), -1 for none. */
	readonly tpgid: number;
	readonly flags: number;
	readonly starttime: number;
};

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;

function isBlank(code: number): boolean {
	return code === SPACE || code === NEWLINE || code === TAB || code === CR;
}

/**
A decimal integer in `text[start, end)`, optional leading `-` (when `signed`), digits only.
Null when empty, non-digit or beyond the safe integer range.
*/
function digitsAt(text: string, start: number, end: number, signed: boolean): number | null {
	let i = start;
	let negative = false;
	if (signed && i < end && text.charCodeAt(i) === MINUS) {
		negative = true;
		i++;
	}

	if (i >= end) {
		return null;
	}

	let value = 0;
	for (; i < end; i++) {
		const code = text.charCodeAt(i);
		if (code < ZERO || code > NINE) {
			return null;
		}

		value = value * 10 + (code - ZERO);
	}

	if (!Number.isSafeInteger(value)) {
		return null;
	}

	return negative ? -value : value;
}

/** Bounds of `text` without surrounding whitespace (sysfs values end in `\n`). */
function trimmedBounds(text: string): [number, number] {
	let start = 0;
	let end = text.length;
	while (start < end && isBlank(text.charCodeAt(start))) {
		start++;
	}

	while (end > start && isBlank(text.charCodeAt(end - 1))) {
		end--;
	}

	return [start, end];
}

/** A whole file holding one decimal integer (`"%d\n"`), e.g. `stack_order`. Null on garbage. */
export function parseInteger(text: string): number | null {
	const [start, end] = trimmedBounds(text);
	return digitsAt(text, start, end, true);
}

export {parseInteger as parseInt};

/** `"0\n"` / `"1\n"` (sysfs booleans printed with `%d`). Null otherwise. */
export function parseBool01(text: string): boolean | null {
	// Fast path for the exact kernel output.
	if (text.length === 2 && text.charCodeAt(1) === NEWLINE) {
		const code = text.charCodeAt(0);
		if (code === ZERO) {
			return false;
		}

		if (code === ZERO + 1) {
			return true;
		}
	}

	const value = parseInteger(text);
	return value === 0 ? false : value === 1 ? true : null;
}

/** `patch_state`: -1, 0 or 1. Null otherwise. Called once per thread during a transition. */
export function parsePatchState(text: string): PatchState | null {
	const n = text.length;
	// Fast paths: "1\n", "0\n", "-1\n".
	if (n === 2 && text.charCodeAt(1) === NEWLINE) {
		const code = text.charCodeAt(0);
		if (code === ZERO) {
			return 0;
		}

		if (code === ZERO + 1) {
			return 1;
		}

		return null;
	}

	if (
		n === 3 &&
		text.charCodeAt(0) === MINUS &&
		text.charCodeAt(1) === ZERO + 1 &&
		text.charCodeAt(2) === NEWLINE
	) {
		return -1;
	}

	const value = parseInteger(text);
	return value === -1 || value === 0 || value === 1 ? value : null;
}

/** A function directory name `<func>,<sympos>` (e.g. `cmdline_proc_show,1`). Null otherwise. */
export function parseFunctionDir(name: string): {name: string; sympos: number} | null {
	const comma = name.lastIndexOf(',');
	if (comma <= 0) {
		return null;
	}

	const sympos = digitsAt(name, comma + 1, name.length, false);
	if (sympos === null) {
		return null;
	}

	return {name: name.slice(0, comma), sympos};
}

/**
`/proc/<pid>/task/<tid>/stat`. `comm` sits between the first `(` and the *last* `)` and may contain
spaces, parentheses and newlines; the numeric fields follow. Null when the text is not a stat line.
*/
export function parseStat(text: string): StatFields | null {
	const open = text.indexOf('(');
	const close = text.lastIndexOf(')');
	if (open < 1 || close < open) {
		return null;
	}

	// "123 (" : the tid ends at the space before '('.
	let tidEnd = open;
	while (tidEnd > 0 && text.charCodeAt(tidEnd - 1) === SPACE) {
		tidEnd--;
	}

	const tid = digitsAt(text, 0, tidEnd, false);
	if (tid === null) {
		return null;
	}

	const comm = text.slice(open + 1, close);
	// Fields after ") ": 3 state, 4 ppid, 5 pgrp, 6 session, 7 tty_nr, 8 tpgid, 9 flags, ..., 22 starttime.
	// 5-8 are printed with %d (tpgid is -1 without a terminal).
	const values = statFieldsAsPrinted(text, close) ?? statFieldsScanned(text, close);
	if (values === null) {
		return null;
	}

	const state = values.state;
	const at = (n: number): number | null => values.numbers[n] ?? null;
	const ppid = at(4);
	const pgrp = at(5);
	const session = at(6);
	const ttyNr = at(7);
	const tpgid = at(8);
	const flags = at(9);
	const starttime = at(22);
	if (
		state === '' ||
		ppid === null ||
		pgrp === null ||
		session === null ||
		ttyNr === null ||
		tpgid === null ||
		flags === null ||
		starttime === null
	) {
		return null;
	}

	return {tid, comm, state, ppid, pgrp, session, ttyNr, tpgid, flags, starttime};
}

/** `stat` fields 3-22 as `parseStat` wants them: the state letter, fields 4-9 and 22 by number. */
type StatValues = {state: string; numbers: Array<number | null>};

/**
Fields 3-9 and 22 of `stat` exactly as the kernel prints them (one space apart), read by one regular
expression from just after `comm`: a one-shot scan parses 1,000 blockers' `stat` in code V8 has not
optimized yet, and a native match costs a fraction of a loop over the characters there.
*/
const STAT_AS_PRINTED = / (\S) (\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (\d+)(?: \S+){12} (\d+)(?=[ \t\n\r]|$)/y;

/** `stat` fields as `statFieldsScanned` would read them, or null when the text is not in that form. */
function statFieldsAsPrinted(text: string, close: number): StatValues | null {
	STAT_AS_PRINTED.lastIndex = close + 1;
	const m = STAT_AS_PRINTED.exec(text);
	if (m === null) {
		return null;
	}

	const numbers: Array<number | null> = [];
	for (let field = 4; field <= 9; field++) {
		numbers[field] = safeInteger(Number(m[field - 2]));
	}

	numbers[22] = safeInteger(Number(m[8]));
	return {state: m[1]!, numbers};
}

function safeInteger(value: number): number | null {
	return Number.isSafeInteger(value) ? value : null;
}

/** The fields after `comm`, character by character: any run of spaces between them. */
function statFieldsScanned(text: string, close: number): StatValues | null {
	let field = 3;
	let i = close + 1;
	const end = text.length;
	let state = '';
	/** Numeric fields 4-9 and 22 by field number; 5-8 are signed. */
	const numbers: Array<number | null> = [];
	while (i < end && field <= 22) {
		while (i < end && text.charCodeAt(i) === SPACE) {
			i++;
		}

		let j = i;
		while (j < end && !isBlank(text.charCodeAt(j))) {
			j++;
		}

		if (j === i) {
			break;
		}

		if (field === 3) {
			if (j - i !== 1) {
				return null;
			}

			state = text[i]!;
		} else if (field <= 9 || field === 22) {
			numbers[field] = digitsAt(text, i, j, field >= 5 && field <= 8);
		}

		field++;
		i = j;
	}

	return {state, numbers};
}

/** For tests: the two readings of the fields after `comm`, which must agree wherever the first reads. */
export const statFieldReaders = {asPrinted: statFieldsAsPrinted, scanned: statFieldsScanned};

/** PF_KTHREAD in the `flags` field of `stat`. */
export const PF_KTHREAD = 0x00200000;

export function isKthreadFlags(flags: number): boolean {
	// `flags` is an unsigned 32-bit value; bit 21 survives the int32 conversion of `&`.
	return (flags & PF_KTHREAD) !== 0;
}

/**
One line of `/proc/<pid>/task/<tid>/stack`: `[<0>] func+0xb4/0x14c [mod]` (older kernels print the
address instead of `0`; a frame without a symbol is a bare address). Null when it is not a frame.
*/
export function parseStackLine(line: string): StackFrame | null {
	const [lineStart, end] = trimmedBounds(line);
	let start = lineStart;
	if (start >= end) {
		return null;
	}

	// Optional "[<address>]" prefix.
	if (line.charCodeAt(start) === 0x5b /* [ */ && line.charCodeAt(start + 1) === 0x3c /* < */) {
		const close = line.indexOf('>]', start + 2);
		if (close < 0 || close >= end) {
			return null;
		}

		start = close + 2;
		while (start < end && isBlank(line.charCodeAt(start))) {
			start++;
		}
	}

	let symbolEnd = start;
	while (symbolEnd < end && !isBlank(line.charCodeAt(symbolEnd))) {
		symbolEnd++;
	}

	if (symbolEnd === start) {
		return null;
	}

	const plus = line.indexOf('+', start);
	const funcEnd = plus >= 0 && plus < symbolEnd ? plus : symbolEnd;
	if (funcEnd === start) {
		return null;
	}

	const func = line.slice(start, funcEnd);
	let module: string | null = null;
	let rest = symbolEnd;
	while (rest < end && isBlank(line.charCodeAt(rest))) {
		rest++;
	}

	if (rest < end) {
		if (
			line.charCodeAt(rest) !== 0x5b /* [ */ ||
			line.charCodeAt(end - 1) !== 0x5d /* ] */ ||
			end - rest < 3
		) {
			return null;
		}

		module = line.slice(rest + 1, end - 1);
	}

	return {raw: line.slice(lineStart, end), func, module};
}

/** The whole `stack` file: frames that parse, in order (innermost first). */
export function parseStack(text: string): StackFrame[] {
	const frames: StackFrame[] = [];
	let start = 0;
	while (start < text.length) {
		let end = text.indexOf('\n', start);
		if (end < 0) {
			end = text.length;
		}

		const frame = parseStackLine(text.slice(start, end));
		if (frame !== null) {
			frames.push(frame);
		}

		start = end + 1;
	}

	return frames;
}

/** The `/dev/kmsg` record prefix up to its first `;`: three decimal fields, then the flags and more. */
const KMSG_PREFIX = /^(\d+),(\d+),(\d+),[^;]*;/;

/**
One kernel log record: a `/dev/kmsg` record `6,123,4567890,-;text` (continuation lines after the first
newline are dropped), a dmesg line `[    3.383992] text`, or a plain line. Null for an empty record.
*/
export function parseKmsgRecord(record: string): KernelLogLine | null {
	const newline = record.indexOf('\n');
	const line = newline >= 0 ? record.slice(0, newline) : record;
	if (line.length === 0 || line.trim() === '') {
		return null;
	}

	// "priority,sequence,microseconds,flags[,more];text": one native match (a log holds thousands).
	const fields = KMSG_PREFIX.exec(line);
	if (fields !== null) {
		const priority = safeInteger(Number(fields[1]));
		const seq = safeInteger(Number(fields[2]));
		const usec = safeInteger(Number(fields[3]));
		if (priority !== null && seq !== null && usec !== null) {
			return {bootSeconds: usec / 1e6, text: line.slice(fields[0].length)};
		}
	}

	if (line.charCodeAt(0) === 0x5b /* [ */) {
		const close = line.indexOf(']');
		if (close > 1) {
			const seconds = parseDecimal(line.slice(1, close).trim());
			if (seconds !== null) {
				let textStart = close + 1;
				if (line.charCodeAt(textStart) === SPACE) {
					textStart++;
				}

				return {bootSeconds: seconds, text: line.slice(textStart)};
			}
		}
	}

	return {bootSeconds: null, text: line};
}

/** `123.456` (non-negative). Null otherwise. */
function parseDecimal(text: string): number | null {
	const dot = text.indexOf('.');
	if (dot < 0) {
		return digitsAt(text, 0, text.length, false);
	}

	const whole = digitsAt(text, 0, dot, false);
	const fraction = digitsAt(text, dot + 1, text.length, false);
	if (whole === null || fraction === null) {
		return null;
	}

	return whole + fraction / 10 ** (text.length - dot - 1);
}

/**
The livepatch modules of `/proc/modules`: those whose taint flags (the last parenthesised field) hold
`K` (TAINT_LIVEPATCH, set on every livepatch module at load), in file order.
*/
export function parseLivepatchModules(text: string): string[] {
	const modules: string[] = [];
	for (const line of text.split('\n')) {
		const match = /^(\S+) .*\(([A-Z]+)\)\s*$/.exec(line);
		if (match !== null && match[2]!.includes('K')) {
			modules.push(match[1]!);
		}
	}

	return modules;
}

/** `/proc/uptime`'s first field: seconds since boot (two decimals). Null when absent or garbage. */
export function parseProcUptime(text: string): number | null {
	const [start, end] = trimmedBounds(text);
	let fieldEnd = start;
	while (fieldEnd < end && !isBlank(text.charCodeAt(fieldEnd))) {
		fieldEnd++;
	}

	return fieldEnd > start ? parseDecimal(text.slice(start, fieldEnd)) : null;
}

/** `btime` of `/proc/stat`: boot time in seconds since the epoch. Null when absent or garbage. */
export function parseProcStatBtime(text: string): number | null {
	let start = 0;
	while (start < text.length) {
		let end = text.indexOf('\n', start);
		if (end < 0) {
			end = text.length;
		}

		if (text.startsWith('btime', start) && isBlank(text.charCodeAt(start + 5))) {
			let i = start + 5;
			while (i < end && isBlank(text.charCodeAt(i))) {
				i++;
			}

			let j = end;
			while (j > i && isBlank(text.charCodeAt(j - 1))) {
				j--;
			}

			return digitsAt(text, i, j, false);
		}

		start = end + 1;
	}

	return null;
}

/** Effective uid from the `Uid:` line of `/proc/<pid>/status` (real, effective, saved, fs). */
export function parseStatusUid(text: string): number | null {
	let start = 0;
	while (start < text.length) {
		let end = text.indexOf('\n', start);
		if (end < 0) {
			end = text.length;
		}

		if (text.startsWith('Uid:', start)) {
			const fields = text
				.slice(start + 4, end)
				.split(/\s+/)
				.filter((field) => field !== '');
			const effective = fields[1];
			return effective === undefined ? null : digitsAt(effective, 0, effective.length, false);
		}

		start = end + 1;
	}

	return null;
}

/** `6.1.0-56-cloud-amd64` -> `{major: 6, minor: 1}`. Null when it does not start with `N.N`. */
export function parseKernelVersion(release: string): {major: number; minor: number} | null {
	const [start, end] = trimmedBounds(release);
	const dot = release.indexOf('.', start);
	if (dot < 0 || dot >= end) {
		return null;
	}

	const major = digitsAt(release, start, dot, false);
	let minorEnd = dot + 1;
	while (minorEnd < end) {
		const code = release.charCodeAt(minorEnd);
		if (code < ZERO || code > NINE) {
			break;
		}

		minorEnd++;
	}

	const minor = digitsAt(release, dot + 1, minorEnd, false);
	if (major === null || minor === null) {
		return null;
	}

	return {major, minor};
}

/** True when `name` is a non-empty run of ASCII digits (a /proc pid or tid entry). */
export function isNumericName(name: string): boolean {
	const n = name.length;
	if (n === 0 || n > 10) {
		return false;
	}

	for (let i = 0; i < n; i++) {
		const code = name.charCodeAt(i);
		if (code < ZERO || code > NINE) {
			return false;
		}
	}

	return true;
}
