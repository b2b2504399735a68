import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	isKthreadFlags,
	isNumericName,
	parseBool01,
	parseFunctionDir,
	parseInt as parseIntExport,
	parseInteger,
	parseKernelVersion,
	parseKmsgRecord,
	parsePatchState,
	parseProcStatBtime,
	parseProcUptime,
	parseStack,
	parseStackLine,
	parseStat,
	parseStatusUid,
	statFieldReaders,
} from '../../source/sources/parse.js';
import {statLine} from '../helpers/tree.js';

/** Strings that look like what the files hold, mixed with anything at all. */
const junk = fc.oneof(
	fc.string(),
	fc.string({unit: 'binary'}),
	fc.string({
		unit: fc.constantFrom('0', '1', '-', '\n', ' ', '(', ')', ',', '[', ']', '<', '>', '+', ';', 'x', '.'),
	}),
);

const parsers: Record<string, (text: string) => unknown> = {
	parseStat,
	parseBool01,
	parseInteger,
	parsePatchState,
	parseFunctionDir,
	parseStackLine,
	parseStack,
	parseKmsgRecord,
	parseProcStatBtime,
	parseProcUptime,
	parseStatusUid,
	parseKernelVersion,
	isNumericName,
};

describe('every parser is total', () => {
	for (const [name, parse] of Object.entries(parsers)) {
		it(`${name} never throws on malformed input`, () => {
			fc.assert(
				fc.property(junk, (text) => {
					parse(text);
				}),
				{numRuns: 2000},
			);
		});
	}
});

describe('parseStat', () => {
	const comm = fc.string({
		unit: fc.oneof(
			fc.constantFrom(' ', ')', '(', '\n', '\u001b', ') S 1 2'),
			fc.string({minLength: 1, maxLength: 1, unit: 'binary'}),
		),
	});
	const stat = fc.record({
		pid: fc.integer({min: 1, max: 4_194_304}),
		comm,
		state: fc.constantFrom('R', 'S', 'D', 'T', 't', 'Z', 'X', 'I', 'P'),
		ppid: fc.integer({min: 0, max: 4_194_304}),
		flags: fc.integer({min: 0, max: 0xffff_ffff}),
		starttime: fc.maxSafeNat(),
	});

	it('round-trips every valid line, comm with spaces, parentheses, newlines and escapes included', () => {
		fc.assert(
			fc.property(stat, (thread) => {
				expect(parseStat(statLine(thread))).toEqual({
					tid: thread.pid,
					comm: thread.comm,
					state: thread.state,
					ppid: thread.ppid,
					// statLine: pgrp and session are the pid, no terminal.
					pgrp: thread.pid,
					session: thread.pid,
					ttyNr: 0,
					tpgid: -1,
					flags: thread.flags,
					starttime: thread.starttime,
				});
			}),
			{numRuns: 1000},
		);
	});

	it('a real line', () => {
		const line =
			'398 (klp_sleeper_kt) S 2 0 0 0 -1 2129984 0 0 0 0 0 5 0 0 20 0 1 0 3342 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
		expect(parseStat(line)).toEqual({
			tid: 398,
			comm: 'klp_sleeper_kt',
			state: 'S',
			ppid: 2,
			pgrp: 0,
			session: 0,
			ttyNr: 0,
			tpgid: -1,
			flags: 2129984,
			starttime: 3342,
		});
		// A shell's child on a terminal: pgrp, session, tty_nr (pts/0 = 34816) and the foreground group.
		expect(
			parseStat(
				'1234 (vim) S 1200 1234 1200 34816 1234 4194304 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
			),
		).toMatchObject({pgrp: 1234, session: 1200, ttyNr: 34816, tpgid: 1234, starttime: 99});
		expect(isKthreadFlags(2129984)).toBe(true);
		expect(isKthreadFlags(0x400100)).toBe(false);
		expect(isKthreadFlags(0xffff_ffff)).toBe(true);
	});

	it('reads the fields after comm as the character scan does, wherever its one-pattern reading applies', () => {
		// A line as printed (20 fields after comm, then more), with a few tokens or separators swapped
		// for ones that make the pattern fail or the scan stop: runs of spaces, tabs, newlines, signs,
		// letters, huge numbers.
		const token = fc.oneof(
			fc.integer({min: -5, max: 5_000_000}).map(String),
			fc.constantFrom('S', 'R', 'SS', 'x', '-', '--', '-1', '007', '99999999999999999999', '\f', '\u00a0'),
		);
		const separator = fc.constantFrom('  ', '\t', '\n', ' \n', '');
		const change = fc.tuple(fc.nat(24), fc.boolean(), token, separator);
		let agreed = 0;
		fc.assert(
			fc.property(fc.array(change, {maxLength: 3}), fc.constantFrom('', '\n', ' 0\n'), (changes, end) => {
				const tokens = ['S', ...Array.from({length: 24}, (_, i) => String(i + 1))];
				const separators = tokens.map(() => ' ');
				for (const [at, isToken, tok, sep] of changes) {
					if (isToken) {
						tokens[at] = tok;
					} else {
						separators[at] = sep;
					}
				}

				const text = '12 (cat)' + tokens.map((tok, i) => separators[i] + tok).join('') + end;
				const close = text.lastIndexOf(')');
				const fast = statFieldReaders.asPrinted(text, close);
				if (fast !== null) {
					agreed++;
					const slow = statFieldReaders.scanned(text, close);
					expect(fast.state).toBe(slow?.state);
					for (const field of [4, 5, 6, 7, 8, 9, 22]) {
						expect(fast.numbers[field] ?? null).toBe(slow?.numbers[field] ?? null);
					}
				}
			}),
			{numRuns: 3000},
		);
		// The comparison above ran on lines the pattern reads, not only on ones it handed over.
		expect(agreed).toBeGreaterThan(100);
		// A line with two spaces after a field is read the slow way, to the same result.
		const spaced = '12 (cat) S  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19';
		expect(statFieldReaders.asPrinted(spaced, spaced.lastIndexOf(')'))).toBeNull();
		expect(parseStat(spaced)!.starttime).toBe(19);
	});

	it('rejects truncated or garbled lines', () => {
		expect(parseStat('')).toBeNull();
		expect(parseStat('12 (cat) S 1 2 3')).toBeNull();
		expect(parseStat('(cat) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('x1 (cat) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat) S x 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat) S 1 2 3 4 x 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat) S 1 2 3 4 -- 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20')).toBeNull();
		expect(parseStat('12 (cat) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18')).toBeNull();
		expect(parseStat('12 (cat) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19')!.starttime).toBe(19);
	});
});

describe('small value files', () => {
	it('parsePatchState accepts exactly -1, 0, 1', () => {
		expect(parsePatchState('-1\n')).toBe(-1);
		expect(parsePatchState('0\n')).toBe(0);
		expect(parsePatchState('1\n')).toBe(1);
		expect(parsePatchState('1')).toBe(1);
		expect(parsePatchState(' -1 \n')).toBe(-1);
		for (const bad of ['', '\n', '2\n', '-0x1', '- 1', '1\n1\n', 'x\n', '-\n', '01x', '-2\n']) {
			expect(parsePatchState(bad)).toBeNull();
		}

		fc.assert(
			fc.property(fc.integer(), (n) => {
				expect(parsePatchState(`${n}\n`)).toBe(n === -1 || n === 0 || n === 1 ? n : null);
			}),
		);
	});

	it('parseBool01 accepts 0 and 1 only', () => {
		expect(parseBool01('1\n')).toBe(true);
		expect(parseBool01('0\n')).toBe(false);
		expect(parseBool01('0')).toBe(false);
		for (const bad of ['', 'Y\n', 'on', '2\n', '-1\n', '10\n', '1 1']) {
			expect(parseBool01(bad)).toBeNull();
		}
	});

	it('parseInteger round-trips safe integers and rejects the rest', () => {
		expect(parseIntExport).toBe(parseInteger);
		fc.assert(
			fc.property(fc.maxSafeInteger(), (n) => {
				expect(parseInteger(`${n}\n`)).toBe(n);
			}),
		);
		for (const bad of ['', '1.5', '1e3', '0x10', '--1', '12a', '99999999999999999999', '+']) {
			expect(parseInteger(bad)).toBeNull();
		}
	});

	it('isNumericName accepts pid-like names only', () => {
		expect(isNumericName('1')).toBe(true);
		expect(isNumericName('4194304')).toBe(true);
		for (const bad of ['', 'self', 'thread-self', '1a', '-1', ' 1', '12345678901']) {
			expect(isNumericName(bad)).toBe(false);
		}
	});
});

describe('parseFunctionDir', () => {
	it('round-trips <func>,<sympos>', () => {
		fc.assert(
			fc.property(fc.string({minLength: 1}), fc.nat(), (name, sympos) => {
				expect(parseFunctionDir(`${name},${sympos}`)).toEqual({name, sympos});
			}),
		);
		expect(parseFunctionDir('cmdline_proc_show,1')).toEqual({name: 'cmdline_proc_show', sympos: 1});
	});

	it('rejects names without a numeric sympos', () => {
		for (const bad of ['', 'patched', 'foo', ',1', 'foo,', 'foo,x', 'foo,-1', 'foo,1 ']) {
			expect(parseFunctionDir(bad)).toBeNull();
		}
	});
});

describe('parseStackLine', () => {
	const symbol = fc.string({
		minLength: 1,
		unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
	});
	const hex = fc.nat().map((n) => `0x${n.toString(16)}`);

	it('round-trips frames with and without [module]', () => {
		fc.assert(
			fc.property(symbol, hex, hex, fc.option(symbol), (func, offset, size, module) => {
				const raw = `[<0>] ${func}+${offset}/${size}${module === null ? '' : ` [${module}]`}`;
				expect(parseStackLine(raw)).toEqual({raw, func, module});
				expect(parseStackLine(`${raw}\n`)).toEqual({raw, func, module});
			}),
		);
	});

	it('real lines, old-kernel addresses and bare symbols', () => {
		expect(parseStackLine('[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]')).toEqual({
			raw: '[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]',
			func: 'klp_sleeper_wait',
			module: 'klp_sleeper',
		});
		expect(parseStackLine('[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]')!.func).toBe(
			'do_sleep_read.cold',
		);
		expect(parseStackLine('[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8')).toMatchObject({
			func: 'entry_SYSCALL_64_after_hwframe',
			module: null,
		});
		expect(parseStackLine('[<ffffffff810a5f3d>] do_wait+0x1bd/0x240')).toMatchObject({
			func: 'do_wait',
			module: null,
		});
		expect(parseStackLine('[<0>] 0xffffffffc0a01234')).toMatchObject({
			func: '0xffffffffc0a01234',
			module: null,
		});
	});

	it('rejects non-frames', () => {
		for (const bad of [
			'',
			'   ',
			'[<0>]',
			'[<0>] ',
			'[<0 foo+0x1/0x2',
			'[<0>] +0x1/0x2',
			'foo+0x1/0x2 [mod',
			'foo [] ',
		]) {
			expect(parseStackLine(bad)).toBeNull();
		}
	});

	it('parseStack keeps the frames that parse, in order', () => {
		expect(
			parseStack('[<0>] a+0x1/0x2 [m]\ngarbage [x\n[<0>] b+0x1/0x2\n').map((frame) => frame.func),
		).toEqual(['a', 'b']);
		expect(parseStack('')).toEqual([]);
	});
});

describe('parseKmsgRecord', () => {
	it('round-trips /dev/kmsg records', () => {
		fc.assert(
			fc.property(
				fc.nat({max: 191}),
				fc.nat(),
				fc.maxSafeNat(),
				fc.constantFrom('-', 'c', '+'),
				fc.string().filter((text) => !text.includes('\n') && text.trim() !== ''),
				(priority, seq, usec, flag, text) => {
					expect(parseKmsgRecord(`${priority},${seq},${usec},${flag};${text}\n SUBSYSTEM=x\n`)).toEqual({
						bootSeconds: usec / 1e6,
						text,
					});
				},
			),
		);
	});

	it('dmesg-style and plain lines', () => {
		expect(parseKmsgRecord("[    3.383992] livepatch: enabling patch 'p'")).toEqual({
			bootSeconds: 3.383992,
			text: "livepatch: enabling patch 'p'",
		});
		expect(parseKmsgRecord('[3.38] x')).toEqual({bootSeconds: 3.38, text: 'x'});
		expect(parseKmsgRecord('livepatch: signaling remaining tasks')).toEqual({
			bootSeconds: null,
			text: 'livepatch: signaling remaining tasks',
		});
		expect(parseKmsgRecord('6,1,x,-;text')).toEqual({bootSeconds: null, text: '6,1,x,-;text'});
		expect(parseKmsgRecord('[abc] text')).toEqual({bootSeconds: null, text: '[abc] text'});
		expect(parseKmsgRecord('')).toBeNull();
		expect(parseKmsgRecord('  \n')).toBeNull();
	});
});

describe('parseProcUptime', () => {
	it("reads the first field, the kernel's seconds with two decimals", () => {
		expect(parseProcUptime('350735.47 234388.90\n')).toBe(350_735.47);
		expect(parseProcUptime('  12.05 1.00')).toBe(12.05);
		expect(parseProcUptime('7 1')).toBe(7);
		expect(parseProcUptime('')).toBeNull();
		expect(parseProcUptime('x.5 1.00\n')).toBeNull();
		expect(parseProcUptime('-3.00 1.00\n')).toBeNull();
	});
});

describe('parseProcStatBtime, parseStatusUid, parseKernelVersion', () => {
	it('btime is found wherever it sits', () => {
		fc.assert(
			fc.property(
				fc.array(fc.constantFrom('cpu 1 2 3', 'intr 0 1', 'ctxt 5', 'processes 9')),
				fc.maxSafeNat(),
				(lines, btime) => {
					const text = [...lines, `btime ${btime}`, ...lines].join('\n') + '\n';
					expect(parseProcStatBtime(text)).toBe(btime);
				},
			),
		);
		expect(parseProcStatBtime('cpu 1\n')).toBeNull();
		expect(parseProcStatBtime('btimes 5\n')).toBeNull();
		expect(parseProcStatBtime('btime x\n')).toBeNull();
	});

	it('effective uid from status', () => {
		expect(parseStatusUid('Name:\tcat\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\n')).toBe(1001);
		expect(parseStatusUid('Name:\tcat\n')).toBeNull();
		expect(parseStatusUid('Uid:\t1000\n')).toBeNull();
	});

	it('kernel versions', () => {
		expect(parseKernelVersion('6.1.0-56-cloud-amd64')).toEqual({major: 6, minor: 1});
		expect(parseKernelVersion('4.19.0\n')).toEqual({major: 4, minor: 19});
		expect(parseKernelVersion('5.10')).toEqual({major: 5, minor: 10});
		expect(parseKernelVersion('6.18.44-fc-v857')).toEqual({major: 6, minor: 18});
		for (const bad of ['', '6', 'x.1', '6.', '.1', 'linux-6.1']) {
			expect(parseKernelVersion(bad)).toBeNull();
		}

		fc.assert(
			fc.property(fc.nat(), fc.nat(), fc.string(), (major, minor, rest) => {
				const suffix = /^\d/.test(rest) ? `-${rest}` : rest;
				expect(parseKernelVersion(`${major}.${minor}${suffix}`)).toEqual({major, minor});
			}),
		);
	});
});
