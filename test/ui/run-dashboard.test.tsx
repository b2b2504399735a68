// runDashboard end to end in-process: the alternate screen is entered and left on every way out,
// raw mode is restored, the feed is closed, frames rewrite only changed lines, and a resize or
// Ctrl-L repaints everything. The terminal is a model (screen-model.ts); the real one is in e2e.
import {afterEach, describe, expect, it} from 'vitest';
import type {ScanOptions} from '../../source/model/types.js';
import {enterAlternateScreen, leaveAlternateScreen, runDashboard} from '../../source/ui/run-dashboard.js';
import type {DashboardOptions} from '../../source/ui/run-dashboard.js';
import {blocker, FakeFeed, snapshot, t0} from './fixtures.js';
import {FakeStdin, FakeStdout, keys, tick} from './helpers.js';
import {ScreenModel} from './screen-model.js';

const running: Array<{done: Promise<number>; stdin: FakeStdin}> = [];

// A test that failed half way leaves its dashboard running: Ctrl-C ends it (a dashboard that has
// ended ignores the key), so the failure is reported alone, not followed by a hook timeout.
afterEach(async () => {
	const runs = running.splice(0);
	for (const run of runs) run.stdin.write(keys.ctrlC);
	await Promise.allSettled(runs.map((run) => run.done));
});

function start(feed: FakeFeed | null, over: Partial<DashboardOptions> = {}) {
	const stdout = new FakeStdout(100, 30);
	const stdin = new FakeStdin();
	const exits: number[] = [];
	const done = runDashboard({
		feed,
		makeEmulatorFeed: () => {
			throw new Error('unused');
		},
		delayS: 0.05,
		readonly: false,
		readonlyReason: null,
		color: false,
		ascii: false,
		pids: null,
		tids: null,
		hostname: 'testbox',
		stdout: stdout as unknown as NodeJS.WriteStream,
		stdin: stdin as unknown as NodeJS.ReadStream,
		exitProcess: (code) => {
			exits.push(code);
		},
		...over,
	});
	running.push({done, stdin});
	const screen = () => {
		const model = new ScreenModel(stdout.columns, stdout.rows, ['$ klptop']);
		model.feed(stdout.output);
		return model;
	};

	const waitFor = async (check: (model: ScreenModel) => boolean) => {
		const deadline = Date.now() + 3000;
		while (!check(screen())) {
			if (Date.now() > deadline) throw new Error(`screen never matched:\n${screen().screen()}`);
			await tick(10);
		}

		return screen();
	};

	const press = async (key: string) => {
		await tick(20);
		stdin.write(key);
	};

	return {stdout, stdin, done, screen, waitFor, press, exits};
}

/** A feed whose blocker's stuck time (and so one line) changes on every poll. */
function tickingFeed() {
	let n = 0;
	return new FakeFeed([
		(_options: ScanOptions) => {
			n++;
			return snapshot({time: t0 + n * 1000, blockers: [blocker(4242, {comm: 'sleeper'})]});
		},
	]);
}

describe('runDashboard', () => {
	it('shows the first scan at once, then gives the terminal back on q with exit code 0', async () => {
		const feed = tickingFeed();
		const run = start(feed);
		const model = await run.waitFor((m) => m.screen().includes('4242'));
		expect(model.alternate).toBe(true);
		expect(model.cursorVisible).toBe(false);
		expect(run.stdout.output.startsWith(enterAlternateScreen)).toBe(true);
		expect(run.stdin.rawMode[0]).toBe(true);
		await run.press('q');
		expect(await run.done).toBe(0);
		expect(run.stdout.output.endsWith(leaveAlternateScreen)).toBe(true);
		const after = run.screen();
		expect(after.alternate).toBe(false);
		expect(after.cursorVisible).toBe(true);
		expect(after.lines()[0]).toBe('$ klptop');
		expect(run.stdin.rawMode.at(-1)).toBe(false);
		expect(feed.closed).toBe(1);
		expect(feed.polls[0]).toEqual({threads: 'blockers'});
	});

	it('puts the views finished lines on the terminal, never their placeholders (raw-lines.ts)', async () => {
		const run = start(tickingFeed(), {color: true});
		const model = await run.waitFor((m) => m.screen().includes('4242'));
		// The views render markers of Private Use Area characters under the dashboard's registry;
		// every one is resolved before the frame writer sees the frame.
		expect(run.stdout.output).not.toMatch(/[\uE000-\uF8FF]/u);
		const rows = model.lines();
		const row = rows.findIndex((line) => line.includes('4242'));
		expect(rows[row]).toContain('sleeper');
		// Styled as the view styled it: the focused table's selected row is inverse, its columns header too.
		expect(model.styles(row).some((style) => style.split(';').includes('7'))).toBe(true);
		const header = rows.findIndex((line) => /TID +TGID/.test(line));
		expect(header).toBeGreaterThan(-1);
		expect(model.styles(header).some((style) => style.split(';').includes('7'))).toBe(true);
		await run.press('q');
		expect(await run.done).toBe(0);
	});

	it('quits on Ctrl-C too', async () => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		await run.press(keys.ctrlC);
		expect(await run.done).toBe(0);
		expect(run.screen().alternate).toBe(false);
	});

	it("quits on htop's F10 too", async () => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		await run.press('\u001B[21~');
		expect(await run.done).toBe(0);
		expect(run.screen().alternate).toBe(false);
	});

	it.each([
		['SIGTERM', 143],
		['SIGHUP', 129],
		['SIGINT', 130],
	] as const)('restores the terminal on %s and exits with %i', async (signal, code) => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		process.emit(signal);
		expect(await run.done).toBe(code);
		expect(run.screen().alternate).toBe(false);
		expect(run.screen().cursorVisible).toBe(true);
		expect(run.stdin.rawMode.at(-1)).toBe(false);
		expect(process.listenerCount(signal)).toBe(0);
	});

	it('rewrites only the lines that changed between polls', async () => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		const before = run.stdout.writes.length;
		await run.waitFor(() => run.stdout.writes.length >= before + 2);
		const refresh = run.stdout.writes.at(-1)!;
		// No clear, and far fewer bytes than a whole screen of 100x30.
		expect(refresh).not.toContain('\u001B[2J');
		expect(refresh.length).toBeLessThan(1000);
		expect(run.stdout.writes[1]!.length).toBeGreaterThan(refresh.length);
		await run.press('q');
		await run.done;
	});

	it('repaints everything after a resize, at the new size', async () => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		run.stdout.columns = 70;
		run.stdout.rows = 20;
		run.stdout.emit('resize');
		const model = await run.waitFor(
			(m) => m.lines()[19] !== '' && m.lines().every((line) => line.length <= 70),
		);
		expect(run.stdout.output.lastIndexOf('\u001B[2J')).toBeGreaterThan(
			run.stdout.output.indexOf(enterAlternateScreen),
		);
		expect(model.screen()).toContain('4242');
		expect(model.lines()[19]).toContain('Quit');
		run.stdout.columns = 40;
		run.stdout.emit('resize');
		await run.waitFor((m) => m.screen().includes('terminal too small: need 60x15'));
		await run.press('q');
		expect(await run.done).toBe(0);
	});

	it('lays screens of finished lines out narrowly, the patch detail (Ink lays out its table) at full width', async () => {
		// The same keys with the narrow layout on (the default) and off: the same screens below the
		// header (the header shows poll timings, which differ from run to run).
		const screens: string[][][] = [];
		for (const narrowLayout of [true, false]) {
			const run = start(new FakeFeed([snapshot({blockers: [blocker(4242, {comm: 'sleeper'})]})]), {
				narrowLayout,
			});
			const seen: string[][] = [];
			const body = (m: ScreenModel) => m.lines().slice(4);
			seen.push(body(await run.waitFor((m) => m.screen().includes('4242'))));
			await run.press('h');
			seen.push(body(await run.waitFor((m) => m.screen().includes('Help: every key'))));
			await run.press(keys.escape);
			await run.press(keys.enter);
			seen.push(body(await run.waitFor((m) => m.screen().includes('Thread 4242'))));
			await run.press(keys.escape);
			await run.press(keys.tab);
			await run.press(keys.tab);
			await run.press(keys.enter);
			const detail = await run.waitFor((m) => m.screen().includes('Patch klp_sleeper_patch'));
			// The boxed table at its full width: laid out in two columns it would be a column of
			// broken pieces.
			expect(detail.screen()).toMatch(/┌─+┬─+┬─+┬─+┐/);
			expect(detail.screen()).toMatch(/│ *vmlinux *│|│ *klp_sleeper *│/);
			seen.push(body(detail));
			await run.press(keys.escape);
			seen.push(body(await run.waitFor((m) => m.screen().includes('FUNCTION [object]'))));
			await run.press('q');
			expect(await run.done).toBe(0);
			screens.push(seen);
		}

		expect(screens[0]).toEqual(screens[1]);
	});

	it('repaints everything on Ctrl-L', async () => {
		const run = start(tickingFeed());
		await run.waitFor((m) => m.screen().includes('4242'));
		const clears = run.stdout.output.split('\u001B[2J').length;
		await run.press(keys.ctrlL);
		await run.waitFor(() => run.stdout.output.split('\u001B[2J').length > clears);
		await run.press('q');
		await run.done;
	});

	it('reports a scan that fails without dying, and recovers', async () => {
		let n = 0;
		const feed = new FakeFeed([
			() => {
				n++;
				if (n === 2) throw new Error('EACCES: permission denied');
				return snapshot({time: t0 + n * 1000});
			},
		]);
		const run = start(feed);
		await run.waitFor((m) => m.screen().includes('scan failed: EACCES: permission denied'));
		await run.waitFor((m) => !m.screen().includes('scan failed') && m.screen().includes('4242'));
		await run.press('q');
		expect(await run.done).toBe(0);
	});

	it('polls all threads only while the all-threads view is on', async () => {
		const feed = tickingFeed();
		const run = start(feed, {delayS: 3600});
		await run.waitFor((m) => m.screen().includes('4242'));
		await run.press('a');
		await run.waitFor(() => feed.polls.length >= 2);
		expect(feed.polls.at(-1)).toEqual({threads: 'columns'});
		await run.press('a');
		await run.press('Z');
		await run.press('Z');
		await run.waitFor(() => feed.polls.length >= 3);
		expect(feed.polls.at(-1)).toEqual({threads: 'blockers'});
		await run.press('q');
		await run.done;
	});

	it('stops polling while paused', async () => {
		const feed = tickingFeed();
		const run = start(feed);
		await run.waitFor((m) => m.screen().includes('4242'));
		await run.press('p');
		await run.waitFor((m) => m.screen().includes('PAUSED'));
		const count = feed.polls.length;
		await tick(200);
		expect(feed.polls.length).toBe(count);
		await run.press('q');
		await run.done;
	});
});
