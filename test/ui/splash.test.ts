// The first frame drawn before the dashboard's modules load (source/ui/splash.ts): what it says, that
// it fits the terminal, and that it gives the terminal back on every way out until the dashboard
// takes it over.
import {describe, expect, it} from 'vitest';
import {cellWidth} from '../../source/views/format.js';
import {sourceWords} from '../../source/views/source-words.js';
import {glyphs} from '../../source/views/theme.js';
import {enterAlternateScreen, leaveAlternateScreen, showSplash, splashLines} from '../../source/ui/splash.js';
import {FakeStdin, FakeStdout} from './helpers.js';

const tree = {kind: 'tree', root: '/tmp/tree', scenario: null} as const;

function open(columns = 100) {
	const stdout = new FakeStdout(columns, 30);
	const stdin = new FakeStdin();
	const exits: number[] = [];
	const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const;
	const before = signals.map((name) => process.listenerCount(name));
	const splash = showSplash(
		stdout as unknown as NodeJS.WriteStream,
		stdin as unknown as NodeJS.ReadStream,
		{source: tree, hostname: 'box', delayS: 1, ascii: false},
		(code) => exits.push(code),
	);
	const listeners = () => signals.map((name, i) => process.listenerCount(name) - before[i]!);
	return {stdout, stdin, exits, splash, listeners};
}

describe('the splash', () => {
	it("says what the dashboard's first frame says before its scan is in", () => {
		const [first, second] = splashLines({source: tree, hostname: 'box', delayS: 2, ascii: true}, 120);
		const {dot} = glyphs({color: false, ascii: true});
		expect(first).toBe(`klptop ${dot} ${sourceWords(tree, 'box')} ${dot} kernel ? ${dot} every 2s`);
		expect(second).toMatch(/^scanning /);
	});

	it('fits the width in cells, and shows a hostile root escaped', () => {
		const source = {
			kind: 'tree',
			root: '/tmp/\u001B[2J日本語のディレクトリ名がとても長い'.repeat(4),
			scenario: null,
		} as const;
		for (const line of splashLines({source, hostname: 'box', delayS: 1, ascii: false}, 40)) {
			expect(cellWidth(line)).toBeLessThanOrEqual(40);
			expect(line).not.toContain('\u001B');
		}
	});

	it('takes the terminal (alternate screen, raw mode) and hands it over without giving it back', () => {
		const {stdout, stdin, splash, listeners} = open();
		expect(stdout.output.startsWith(enterAlternateScreen)).toBe(true);
		expect(stdout.output).toContain('scanning');
		expect(stdin.rawMode).toEqual([true]);
		expect(listeners()).toEqual([1, 1, 1, 1]);
		splash.handOver();
		expect(listeners()).toEqual([0, 0, 0, 0]);
		// The dashboard owns the terminal now: a late restore does nothing.
		splash.restore();
		expect(stdout.output).not.toContain(leaveAlternateScreen);
		expect(stdin.rawMode).toEqual([true]);
	});

	it('gives the terminal back when the dashboard does not start, once', () => {
		const {stdout, stdin, splash, listeners} = open();
		splash.restore();
		splash.restore();
		expect(stdout.output.endsWith(leaveAlternateScreen)).toBe(true);
		expect(stdout.output.split(leaveAlternateScreen)).toHaveLength(2);
		expect(stdin.rawMode).toEqual([true, false]);
		expect(listeners()).toEqual([0, 0, 0, 0]);
	});

	it('gives the terminal back on a signal, then ends with its code', () => {
		const {stdout, stdin, exits, listeners} = open();
		process.emit('SIGTERM');
		expect(stdout.output.endsWith(leaveAlternateScreen)).toBe(true);
		expect(stdin.rawMode).toEqual([true, false]);
		expect(exits).toEqual([143]);
		expect(listeners()).toEqual([0, 0, 0, 0]);
	});
});
