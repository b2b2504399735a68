// Pre-styled lines that bypass Ink's per-character output (source/renderer/raw-lines.ts): under a
// registry, what the frame writer gets after `resolveRawLines` must be, cell for cell (character,
// complete style, width), what Ink itself makes of the same views without one. Ink re-encodes SGR
// sequences, so frames are compared as parsed cells (line-diff.ts, as the frame writer reads them),
// not as bytes.
import {Box, renderToString} from 'ink';
import type {ReactElement} from 'react';
import {describe, expect, it} from 'vitest';
import type {KeyContext} from '../../source/keymap.js';
import {clean} from '../../source/model/sanitize.js';
import type {HistoryEvent} from '../../source/model/types.js';
import {App} from '../../source/ui/app.js';
import {parseCells} from '../../source/renderer/line-diff.js';
import {defaultViewOptions, deriveRows} from '../../source/dashboard/rows.js';
import {EventLog} from '../../source/views/event-log.js';
import {codePointWidth} from '../../source/views/format.js';
import {HelpScreen} from '../../source/views/help-screen.js';
import {NoLivepatch, TooSmall} from '../../source/views/notice.js';
import {Lines} from '../../source/views/line.js';
import {
	createRawLines,
	marker,
	markerLength,
	RawLinesContext,
	resolveRawLines,
} from '../../source/renderer/raw-lines.js';
import type {RawLines} from '../../source/renderer/raw-lines.js';
import {TaskTable} from '../../source/views/task-table.js';
import type {Theme} from '../../source/views/theme.js';
import {blocker, FakeFeed, historyOf, manyBlockers, snapshot, stuckHistory, t0} from '../ui/fixtures.js';

const widths = [80, 120, 200] as const;
const themes: ReadonlyArray<[string, Theme]> = [
	['colour', {color: true, ascii: false}],
	['no colour, ASCII', {color: false, ascii: true}],
];

/** Any Private Use Area code point (the markers' alphabet). */
const privateUse = /[\uE000-\uF8FF]/u;

function cells(frame: string) {
	return frame.split('\n').map((line) => parseCells(line, codePointWidth));
}

/** The element rendered both ways: Ink's own output, and the markers resolved from a registry. */
function bothWays(element: ReactElement, width: number, registry: RawLines = createRawLines()) {
	const ink = renderToString(element, {columns: width});
	const marked = renderToString(
		<RawLinesContext.Provider value={registry}>{element}</RawLinesContext.Provider>,
		{columns: width},
	);
	return {ink, marked, resolved: resolveRawLines(marked, registry), registry};
}

/**
The markers laid out the way the dashboard lets Ink lay out screens of finished lines: in a
marker's width (`InkLayout`), then resolved.
*/
function narrowly(element: ReactElement, registry: RawLines = createRawLines()) {
	const marked = renderToString(
		<RawLinesContext.Provider value={registry}>{element}</RawLinesContext.Provider>,
		{columns: markerLength},
	);
	return resolveRawLines(marked, registry);
}

function expectSameCells(element: ReactElement, width: number) {
	const {ink, marked, resolved} = bothWays(element, width);
	// The registry path was taken: Ink saw markers, not the lines.
	expect(marked).toMatch(privateUse);
	expect(resolved).not.toMatch(privateUse);
	expect(ink).not.toMatch(privateUse);
	expect(cells(resolved)).toEqual(cells(ink));
	// Laid out in a marker's width, the same frame.
	expect(cells(narrowly(element))).toEqual(cells(ink));
	return {ink, resolved};
}

const history = stuckHistory(20, {
	blockers: [
		blocker(42, {comm: 'sleeper'}),
		// Wide characters: cells of width 2 must land in the same columns both ways.
		blocker(43, {comm: '日本語のプロセス名'}),
		// A hostile name, sanitised by the view: its control characters become '?'.
		blocker(44, {comm: 'evil\u001B[31mred\u0007'}),
		...manyBlockers(60),
	],
});
const rows = deriveRows(history, defaultViewOptions);

const events: HistoryEvent[] = [
	{time: t0, kind: 'transition-started', patch: 'klp_sleeper_patch', tid: null, text: 'transition started'},
	{time: t0 + 1000, kind: 'fake-signal', patch: null, tid: null, text: 'fake signal round 1'},
	{time: t0 + 2000, kind: 'kernel-log', patch: null, tid: null, text: 'livepatch: klp_sleeper_patch: ok'},
	{time: t0 + 3000, kind: 'warning', patch: null, tid: 44, text: 'odd \u001B]0;title\u0007 name'},
	{time: t0 + 4000, kind: 'transition-completed', patch: 'klp_sleeper_patch', tid: null, text: 'done'},
];

const helpContext: KeyContext = {
	screen: 'main',
	prompt: null,
	focus: 'tasks',
	row: 'thread',
	patch: true,
	transition: true,
	search: false,
	readonlyReason: null,
};

describe.each(themes)('resolved frames equal Ink own output (%s)', (_name, theme) => {
	describe.each(widths)('at %i columns', (width) => {
		it('task table, selected and tagged rows included', () => {
			const {resolved} = expectSameCells(
				<TaskTable
					rows={rows}
					top={0}
					selectedIndex={1}
					height={30}
					width={width}
					sort={defaultViewOptions.sort}
					tagged={new Set([rows.at(2)!.key])}
					focused
					target={1}
					processes={false}
					emptyText="none"
					theme={theme}
				/>,
				width,
			);
			expect(resolved).toContain('sleeper');
			expect(resolved).toContain('日本語');
		});

		it('task table, unfocused (a bold selection)', () => {
			expectSameCells(
				<TaskTable
					rows={rows}
					top={5}
					selectedIndex={6}
					height={12}
					width={width}
					sort={{column: 'comm', descending: false}}
					tagged={new Set()}
					focused={false}
					target={1}
					processes={false}
					emptyText="none"
					theme={theme}
				/>,
				width,
			);
		});

		it('event log', () => {
			const {resolved} = expectSameCells(
				<EventLog events={events} scroll={0} height={8} width={width} focused theme={theme} />,
				width,
			);
			expect(resolved).toContain('fake signal round 1');
		});

		it('help screen', () => {
			const {resolved} = expectSameCells(
				<HelpScreen context={helpContext} scroll={0} height={30} width={width} theme={theme} />,
				width,
			);
			expect(resolved).toContain('Moving around');
		});

		it('notices: terminal too small, no livepatch', () => {
			expectSameCells(
				<TooSmall width={width} height={10} minWidth={60} minHeight={15} theme={theme} />,
				width,
			);
			const {resolved} = expectSameCells(
				<NoLivepatch source={null} release="6.1.0-56-cloud-amd64" width={width} height={20} theme={theme} />,
				width,
			);
			expect(resolved).toContain('6.1.0-56-cloud-amd64');
		});

		it('the whole dashboard frame', () => {
			const height = width === 80 ? 24 : width === 120 ? 40 : 50;
			const feed = new FakeFeed([snapshot()]);
			const {resolved} = expectSameCells(
				<App
					feed={feed}
					makeEmulatorFeed={() => feed}
					delayS={3600}
					readonlyReason={null}
					theme={theme}
					pids={null}
					tids={null}
					hostname="testbox"
					width={width}
					height={height}
					initialHistory={history}
				/>,
				width,
			);
			expect(resolved.split('\n')).toHaveLength(height);
			expect(resolved).toContain('klp_sleeper_patch');
		});
	});
});

describe('markers and Ink layout', () => {
	const theme: Theme = {color: true, ascii: false};
	const body = Array.from({length: 10}, (_, i) => ({
		segments: [
			{text: `line ${i}`, bold: i % 2 === 0},
			{text: ` of ten`, color: 'cyan'},
		],
	}));

	it('survive a Box that clips vertically: the lines Ink keeps are the ones resolved', () => {
		const {ink, resolved, registry} = bothWays(
			<Box flexDirection="column" width={40} height={4} overflowY="hidden">
				<Box flexShrink={0}>
					<Lines lines={[{segments: [{text: 'title', underline: true}]}]} width={40} theme={theme} />
				</Box>
				<Lines lines={body} width={40} theme={theme} />
			</Box>,
			40,
		);
		expect(cells(resolved)).toEqual(cells(ink));
		const shown = resolved.split('\n');
		expect(shown).toHaveLength(4);
		expect(shown[0]).toContain('title');
		expect(shown[3]).toContain('line 2');
		expect(resolved).not.toContain('line 3');
		expect(registry.size).toBe(2);
	});

	it('keep what precedes a marker on its line (a border)', () => {
		const {ink, resolved} = bothWays(
			<Box flexDirection="column" width={30} borderStyle="single">
				<Lines lines={body.slice(0, 3)} width={28} theme={theme} />
			</Box>,
			30,
		);
		expect(resolved.split('\n')[1]).toMatch(/^│.*line 0/);
		// The right border stands after the marker: it is the one thing a resolved line cannot keep.
		expect(ink.split('\n')[1]).toMatch(/│$/);
		expect(resolved.split('\n')[1]).not.toMatch(/│$/);
	});

	it('are not used where a marker would not fit (Ink would wrap it)', () => {
		const registry = createRawLines();
		const {ink, marked} = bothWays(
			<Lines lines={[{segments: [{text: 'abc'}]}]} width={markerLength - 1} theme={theme} />,
			markerLength - 1,
			registry,
		);
		expect(marked).toBe(ink);
		expect(registry.size).toBe(0);
	});
});

describe('resolveRawLines', () => {
	it('puts registered lines in place of their markers and leaves other lines alone', () => {
		const registry = createRawLines();
		const [a, b] = registry.register(['\u001B[1mone\u001B[0m', 'two  ']);
		const frame = ['top', `> ${a!}`, `${b!}`, ''].join('\n');
		expect(resolveRawLines(frame, registry)).toBe(['top', '> \u001B[1mone\u001B[0m', 'two', ''].join('\n'));
	});

	it('drops what follows a marker on its line', () => {
		const registry = createRawLines();
		const [a] = registry.register(['finished']);
		expect(resolveRawLines(`${a!}   leftover`, registry)).toBe('finished');
	});

	it('leaves a line blank for an unknown, stale or cut marker, and never throws', () => {
		const registry = createRawLines();
		const [a] = registry.register(['kept']);
		const unknown = marker(999, 0);
		const pastEnd = marker(0, 5);
		const cut = a!.slice(0, 1);
		const malformed = `${cut}xyz`;
		// What is left of a marker whose first character was cut off (by a clip from the left).
		const tail = a!.slice(1);
		const frame = [`| ${unknown}`, `| ${pastEnd}`, `| ${cut}`, `| ${malformed}`, `| ${tail}`, a!].join('\n');
		expect(resolveRawLines(frame, registry)).toBe(['|', '|', '|', '|', '|', 'kept'].join('\n'));
	});

	it('forgets the lines no frame shows any more, keeps those a frame still shows', () => {
		const registry = createRawLines();
		// One block that is not rendered again (a pane that did not change) and one re-rendered 50 times.
		const [still] = registry.register(['still here']);
		let last = '';
		for (let i = 0; i < 50; i++) {
			const [line] = registry.register([`render ${i}`]);
			last = resolveRawLines(`${still!}\n${line!}`, registry);
		}

		expect(last).toBe('still here\nrender 49');
		expect(registry.size).toBe(2);
		// A frame without markers (the "terminal too small" notice): nothing is kept.
		expect(resolveRawLines('too small', registry)).toBe('too small');
		expect(registry.size).toBe(0);
		expect(resolveRawLines(still!, registry)).toBe('');
	});

	it('does not hand a freed slot out again soon: a stale marker reads blank, not another block', () => {
		const registry = createRawLines();
		const [old] = registry.register(['old block']);
		const [shown] = registry.register(['shown']);
		resolveRawLines(shown!, registry);
		for (let i = 0; i < 100; i++) {
			const [line] = registry.register([`new ${i}`]);
			resolveRawLines(line!, registry);
		}

		expect(resolveRawLines(old!, registry)).toBe('');
	});

	it('stays bounded when no frame is ever resolved', () => {
		const registry = createRawLines();
		for (let i = 0; i < 10_000; i++) registry.register([`line ${i}`]);
		expect(registry.size).toBeLessThanOrEqual(0xf900 - 0xe000);
	});

	it('hands the same lines the same markers, and other lines others', () => {
		const registry = createRawLines();
		const first = registry.register(['a', 'b']);
		expect(registry.register(['a', 'b'])).toEqual(first);
		expect(registry.register(['a', 'c'])).not.toEqual(first);
		expect(registry.register(['a'])).not.toEqual(first.slice(0, 1));
		// No lines and one empty line are different blocks.
		expect(registry.register([''])).toHaveLength(1);
		expect(registry.register([])).toEqual([]);
		expect(registry.size).toBe(5);
	});

	it('keeps a block registered again as new: a frame showing it again does not lose it', () => {
		const registry = createRawLines();
		const [kept] = registry.register(['unchanged pane']);
		const [other] = registry.register(['other pane']);
		resolveRawLines(`${kept!}\n${other!}`, registry);
		// The next render: the unchanged pane registers the same lines after the other pane's new ones.
		const [changed] = registry.register(['other pane, new']);
		const [again] = registry.register(['unchanged pane']);
		expect(again).toBe(kept);
		expect(resolveRawLines(`${again!}\n${changed!}`, registry)).toBe('unchanged pane\nother pane, new');
		// What no frame shows any more is forgotten, and its lines get a fresh slot when they come back.
		expect(registry.size).toBe(2);
		expect(registry.register(['other pane'])).not.toEqual([other]);
	});

	it('gives an idle dashboard the same markers from one poll to the next (Ink has nothing to lay out again)', () => {
		const registry = createRawLines();
		const idle = (time: number) => snapshot({transition: false, time});
		const before = historyOf(idle(t0), idle(t0 + 1000));
		const after = historyOf(idle(t0), idle(t0 + 1000), idle(t0 + 2000));
		const feed = new FakeFeed([idle(t0)]);
		const app = (history: typeof before) => (
			<RawLinesContext.Provider value={registry}>
				<App
					feed={feed}
					makeEmulatorFeed={() => feed}
					delayS={3600}
					readonlyReason={null}
					theme={{color: true, ascii: false}}
					pids={null}
					tids={null}
					hostname="testbox"
					width={120}
					height={40}
					initialHistory={history}
				/>
			</RawLinesContext.Provider>
		);
		const one = renderToString(app(before), {columns: markerLength});
		resolveRawLines(one, registry);
		const two = renderToString(app(after), {columns: markerLength});
		expect(two).toMatch(privateUse);
		expect(two).toBe(one);
		expect(resolveRawLines(two, registry)).toContain('no transition');
	});

	it('keeps lines registered after the newest one a frame shows (their frame is still to come)', () => {
		const registry = createRawLines();
		const [shown] = registry.register(['shown']);
		const [pending] = registry.register(['pending']);
		resolveRawLines(shown!, registry);
		expect(resolveRawLines(pending!, registry)).toBe('pending');
	});
});

describe('foreign text can never be taken for a marker', () => {
	const forged = marker(0, 0);

	it('clean() escapes every Private Use Area code point', () => {
		expect(clean(forged)).toBe('?'.repeat(markerLength));
		expect(clean('a\uE000b\uF8FFc\u{F0000}d\u{10FFFD}')).toBe('a?b?c?d?');
	});

	it('a comm made of marker characters is shown escaped, never resolved', () => {
		const registry = createRawLines();
		const comm = `${forged}x${marker(1, 0)}`;
		const table = historyOf(snapshot({blockers: [blocker(77, {comm})]}));
		const theme: Theme = {color: false, ascii: false};
		const {ink, marked, resolved} = bothWays(
			<TaskTable
				rows={deriveRows(table, defaultViewOptions)}
				top={0}
				selectedIndex={0}
				height={5}
				width={120}
				sort={defaultViewOptions.sort}
				tagged={new Set()}
				focused
				target={1}
				processes={false}
				emptyText="none"
				theme={theme}
			/>,
			120,
			registry,
		);
		// Slots 0 and 1 are live in the registry while the frame is resolved: a forged marker would find them.
		// The forged markers were escaped before Ink saw them: each line holds only the view's own marker.
		for (const line of marked.split('\n').filter((text) => text !== '')) {
			expect(line.match(/[\uE000-\uF8FF]/gu)).toHaveLength(markerLength);
		}

		const row = resolved.split('\n').find((line) => line.includes(' 77 '));
		expect(row).toBeDefined();
		expect(row).toContain(`${'?'.repeat(markerLength)}x${'?'.repeat(markerLength)}`);
		expect(resolved).not.toMatch(privateUse);
		expect(cells(resolved)).toEqual(cells(ink));
	});
});
