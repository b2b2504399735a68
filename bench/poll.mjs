/**
In-process cost of one poll (issue 2 §7), as the dashboard pays it every refresh: one reader
(created once, as the dashboard keeps it) scanning a tree on disk through the host port.

  node bench/poll.mjs DIST IDLE_TREE TRANSITION_TREE RUNS

- idle: `scan({threads: 'blockers'})` with no transition on IDLE_TREE (10,000 threads);
- steady: the same during a transition on TRANSITION_TREE (100,000 threads, 1% blocking), and the
  history fold (`foldSnapshot`) the dashboard does after each scan;
- all: `scan({threads: 'all'})` on TRANSITION_TREE (the dashboard's all-threads view, `a`);
- helperOn / helperOff: the steady poll with the host port's helper thread forced on / off (by
  default it runs only when the load average leaves a core free);
- incremental (issue 12 §1): pairs of a full scan (`full: true`) and a steady-state poll of the same
  kept reader on TRANSITION_TREE, on the calling thread, with the ratios of each pair;
- firstScanMs: the first `scanAsync` of a new reader on TRANSITION_TREE (what the dashboard's first
  full frame waits for);
- background: the dashboard's own scan, `scanAsync` (the walk on the helper thread alone), in both
  views: its wall time, and the longest stretch the main thread could not answer (the gap between
  ticks of a 1 ms timer during the scan).

The first scan of a reader is reported apart (it probes boot time and stacks once). Prints one JSON
object on stdout.
*/
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {max, measure, median, summary} from './stats.mjs';

const [dist, idleTree, transitionTree, runsText] = process.argv.slice(2);
const runs = Number(runsText ?? 7);
const load = (relative) => import(pathToFileURL(path.join(dist, relative)).href);
const {createReader} = await load('source/sources/reader.js');
const {createHostPort} = await load('source/sources/host-port.js');
const {foldSnapshot} = await load('source/model/history.js');

const ports = [];
function reader(root, portOptions = {}, readerOptions = {}) {
	// kernelLog stays on: the dashboard reads the log every poll too (the tree's dev/kmsg is a file).
	const port = createHostPort(root, portOptions);
	ports.push(port);
	return createReader(port, {kind: 'tree', root, scenario: null}, readerOptions);
}

/** Helper-thread runs of a host port (walk.ts/host-port.ts), when the port reports them. */
function helperRuns(port) {
	return port.stats ? port.stats.helperRuns : null;
}

const out = {};

{
	const r = reader(idleTree);
	const first = measure(() => r.scan({threads: 'blockers'}), {runs: 1});
	const steady = measure(() => r.scan({threads: 'blockers'}), {runs: runs * 3, warmup: 1});
	const snapshot = steady.result;
	out.idle = {
		first: summary(first),
		steady: summary(steady),
		threads: snapshot.tasks.total,
		transition: snapshot.transition !== null,
		blockers: snapshot.blockers.length,
		scanCost: snapshot.scanCost ?? null,
	};
}

{
	const r = reader(transitionTree);
	const first = measure(() => r.scan({threads: 'blockers'}), {runs: 1});
	let history = foldSnapshot(null, first.result);
	const scans = [];
	const steady = measure(
		() => {
			const snapshot = r.scan({threads: 'blockers'});
			scans.push(snapshot);
			return snapshot;
		},
		{runs},
	);
	let i = 0;
	const fold = measure(
		() => {
			history = foldSnapshot(history, scans[i++]);
			return history;
		},
		{runs},
	);
	out.steady = {
		first: summary(first),
		scan: summary(steady),
		fold: summary(fold),
		threads: steady.result.tasks.total,
		blockers: steady.result.blockers.length,
		pending: history.transition?.pending ?? null,
	};
	out.steady.helperRuns = helperRuns(ports.at(-1));
	const all = measure(() => r.scan({threads: 'all'}), {runs: 2});
	out.all = {scan: summary(all), threads: all.result.threads?.length ?? null};
}

{
	// The same steady poll with the reader's helper thread forced on and forced off, whatever the load.
	for (const [key, portOptions] of [
		['helperOn', {loadCheck: false, parallelMinPids: 0}],
		['helperOff', {parallelMinPids: Number.POSITIVE_INFINITY}],
	]) {
		const r = reader(transitionTree, portOptions);
		r.scan({threads: 'blockers'});
		const m = measure(() => r.scan({threads: 'blockers'}), {runs: 3});
		out[key] = {...summary(m), helperRuns: helperRuns(ports.at(-1))};
	}
}

{
	// The dashboard's scan: walked on the helper thread while the main thread stays free.
	const r = reader(transitionTree);
	out.background = {};
	for (const threads of ['blockers', 'all']) {
		await r.scanAsync({threads});
		const walls = [];
		const stalls = [];
		for (let i = 0; i < (threads === 'all' ? 2 : 3); i++) {
			let last = performance.now();
			let worst = 0;
			const tick = () => {
				const now = performance.now();
				worst = Math.max(worst, now - last);
				last = now;
			};

			const timer = setInterval(tick, 1);
			const start = performance.now();
			await r.scanAsync({threads});
			walls.push(performance.now() - start);
			tick();
			clearInterval(timer);
			stalls.push(worst);
		}

		out.background[threads] = {wallMedian: median(walls), stallMedian: median(stalls), stallMax: max(stalls)};
	}
}

{
	// Issue 12 §1: a steady-state poll of a kept reader next to a full scan of the same tree, in
	// pairs (full, then steady), on this thread (the helper off: its CPU is the process's anyway).
	// A reader without incremental scans reads every thread both times (`full` means nothing to it).
	// The safety net (a full read every 10 s) is not a steady-state poll: on a loaded machine a full
	// scan alone can take more than 10 s of wall time, and every poll after one would be the net's.
	const r = reader(transitionTree, {parallelMinPids: Number.POSITIVE_INFINITY}, {fullScanEveryMs: 600_000});
	r.scan({threads: 'blockers'});
	r.scan({threads: 'blockers'});
	const full = [];
	const steady = [];
	let last = null;
	for (let i = 0; i < Math.max(9, runs); i++) {
		const f = measure(() => r.scan({threads: 'blockers', full: true}), {runs: 1});
		const s = measure(() => r.scan({threads: 'blockers'}), {runs: 1});
		full.push({wall: f.wall[0], cpu: f.cpu[0]});
		steady.push({wall: s.wall[0], cpu: s.cpu[0]});
		last = s.result;
	}

	const pick = (list, field) => list.map((entry) => entry[field]);
	out.incremental = {
		full: summary({wall: pick(full, 'wall'), cpu: pick(full, 'cpu')}),
		steady: summary({wall: pick(steady, 'wall'), cpu: pick(steady, 'cpu')}),
		cpuRatios: full.map((f, i) => steady[i].cpu / f.cpu),
		wallRatios: full.map((f, i) => steady[i].wall / f.wall),
		scanCost: last?.scanCost ?? null,
		threads: last?.tasks.total ?? null,
		blockers: last?.blockers.length ?? null,
	};
}

{
	// The dashboard's first scan of the big tree (a new reader, the walk on the helper).
	const r = reader(transitionTree);
	const start = performance.now();
	await r.scanAsync({threads: 'blockers'});
	out.firstScanMs = performance.now() - start;
}

out.load = os.loadavg()[0];
out.cpus = os.availableParallelism();

out.rssMb = process.memoryUsage().rss / 1e6;
process.stdout.write(JSON.stringify(out) + '\n');
