#!/usr/bin/env node
/**
Issue 12 §2 alone: the all-threads view over 100,000 threads in a real terminal (tmux 120x40),
`-d 1`, keys h/Esc pressed at random moments for BENCH_SECONDS (default 60), BENCH_RUNS times
(default 3): peak RSS, the longest main-thread stall of each second (bench/stall-probe.mjs) and key
to screen, each run's figures and the medians and ranges over the runs, with the load average.
The same block as the first of `run.mjs`'s cost part, without the rest of the bench:
`BENCH_ONLY=all-threads npm run bench`. KLPTOP_NODE_FLAGS: extra node flags for the measured
klptop (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
*/
import {mkdirSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {median} from './stats.mjs';
import {benchDir, dist, work} from './paths.mjs';
import * as terminal from './terminal.mjs';
import {ensureTree} from './tree.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const flags = process.env.KLPTOP_NODE_FLAGS ?? '';
delete process.env.NODE_EXTRA_CA_CERTS;

mkdirSync(work, {recursive: true});
const {dir} = await ensureTree({dist, work, threads: 100_000, state: 'transition'});
const probe = path.join(benchDir, 'stall-probe.mjs');
const probeFile = path.join(work, 'stall-probe.ndjson');
const fmt = (ms) => (Number.isFinite(ms) ? ms.toFixed(ms >= 100 ? 0 : 1) : '-');
const load = () =>
	os
		.loadavg()
		.map((x) => x.toFixed(2))
		.join(' ');
const results = [];
terminal.startServer();
try {
	for (let i = 0; i < runs; i++) {
		const before = load();
		const r = await terminal.allThreadsRun({
			name: `all${i}`,
			command: `${process.execPath} ${flags} --import ${probe} ${path.join(dist, 'cli.js')} --root ${dir} -d 1`,
			probeFile,
			durationS: seconds,
		});
		if (r.error) throw new Error(`run ${i}: ${r.error}\n${r.screen}`);
		results.push(r);
		console.log(
			`run ${i + 1}: peak RSS ${r.peakMb.toFixed(1)} MB (end ${r.rssMb.toFixed(1)}), stall max ${fmt(r.stallMaxMs)} ms (median second ${fmt(r.stallMedianMs)}), key p99 ${fmt(r.p99Ms)} ms (median ${fmt(r.medianMs)}, max ${fmt(r.maxMs)}, ${r.presses} presses; to its frame's write p99 ${fmt(r.written?.p99Ms)}, median ${fmt(r.written?.medianMs)}), cpu ${fmt(r.cpuMsPerSecond)} ms/s; load ${before} -> ${load()}`,
		);
	}
} finally {
	terminal.stopServer();
}

const line = (label, values, target) => {
	const m = median(values);
	console.log(
		`${label.padEnd(34)} median ${fmt(m)}  range ${fmt(Math.min(...values))}-${fmt(Math.max(...values))}  target ${target}: ${m <= target ? 'MET' : 'MISSED'}`,
	);
};

line(
	'peak RSS (MB)',
	results.map((r) => r.peakMb),
	150,
);
line(
	'longest main-thread stall (ms)',
	results.map((r) => r.stallMaxMs),
	50,
);
line(
	'key to screen p99 (ms)',
	results.map((r) => r.p99Ms),
	50,
);
console.log(`median stall of a second (ms): ${results.map((r) => fmt(r.stallMedianMs)).join(', ')}`);
console.log(
	`key to its frame's write p99 (ms, the program's part: no capture-pane polling): ${results.map((r) => fmt(r.written?.p99Ms)).join(', ')}`,
);
