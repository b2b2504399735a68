/**
Issue 11 scale: 1,000 simulated hosts into the fleet's model and screen (bench/fleet-screen.mjs, the
built fleet with the emulator's documents in place of ssh streams), in a 120x40 tmux pane under
`script`, side by side with `top -d 1` (bench/terminal.mjs, as the dashboard's own figures):

- CPU per second of the fleet process while every host sends a document a second;
- its RSS (target <= 200 MB);
- the time from a document to the frame that shows it: while one host updates (the screen's own
  latency, target <= 20 ms) and during the flood (where redraws are coalesced to one per 250 ms by
  design: a thousand documents a second are not a thousand frames);
- bytes written per refresh next to top's (target <= top's).

Run alone: `npm run build && node bench/fleet.mjs` (FLEET_HOSTS, default 1000); `npm run bench`
runs it as the part `fleet`.
*/
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {median} from './stats.mjs';
import * as terminal from './terminal.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

function percentile(values, p) {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** 90 s of documents of each of 22 emulated variants (11 scenarios, 2 seeds), as `klptop -b --json` writes them. */
async function makeVariants(dist, file) {
	const load = async (name) => import(pathToFileURL(path.join(dist, name)).href);
	const {createEmulation} = await load('source/emulator/index.js');
	const {createReader} = await load('source/sources/reader.js');
	const {foldSnapshot} = await load('source/model/history.js');
	const {toJsonLine} = await load('source/output/json.js');
	const scenarios = [
		'stuck-killable',
		'stuck-interruptible',
		'stuck-kthread',
		'demo',
		'quick',
		'replace',
		'unpatch-fake-signal',
		'forced-unpatch',
		'churn',
		'hidden-blocker',
		'non-root',
	];
	const variants = [];
	for (const scenario of scenarios) {
		for (const seed of [1, 2]) {
			const emulation = createEmulation(scenario, {seed, startTime: Date.UTC(2026, 0, 1)});
			const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
			let history = null;
			const lines = [];
			for (let s = 0; s < 90; s++) {
				history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: emulation.now}));
				lines.push(toJsonLine(history));
				emulation.advance(1000);
			}

			variants.push(lines);
		}
	}

	writeFileSync(file, JSON.stringify(variants));
	const bytes = variants.flat().reduce((sum, line) => sum + line.length + 1, 0);
	return {variants: variants.length, meanBytes: bytes / variants.flat().length};
}

/**
Run it; `out` has the bench's printers ({say, row, target, fmtMs, fmtInt}). Returns the figures.
*/
export async function runFleetBench({dist, work, hosts = 1000, out}) {
	const {say, row, target, fmtMs, fmtInt} = out;
	if (!terminal.haveTmux()) {
		say('  SKIPPED: tmux is not installed (apt-get install tmux)');
		return null;
	}

	const dir = path.join(work, 'fleet');
	mkdirSync(dir, {recursive: true});
	const variantsFile = path.join(dir, 'variants.json');
	const made = await makeVariants(dist, variantsFile);
	say(
		`  ${hosts} hosts; documents from ${made.variants} emulated variants, ${fmtInt(made.meanBytes)} B each on average`,
	);
	const program = (mode, report) =>
		`${process.execPath} ${path.join(benchDir, 'fleet-screen.mjs')} ${dist} ${hosts} ${mode} ${variantsFile} ${report}`;
	const reports = {flood: path.join(dir, 'flood.json'), single: path.join(dir, 'single.json')};
	for (const file of Object.values(reports)) rmSync(file, {force: true});
	const warmS = 6;
	const measureS = 10;
	terminal.startServer();
	let bytes;
	try {
		bytes = await terminal.steadyBytes(
			[
				{name: 'fleet', command: program('flood', reports.flood)},
				{name: 'top', command: 'top -d 1'},
			],
			{dir, warmS, measureS},
		);
		await terminal.steadyBytes([{name: 'single', command: program('single', reports.single)}], {
			dir,
			warmS,
			measureS: 20,
		});
	} finally {
		terminal.stopServer();
	}

	// The harness writes its report once it has cleaned up (killed by the session's end).
	for (let i = 0; i < 300 && !(existsSync(reports.flood) && existsSync(reports.single)); i++) {
		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	for (const file of Object.values(reports)) {
		if (!existsSync(file)) throw new Error(`the fleet screen wrote no report (${file})`);
	}

	const flood = JSON.parse(readFileSync(reports.flood, 'utf8'));
	const one = JSON.parse(readFileSync(reports.single, 'utf8'));
	const inWindow = (report) =>
		report.updateToFrame
			.filter(([at]) => at >= warmS * 1000 && at < (warmS + measureS) * 1000)
			.map(([, ms]) => ms);
	const floodLatency = inWindow(flood);
	// A refresh of this screen is a frame: the frame writer writes each one in one piece.
	const frames = flood.writes.filter(([at]) => at >= warmS * 1000 && at < (warmS + measureS) * 1000);
	const frameBytes = frames.map(([, n]) => n);
	const singleLatency = inWindow(one);
	const f = bytes.fleet;
	const t = bytes.top;
	if (f.error || t.error) throw new Error(`a program did not run: ${f.error ?? t.error}`);
	row('', ['B/refresh', 'mean', 'refreshes', 'B/s', 'cpu ms/s']);
	row(`klptop fleet, ${hosts} hosts (frames)`, [
		fmtInt(median(frameBytes)),
		fmtInt(frameBytes.reduce((sum, n) => sum + n, 0) / Math.max(1, frameBytes.length)),
		frames.length,
		fmtInt(frameBytes.reduce((sum, n) => sum + n, 0) / measureS),
		fmtMs(f.cpuMsPerSecond),
	]);
	row('  the same, bursts 0.3 s apart', [
		fmtInt(f.bytesPerRefresh),
		fmtInt(f.meanBytesPerRefresh),
		f.refreshes,
		'',
		'',
	]);
	row('top -d 1', [
		fmtInt(t.bytesPerRefresh),
		fmtInt(t.meanBytesPerRefresh),
		t.refreshes,
		fmtInt(t.bytesPerSecond),
		fmtMs(t.cpuMsPerSecond),
	]);
	row('document to frame', ['median', 'p95', 'max', '', 'samples']);
	row('  one host updating', [
		fmtMs(median(singleLatency)),
		fmtMs(percentile(singleLatency, 95)),
		fmtMs(Math.max(...singleLatency)),
		'',
		String(singleLatency.length),
	]);
	row(`  ${hosts} hosts a second (coalesced)`, [
		fmtMs(median(floodLatency)),
		fmtMs(percentile(floodLatency, 95)),
		fmtMs(Math.max(...floodLatency)),
		'',
		String(floodLatency.length),
	]);
	say(
		`  RSS max ${fmtInt(flood.rssMax / 2 ** 20)} MB (flood), ${fmtInt(one.rssMax / 2 ** 20)} MB (one host)`,
	);
	say(
		`  the screen at the end of the flood:\n${f.screen
			.split('\n')
			.slice(0, 12)
			.map((line) => `    ${line}`)
			.join('\n')}`,
	);
	target(
		'fleet: RSS with 1,000 hosts <= 200 MB',
		flood.rssMax <= 200 * 2 ** 20,
		`${fmtInt(flood.rssMax / 2 ** 20)} MB`,
	);
	target(
		'fleet: time to a frame after an update <= 20 ms (one host updating, median)',
		median(singleLatency) <= 20,
		`median ${fmtMs(median(singleLatency))} ms, p95 ${fmtMs(percentile(singleLatency, 95))} ms; during the flood ${fmtMs(median(floodLatency))} ms (redraws coalesced to one per 250 ms)`,
	);
	target(
		'fleet: bytes written per refresh <= top (median frame vs top median burst, 120x40)',
		median(frameBytes) <= t.bytesPerRefresh,
		`${fmtInt(median(frameBytes))} B vs top ${fmtInt(t.bytesPerRefresh)} B; per second ${fmtInt(frameBytes.reduce((sum, n) => sum + n, 0) / measureS)} B vs top ${fmtInt(t.bytesPerSecond)} B (${(frames.length / measureS).toFixed(1)} frames/s vs top's 1)`,
	);
	return {
		bytes,
		flood: {rssMax: flood.rssMax, latency: floodLatency},
		single: {rssMax: one.rssMax, latency: singleLatency},
	};
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	const repo = path.resolve(benchDir, '..');
	const say = (text = '') => process.stdout.write(text + '\n');
	const fmtMs = (ms) =>
		Number.isFinite(ms) ? (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)) : '-';
	const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
	await runFleetBench({
		dist: path.resolve(process.env.KLPTOP_DIST ?? path.join(repo, 'dist')),
		work: path.resolve(process.env.KLPTOP_BENCH_DIR ?? '/tmp/klptop-bench'),
		hosts: Number(process.env.FLEET_HOSTS ?? 1000),
		out: {
			say,
			fmtMs,
			fmtInt,
			row: (label, cells) =>
				say(`  ${label.padEnd(38)}${cells.map((cell) => String(cell).padStart(12)).join(' ')}`),
			target: (name, met, detail) => say(`TARGET ${met ? 'MET   ' : 'MISSED'}  ${name}: ${detail}`),
		},
	});
}
