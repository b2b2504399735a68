import fc from 'fast-check';
import meow from 'meow';
import {describe, expect, it} from 'vitest';
import {scanRoot} from '../../source/cli/early.js';
import {fastFlags, scanArgv} from '../../source/cli/argv.js';
import {flagSpec} from '../../source/cli/flag-spec.js';

function viaMeow(argv: string[]) {
	const cli = meow('usage', {
		importMeta: import.meta,
		argv,
		pkg: {name: 'klptop', version: '0.0.0'},
		allowUnknownFlags: false,
		autoHelp: false,
		autoVersion: false,
		flags: flagSpec,
	});
	return {input: cli.input, flags: cli.flags};
}

const token = fc.constantFrom(
	'--once',
	'--json',
	'--root',
	'--root=/tmp/tree',
	'--root=',
	'/tmp/tree',
	'relative dir',
	'-x',
	'',
	'--color',
	'--no-color',
	'-b',
	'emulate',
	'--emulate',
	'quick',
);

function kebab(name: string): string {
	return name.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Every way the table's flags can be written, with values of every kind around them. */
const specs = Object.entries(flagSpec) as Array<[string, {readonly shortFlag?: string}]>;
const flagForm = fc.constantFrom(
	...specs.flatMap(([name, spec]) => [
		`--${kebab(name)}`,
		...(spec.shortFlag === undefined ? [] : [`-${spec.shortFlag}`]),
	]),
);
const value = fc.constantFrom('3', '1.5', 'abc', '/tmp/tree', '', '-x', '0x10', '1e3', 'emulate', 'nudge');
/** A flag and a value after it (a positional after a boolean), `--flag=value`, or an odd token. */
const unit = fc.oneof(
	{arbitrary: fc.tuple(flagForm, value), weight: 6},
	{arbitrary: fc.tuple(flagForm, value).map(([flag, text]) => [`${flag}=${text}`]), weight: 2},
	{arbitrary: fc.constantFrom(['--'], ['--no-color'], ['-x'], ['--once'], ['-b']), weight: 1},
);
const anyArgv = fc.array(unit, {maxLength: 4}).map((units) => units.flat());

describe('the one argument scanner', () => {
	it('gives exactly what meow gives for every flag of the table whenever it answers (fuzz)', () => {
		const answered = new Set<string>();
		fc.assert(
			fc.property(anyArgv, (argv) => {
				const scanned = scanArgv(argv);
				if (scanned !== null) {
					for (const name of scanned.given) answered.add(name);
					expect({input: scanned.input, flags: scanned.flags}).toEqual(viaMeow(argv));
				}
			}),
			{numRuns: 3000},
		);
		// Every flag meow is left to print (help, version) aside, each was read and compared.
		const expected = Object.keys(flagSpec).filter((name) => name !== 'help' && name !== 'version');
		expect([...answered].sort()).toEqual(expected.sort());
	});

	it('leaves help, version, unknown and repeated flags, bundles and -- to meow', () => {
		for (const argv of [
			['--help'],
			['-v'],
			['--bogus'],
			['--once', '--once'],
			['-bn3'],
			['--', '--once'],
			['--delay', 'abc'],
			['--root', '--json'],
		]) {
			expect(scanArgv(argv)).toBeNull();
		}
	});
});

describe('the fast path for `--once [--json] [--root DIR]` and the dashboard `[--root DIR] [-d S]`', () => {
	it('gives exactly what meow gives whenever it accepts an argument list (fuzz)', () => {
		let accepted = 0;
		fc.assert(
			fc.property(fc.array(token, {maxLength: 6}), (argv) => {
				const fast = fastFlags(argv);
				if (fast !== null) {
					accepted++;
					expect(fast).toEqual(viaMeow(argv));
				}
			}),
			{numRuns: 3000},
		);
		// The property above must have been exercised, not vacuously true.
		expect(accepted).toBeGreaterThan(20);
	});

	it('accepts the common forms', () => {
		for (const argv of [
			['--once'],
			['--once', '--json'],
			['--json', '--once', '--root', '/tmp/x'],
			['--root=/tmp/x', '--once'],
			[],
			['--root', '/tmp/x'],
			['-d', '2', '--root=/tmp/x'],
			['--delay', '0.5'],
		]) {
			expect(fastFlags(argv)).not.toBeNull();
			expect(fastFlags(argv)).toEqual(viaMeow(argv));
		}
	});

	it('leaves everything else to meow', () => {
		for (const argv of [
			['--json'],
			['--root', '/tmp/x', '--no-color'],
			['-d', '1', '--readonly'],
			['--once', '--once'],
			['--once', '--root'],
			['--once', '--root', '--json'],
			['--once', '--root', '-x'],
			['--once', '--root='],
			['--once', '--root', '/a', '--root', '/b'],
			['--once', '--no-color'],
			['--once', '--emulate', 'quick'],
			['emulate', 'quick'],
			['--once', 'extra'],
			['--help'],
		]) {
			expect(fastFlags(argv)).toBeNull();
		}
	});
});

describe('the early start of the reader helper', () => {
	it('finds the root the first scan will walk, and nothing for other commands', () => {
		expect(scanRoot(['--once', '--json'])).toBe('/');
		expect(scanRoot(['--once', '--root', '/tmp/t'])).toBe('/tmp/t');
		expect(scanRoot(['-b', '--root=/tmp/t', '-n', '2'])).toBe('/tmp/t');
		// The dashboard (on a terminal) or one snapshot printed (elsewhere): a scan either way.
		expect(scanRoot(['--root', '/tmp/t', '-d', '2'])).toBe('/tmp/t');
		expect(scanRoot(['--json'])).toBe('/');
		expect(scanRoot(['--once', '--emulate', 'many'])).toBeNull();
		expect(scanRoot(['--once', '--replay', 'transitions.rec'])).toBeNull();
		expect(scanRoot(['emulate', 'many', '--once'])).toBeNull();
		expect(scanRoot(['--once', '--help'])).toBeNull();
	});
});
