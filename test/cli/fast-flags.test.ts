import fc from 'fast-check';
import meow from 'meow';
import {describe, expect, it} from 'vitest';
import {oneShotRoot} from '../../source/cli/early.js';
import {fastFlags} from '../../source/cli/fast-flags.js';
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

describe('the fast path for `--once [--json] [--root DIR]`', () => {
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
		]) {
			expect(fastFlags(argv)).toEqual(viaMeow(argv));
		}
	});

	it('leaves everything else to meow', () => {
		for (const argv of [
			[],
			['--json'],
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
	it('finds the root a one-shot scan will walk, and nothing for other commands', () => {
		expect(oneShotRoot(['--once', '--json'])).toBe('/');
		expect(oneShotRoot(['--once', '--root', '/tmp/t'])).toBe('/tmp/t');
		expect(oneShotRoot(['-b', '--root=/tmp/t', '-n', '2'])).toBe('/tmp/t');
		expect(oneShotRoot(['--json'])).toBeNull();
		expect(oneShotRoot(['--once', '--emulate', 'many'])).toBeNull();
		expect(oneShotRoot(['emulate', 'many', '--once'])).toBeNull();
		expect(oneShotRoot(['--once', '--help'])).toBeNull();
	});
});
