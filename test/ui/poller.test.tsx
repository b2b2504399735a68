import {Text} from 'ink';
import {render} from 'ink-testing-library';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {nextPollDelayMs, nextTurn, usePoller} from '../../source/hooks/use-poller.js';
import type {PollerOptions, PollFeed, PollTiming} from '../../source/hooks/use-poller.js';
import {renderToString} from 'ink';
import {Header} from '../../source/views/header.js';
import {emulatorSource, snapshot, stuckHistory} from './fixtures.js';
import type {History, ThreadTable} from '../../source/model/types.js';
import {plain} from './helpers.js';

function Probe(props: PollerOptions) {
	usePoller(props);
	return <Text>probe</Text>;
}

const realTick = async () =>
	new Promise<void>((resolve) => {
		setImmediate(resolve);
	});

afterEach(() => {
	vi.useRealTimers();
});

/** A table of no threads, named (the poller only compares tables). */
function emptyTable(name: string): ThreadTable {
	const table: ThreadTable & {name?: string} = {
		count: 0,
		tid: new Int32Array(0),
		tgid: new Int32Array(0),
		ppid: new Int32Array(0),
		flags: new Uint32Array(0),
		starttime: new Float64Array(0),
		uid: new Float64Array(0),
		patchState: new Int8Array(0),
		state: new Uint16Array(0),
		comm: new Int32Array(0),
		comms: [],
	};
	table.name = name;
	return table;
}

/** The poller's props for `feed`: every second, unpaused, nothing folded yet, every history taken; `own` on top. */
function pollerProps(feed: PollFeed, own: Partial<PollerOptions> = {}): PollerOptions {
	return {
		feed,
		delayS: 1,
		paused: false,
		threads: 'blockers',
		pollNow: 0,
		initial: null,
		onHistory: () => true,
		onError: () => undefined,
		...own,
	};
}

describe('polling when scans are slow', () => {
	it("lets what a key started while a poll's turn ran (its render, an immediate) go before the next turn", async () => {
		const order: string[] = [];
		const turn = nextTurn().then(() => order.push('next turn'));
		// Queued after the turn asked to go on, as React queues the render of a key read meanwhile.
		setImmediate(() => order.push('key render'));
		await turn;
		expect(order).toEqual(['key render', 'next turn']);
	});

	it('keeps the interval while scans are short, and never waits less than a scan took', () => {
		expect(nextPollDelayMs(1000, 0)).toBe(1000);
		expect(nextPollDelayMs(1000, 100)).toBe(900); // A scan every second, as asked.
		expect(nextPollDelayMs(1000, 500)).toBe(500);
		expect(nextPollDelayMs(1000, 600)).toBe(600); // 1.2 s apart: scanning at most half the time.
		expect(nextPollDelayMs(1000, 2400)).toBe(2400); // The all-threads view on 100,000 threads.
		expect(nextPollDelayMs(100, 99)).toBe(99);
		expect(nextPollDelayMs(100, 80)).toBe(80);
		expect(nextPollDelayMs(50, 1)).toBe(50); // Never a busy loop.
	});

	it('schedules each next scan from how long the last one took, and reports it', async () => {
		// Only the poller's timers (and the date it is read by) are fake; React's own scheduling stays real.
		vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date']});
		let clock = 0;
		const scanCosts = [100, 600, 600, 2400, 100];
		const polledAt: number[] = [];
		const timings: PollTiming[] = [];
		const feed = {
			poll() {
				polledAt.push(Date.now());
				clock += scanCosts[polledAt.length - 1] ?? 100;
				return snapshot();
			},
		};
		const {unmount} = render(
			<Probe
				{...pollerProps(feed, {
					onTiming: (timing) => timings.push(timing),
					now: () => clock,
				})}
			/>,
		);
		await realTick();
		expect(polledAt).toHaveLength(1); // At once on mount.
		await vi.advanceTimersByTimeAsync(10_000);
		unmount();
		// Fake time between polls is the wait alone (a scan takes no fake time here).
		const waits = polledAt.slice(1, 5).map((at, i) => at - polledAt[i]!);
		expect(waits).toEqual([900, 600, 600, 2400]);
		expect(timings.slice(0, 4)).toEqual([
			{scanMs: 100, periodMs: 1000},
			{scanMs: 600, periodMs: 1200},
			{scanMs: 600, periodMs: 1200},
			{scanMs: 2400, periodMs: 4800},
		]);
	});

	it('polls through pollAsync, one scan of a feed at a time, folding a scan that outlived its effect', async () => {
		/** A feed whose scans end when the test says (`calls[i](snapshot)`). */
		const asyncFeed = () => {
			const calls: Array<(value: ReturnType<typeof snapshot>) => void> = [];
			let pending = 0;
			const feed = {
				calls,
				maxPending: 0,
				poll(): never {
					throw new Error('the synchronous scan is not used when pollAsync exists');
				},
				async pollAsync() {
					pending++;
					feed.maxPending = Math.max(feed.maxPending, pending);
					return new Promise<ReturnType<typeof snapshot>>((resolve) => {
						calls.push((value) => {
							pending--;
							resolve(value);
						});
					});
				},
			};
			return feed;
		};

		const first = asyncFeed();
		const second = asyncFeed();
		const histories: number[] = [];
		const errors: string[] = [];
		const props = (feed: ReturnType<typeof asyncFeed>, delayS: number) => (
			<Probe
				feed={feed}
				delayS={delayS}
				paused={false}
				threads="blockers"
				pollNow={0}
				initial={null}
				onHistory={(history) => histories.push(history.snapshot.time) > 0}
				onError={(message) => errors.push(message)}
			/>
		);
		const settle = async () => {
			for (let i = 0; i < 5; i++) await realTick();
		};

		const {rerender, unmount} = render(props(first, 0.05));
		await settle();
		expect(first.calls).toHaveLength(1);
		// A new interval restarts the poller while the first scan still walks: no second scan yet.
		rerender(props(first, 0.06));
		await settle();
		expect(first.calls).toHaveLength(1);
		// The first scan ends: folded all the same (its kernel log lines come only once); then the
		// restart's own scan begins.
		first.calls[0]!(snapshot({time: 1}));
		await settle();
		expect(histories).toEqual([1]);
		expect(first.calls).toHaveLength(2);
		first.calls[1]!(snapshot({time: 2}));
		await settle();
		expect(histories).toEqual([1, 2]);
		// The next scan comes after the interval. A new feed replaces this one while it walks: the new
		// feed's scan starts at once, and the old one's result is dropped.
		await new Promise((resolve) => {
			setTimeout(resolve, 150);
		});
		expect(first.calls).toHaveLength(3);
		rerender(props(second, 0.06));
		await settle();
		expect(second.calls).toHaveLength(1);
		first.calls[2]!(snapshot({time: 3}));
		await settle();
		expect(histories).toEqual([1, 2]);
		// Unmounted while the new feed's scan walks: dropped too.
		unmount();
		second.calls[0]!(snapshot({time: 4}));
		await settle();
		expect(histories).toEqual([1, 2]);
		expect(first.maxPending).toBe(1);
		expect(second.maxPending).toBe(1);
		expect(errors).toEqual([]);
	});

	it('gives a thread table back to its feed once the screen no longer shows it, never one it does', async () => {
		vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date']});
		/** A feed whose scan i carries table i (an object of its own; the poller only compares them). */
		const tableFeed = (name: string) => {
			const recycled: string[] = [];
			let scans = 0;
			const feed = {
				recycled,
				poll() {
					scans++;
					return {...snapshot({time: scans}), threadTable: emptyTable(`${name}${scans}`)};
				},
				recycle(table: ThreadTable) {
					recycled.push((table as unknown as {name: string}).name);
				},
			};
			return feed;
		};

		const first = tableFeed('a');
		const second = tableFeed('b');
		// The screen's history: polls 4 and 5 would draw the same frame and are not taken.
		let screen: History | null = null;
		const props = (feed: ReturnType<typeof tableFeed>) => (
			<Probe
				{...pollerProps(feed, {
					threads: 'columns',
					onHistory(history) {
						if (history.snapshot.time === 4 || history.snapshot.time === 5) return false;
						screen = history;
						return true;
					},
				})}
			/>
		);
		const held = () =>
			[screen?.snapshot, screen?.previous].map((s) => (s?.threadTable as {name?: string} | undefined)?.name);
		const {rerender, unmount} = render(props(first));
		await realTick();
		const seen: Array<[string[], Array<string | undefined>]> = [];
		for (let poll = 2; poll <= 7; poll++) {
			await vi.advanceTimersByTimeAsync(1000);
			seen.push([[...first.recycled], held()]);
		}

		// What was given back, and the tables of the screen's history (its snapshot's and its previous one's).
		expect(seen).toEqual([
			[['a1'], ['a2', 'a1']], // The screen shows a2: a1, its previous, is read no more.
			[
				['a1', 'a2'],
				['a3', 'a2'],
			],
			[
				['a1', 'a2'],
				['a3', 'a2'],
			], // Poll 4 not taken: the screen still shows a3.
			[
				['a1', 'a2'],
				['a3', 'a2'],
			],
			// Poll 6 is taken: the screen gives up a3; a4 and a5 were never on screen (the collector's).
			[
				['a1', 'a2', 'a3'],
				['a6', 'a5'],
			],
			[
				['a1', 'a2', 'a3', 'a6'],
				['a7', 'a6'],
			],
		]);
		// A new feed: the old feed's tables are never handed to it (nor back to the old one).
		rerender(props(second));
		await vi.advanceTimersByTimeAsync(2000);
		expect(second.recycled).toEqual(['b1', 'b2']);
		// a7, on screen when the feed changed, goes to neither.
		expect(first.recycled).toEqual(['a1', 'a2', 'a3', 'a6']);
		unmount();
	});

	it('the header says how often the picture really changes when scans stretch the interval', () => {
		const history = stuckHistory();
		const header = (periodS: number | null, ascii = false) =>
			plain(
				renderToString(
					<Header
						history={history}
						source={emulatorSource}
						hostname="h"
						delayS={1}
						periodS={periodS}
						paused={false}
						scanError={null}
						loadingAll={false}
						width={120}
						theme={{color: false, ascii}}
					/>,
					{columns: 120},
				),
			).split('\n')[0]!;
		expect(header(null)).toContain('every 1s');
		expect(header(null)).not.toContain('→');
		expect(header(4.8)).toContain('every 1s → 4.8s');
		expect(header(1.2, true)).toContain('every 1s -> 1.2s');
	});
});
