/**
Issue 3 speed (a): the task table with 100,000 threads in the model, through the path the dashboard
uses: the reducer (`source/dashboard/state.ts`) derives, filters and sorts the rows when history or the
view changes, and `<TaskTable>` (`source/views/task-table.tsx`) draws the visible window.

  node bench/render.mjs DIST TREE RUNS [SNAPSHOT_FILE] [--render-only]

The model is real: `scan({threads: 'all'})` of TREE (or the snapshot saved in SNAPSHOT_FILE by an
earlier run, which saves it when the file does not exist yet) folded twice into a history (the
second time one second later, so STUCK has values), with the all-threads view on (`a`), so the
table holds every thread. `--render-only` skips the row measurements. Measured, median of
RUNS each (after one warm-up):
- rows on poll: `reduce(state, {type: 'history'})` with a new History each run (a new poll, new thread
  objects: nothing cached from an earlier poll applies as is): derive + sort by STUCK + selection;
- sort key: `reduce(state, {type: 'command', id: 'sort-invert'})` (re-sort 100,000 rows);
- filter: `deriveRows` with a filter text on a new poll each run (the filter kept on while polling);
- table render (after a 25 ms pause, as between two refreshes: see `settle`): `<TaskTable .../>`
  for a 120x40 terminal the way the dashboard renders it:
  `renderToString(<RawLinesContext.Provider value={registry}><TaskTable/></...>, {columns: 2})`
  (laid out in a marker's width, `InkLayout`) and `resolveRawLines` on the result (`source/renderer/raw-lines.ts`: pre-styled lines bypass Ink's
  per-character output); `tableRenderInk`: plain `renderToString(<TaskTable .../>)`, Ink's own
  output of every line, for comparison (what the dashboard did before);
- app frame: `<App .../>` at 120x40 with the same history (default blockers view), likewise
  `appFrame` (the dashboard's path) and `appFrameInk` (Ink's own output).

Prints one JSON object on stdout. Each part reports `{error}` instead when the UI's API moved.
*/
import {performance} from 'node:perf_hooks';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {measure, measurePrepared, summary} from './stats.mjs';

const [dist, tree, runsText, snapshotFile] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const renderOnly = process.argv.includes('--render-only');
const runs = Number(runsText ?? 15);
const load = (relative) => import(pathToFileURL(path.join(dist, relative)).href);
const {createElement} = await import('react');
const {renderToString} = await import('ink');
const {createReader} = await load('source/sources/reader.js');
const {createHostPort} = await load('source/sources/host-port.js');
const {foldSnapshot} = await load('source/model/history.js');

const width = 120;
const height = 40;
const source = {kind: 'tree', root: tree, scenario: null};
const buildStart = performance.now();
let snapshot;
if (snapshotFile !== undefined && existsSync(snapshotFile)) {
	snapshot = JSON.parse(readFileSync(snapshotFile, 'utf8'));
} else {
	snapshot = createReader(createHostPort(tree), source).scan({threads: 'all'});
	if (snapshotFile !== undefined) writeFileSync(snapshotFile, JSON.stringify(snapshot));
}

let history = foldSnapshot(null, snapshot);
history = foldSnapshot(history, {...snapshot, time: snapshot.time + 1000});
const out = {
	threads: history.snapshot.threads?.length ?? 0,
	blockers: history.snapshot.blockers.length,
	modelMs: performance.now() - buildStart,
};

async function attemptAsync(name, fn) {
	try {
		out[name] = await fn();
	} catch (error) {
		out[name] = {
			error: String(error?.stack ?? error)
				.split('\n')
				.slice(0, 3)
				.join(' | '),
		};
	}
}

/** The history after one more poll of the same world: a copy of every thread, as a scan makes. */
function nextPoll(previous) {
	const snapshot = previous.snapshot;
	return foldSnapshot(previous, {
		...snapshot,
		time: snapshot.time + 1000,
		threads: snapshot.threads?.map((thread) => ({...thread})),
		blockers: snapshot.blockers.map((blocker) => ({...blocker})),
	});
}

let state;
let stateModule;
try {
	stateModule = await load('source/dashboard/state.js');
} catch (error) {
	out.rowsOnPoll = {error: `source/dashboard/state.js: ${String(error?.message ?? error)}`};
}

if (stateModule) {
	const {initialState, layoutOf} = stateModule;
	const {reduce} = await load('source/ui/reducer.js');
	await attemptAsync('rowsOnPoll', async () => {
		let base = initialState({width, height, delayS: 1, readonlyReason: null, pids: null, tids: null});
		base = reduce(base, {type: 'command', id: 'toggle-all'});
		// A real poll: a new History from a new scan (new thread objects), one second later each time,
		// so nothing derived from an earlier poll can be reused as is.
		let polled = history;
		const m = await measurePrepared(
			() => {
				polled = nextPoll(polled);
				return polled;
			},
			(next) => reduce(base, {type: 'history', history: next}),
			{runs: renderOnly ? 1 : runs, warmup: 1},
		);
		state = m.result;
		return {...summary(m), rows: state.rows.length, tableRows: layoutOf(state).tableRows};
	});
	await attemptAsync('sortKey', async () => {
		if (renderOnly) return undefined;
		if (!state) throw new Error('no state');
		let current = state;
		const m = measure(
			() => {
				current = reduce(current, {type: 'command', id: 'sort-invert'});
				return current;
			},
			{runs, warmup: 1},
		);
		return {...summary(m), rows: current.rows.length};
	});
}

try {
	const {deriveRows, defaultViewOptions} = await load('source/dashboard/rows.js');
	await attemptAsync('filter', async () => {
		if (renderOnly) return undefined;
		const view = {...defaultViewOptions, showAll: true, filter: 'sleep'};
		let polled = history;
		const m = await measurePrepared(
			() => {
				polled = nextPoll(polled);
				return polled;
			},
			(next) => deriveRows(next, view),
			{runs, warmup: 1},
		);
		return {...summary(m), rows: m.result.length, text: view.filter};
	});
} catch (error) {
	out.filter = {error: `source/dashboard/rows.js: ${String(error?.message ?? error)}`};
}

let rawLines = null;
try {
	rawLines = await load('source/renderer/raw-lines.js');
} catch (error) {
	out.rawLines = {error: `source/renderer/raw-lines.js: ${String(error?.message ?? error)}`};
}

/**
The dashboard's path: the element under a raw-lines registry, laid out by Ink in a marker's width
(`InkLayout`: what the dashboard's stream reports while the screen holds only finished lines, as the
task table and the main screen do; older builds without it: the terminal's width), then the markers
in Ink's frame resolved (`resolveRawLines`), as `run-dashboard.tsx` does before the frame writer
sees the frame. Without the module (an older build), Ink's own path.
*/
function dashboardRender(registry, element) {
	if (rawLines === null) return renderToString(element, {columns: width});
	const {RawLinesContext, resolveRawLines, InkLayoutContext, markerLength} = rawLines;
	const columns = InkLayoutContext === undefined ? width : markerLength;
	const frame = renderToString(createElement(RawLinesContext.Provider, {value: registry}, element), {
		columns,
	});
	return resolveRawLines(frame, registry);
}

/**
Before each timed render (untimed): a pause, as the dashboard has between two refreshes (it renders
once per interval, 1 s by default), so that the background work of the collector (concurrent
marking and sweeping of the 100,000-thread heap the phases above built) is not charged to a render
that happens to start while it runs. What a render allocates itself is still collected in its time.
*/
const settle = async (i) => {
	await new Promise((resolve) => setTimeout(resolve, 25));
	return i;
};

/** `tableRender`/`appFrame` measure the dashboard's path, `...Ink` Ink's own output of the same element. */

async function renderParts(name, makeElement) {
	await attemptAsync(name, async () => {
		const registry = rawLines?.createRawLines() ?? null;
		let text = '';
		const m = await measurePrepared(
			settle,
			(i) => {
				text = dashboardRender(registry, makeElement(i));
				return text;
			},
			{runs, warmup: 2},
		);
		return {...summary(m), lines: text.split('\n').length, held: registry?.size};
	});
	await attemptAsync(`${name}Ink`, async () => {
		let text = '';
		const m = await measurePrepared(
			settle,
			(i) => {
				text = renderToString(makeElement(i), {columns: width});
				return text;
			},
			{runs, warmup: 2},
		);
		return {...summary(m), lines: text.split('\n').length};
	});
}

try {
	const {TaskTable} = await load('source/views/task-table.js');
	if (!state) throw new Error('no state');
	const {layoutOf} = stateModule;
	const props = {
		rows: state.rows,
		top: 0,
		selectedIndex: 0,
		height: layoutOf(state).tableRows,
		width,
		sort: state.view.sort,
		tagged: state.tagged,
		focused: true,
		target: history.snapshot.transition?.target ?? null,
		processes: false,
		emptyText: 'none',
		theme: {color: true, ascii: false},
	};
	// Scroll a little each time, as a refresh with changed rows would.
	await renderParts('tableRender', (i) =>
		createElement(TaskTable, {...props, top: i % 7, selectedIndex: i % 7}),
	);
	if (typeof out.tableRender === 'object') out.tableRender.rows = props.rows.length;
} catch (error) {
	out.tableRender = {error: `source/views/task-table.js: ${String(error?.message ?? error)}`};
}

try {
	const {App} = await load('source/ui/app.js');
	const feed = {
		source,
		poll: () => history.snapshot,
		close() {},
	};
	const props = {
		feed,
		makeEmulatorFeed: () => feed,
		delayS: 3600,
		readonlyReason: null,
		theme: {color: true, ascii: false},
		pids: null,
		tids: null,
		hostname: 'bench',
		width,
		height,
		initialHistory: history,
	};
	await renderParts('appFrame', () => createElement(App, props));
} catch (error) {
	out.appFrame = {error: `source/ui/app.js: ${String(error?.message ?? error)}`};
}

process.stdout.write(JSON.stringify(out) + '\n');
// The App's poller may have left a timer behind.
process.exit(0);
