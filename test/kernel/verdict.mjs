// Host-side verdict of the real-kernel tier: reads the guest's JSON lines (serial port 2), prints every
// failed check as a diff, the timings, and writes the normalised observation sequence of each scenario
// (and, with --update-fixtures DIR, the fixtures the emulator calibration test compares against).
import fs from 'node:fs';
import path from 'node:path';
import {execFileSync} from 'node:child_process';
import {
	foldObservations,
	actionsFromEvents,
	compareSequences,
	formatSequence,
} from '../emulator-calibration/normalise.mjs';

const args = process.argv.slice(2);
const opt = (k) => {
	const i = args.indexOf(k);
	return i >= 0 ? args[i + 1] : undefined;
};
const resultsPath = opt('--results');
const outDir = opt('--out');
const fixturesDir = opt('--update-fixtures');
const abi = opt('--abi') ?? null;
const here = path.dirname(new URL(import.meta.url).pathname);
const accel = opt('--accel') ?? null;
// The kernel series (6.1, 6.12): fixtures live in test/fixtures/kernel/<series>/.
const series = opt('--series') ?? null;

const lines = fs.existsSync(resultsPath) ? fs.readFileSync(resultsPath, 'utf8').split('\n') : [];
const records = [];
let garbage = 0;
for (const line of lines) {
	const s = line.trim();
	if (!s) continue;
	try {
		records.push(JSON.parse(s));
	} catch {
		garbage++;
	}
}

const red = (s) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const pretty = (x) => JSON.stringify(x, null, 2) ?? 'undefined';
function diff(expected, actual) {
	const e = pretty(expected).split('\n');
	const a = pretty(actual).split('\n');
	const outLines = [];
	const n = Math.max(e.length, a.length);
	for (let i = 0; i < n; i++) {
		if (e[i] === a[i]) outLines.push(`    ${e[i]}`);
		else {
			if (e[i] !== undefined) outLines.push(`  - ${e[i]}`);
			if (a[i] !== undefined) outLines.push(`  + ${a[i]}`);
		}
	}
	return outLines.join('\n');
}

let failures = 0;
const hello = records.find((r) => r.type === 'hello');
const done = records.find((r) => r.type === 'done');
const crash = records.find((r) => r.type === 'crash');
console.log(
	`KLPT verdict records=${records.length} garbage=${garbage} klptop=${hello?.klptop ?? '?'} release=${hello?.release ?? '?'}`,
);
if (!hello) {
	console.log(red('KLPT FAIL the guest driver never started (see console.log)'));
	failures++;
}
if (crash) {
	console.log(red(`KLPT FAIL the guest driver crashed:\n${crash.error}`));
	failures++;
}
if (hello && !done) {
	console.log(red('KLPT FAIL the guest driver did not finish (timeout or panic; see console.log)'));
	failures++;
}

const checks = records.filter((r) => r.type === 'check');
const awaiting = checks.filter((c) => c.awaits);
for (const c of checks) {
	if (c.ok) continue;
	failures++;
	console.log(
		red(`KLPT FAIL [${c.scenario}] ${c.name}`) + '\n  (- expected, + actual)\n' + diff(c.expected, c.actual),
	);
}
for (const s of records.filter((r) => r.type === 'scenario-end')) {
	console.log(`KLPT scenario ${s.scenario} ${s.failed ? 'FAIL' : 'ok'} ${s.duration}s`);
}
if (awaiting.length) {
	const what = [...new Set(awaiting.map((c) => c.awaits))].join(', ');
	console.log(`KLPT note ${awaiting.length} checks ran the shell equivalent, awaiting: ${what}`);
}

// Normalised sequences, one per scenario, folded from the guest's dense reading of the kernel (the rig's
// reader, polled every 0.25 s; klptop's own samples were checked against it in the guest: "agreement").
const samples = records.filter((r) => r.type === 'sample');
const oracle = records.filter((r) => r.type === 'oracle');
const events = records.filter((r) => r.type === 'event');
const dmesg = records.find((r) => r.type === 'dmesg')?.lines ?? [];
fs.mkdirSync(outDir, {recursive: true});
for (const end of records.filter((r) => r.type === 'scenario-end')) {
	const name = end.scenario;
	const start = records
		.filter((r) => r.type === 'scenario-start' && r.scenario === name && r.t <= end.t)
		.at(-1);
	if (!start) continue;
	const within = (t) => t >= start.t && t <= end.t;
	// The state when the scenario started (the last change before it) opens the sequence.
	const before = oracle.filter((o) => o.t0 < start.t).at(-1);
	const obs = [
		...(before ? [{t: 0, state: before.state}] : []),
		...oracle.filter((o) => within(o.t0)).map((o) => ({t: o.t0 - start.t, state: o.state})),
	];
	const agreement = events.find((e) => e.name === 'agreement' && e.scenario === name) ?? null;
	const fixture = {
		scenario: name,
		generated_by: 'test/kernel/run.sh --update-fixtures (never edit by hand)',
		kernel: {release: hello?.release ?? null, abi},
		accel,
		source: 'kernel state polled every 0.25 s in the guest, normalised as klptop reports it',
		klptop_agreement: agreement && {
			samples: agreement.samples,
			unambiguous: agreement.unambiguous,
			disagreements: agreement.disagreements,
		},
		klptop_samples: samples.filter((x) => x.scenario === name).length,
		sequence: foldObservations(obs, end.t - start.t),
		actions: actionsFromEvents(
			events.filter((e) => e.scenario === name),
			start.t,
			dmesg,
		),
	};
	const file = path.join(outDir, `${name}.json`);
	fs.writeFileSync(file, JSON.stringify(fixture, null, '\t') + '\n');
	console.log(`KLPT sequence ${name}: ${formatSequence(fixture.sequence)}`);
	const dest = fixturesDir
		? path.join(fixturesDir, `${name}.json`)
		: path.join(here, '../fixtures/kernel', series ?? '', `${name}.json`);
	const old = fs.existsSync(dest) ? JSON.parse(fs.readFileSync(dest, 'utf8')) : null;
	if (old) {
		const cmp = compareSequences(old.sequence, fixture.sequence);
		console.log(
			cmp.ok
				? `KLPT fixture ${name} unchanged`
				: `KLPT note fixture ${name} differs from this run:\n${cmp.explain}`,
		);
	}
	if (fixturesDir) {
		if (end.failed === 0 && done) {
			fs.mkdirSync(fixturesDir, {recursive: true});
			fs.copyFileSync(file, dest);
			console.log(`KLPT fixture written ${dest}`);
		} else
			console.log(red(`KLPT fixture ${name} not written: the scenario failed or the run did not finish`));
	}
}
if (fixturesDir) {
	try {
		execFileSync('npx', ['prettier', '--write', fixturesDir], {stdio: 'ignore'});
	} catch {
		console.log('KLPT note prettier not available; fixtures left as written');
	}
}
const runs = samples
	.filter((x) => x.json && !x.batch)
	.map((x) => x.t1 - x.t0)
	.sort((a, b) => a - b);
if (runs.length) {
	const q = (f) => runs[Math.min(runs.length - 1, Math.floor(f * runs.length))].toFixed(2);
	console.log(`KLPT klptop --once runs in the guest: ${runs.length}, median ${q(0.5)} s, p90 ${q(0.9)} s`);
}
const frames = samples.filter((x) => x.batch && x.t_scan !== null).map((x) => x.t_scan);
if (frames.length > 1) {
	const gaps = frames
		.slice(1)
		.map((t, i) => t - frames[i])
		.filter((g) => g > 0 && g < 5)
		.sort((a, b) => a - b);
	if (gaps.length)
		console.log(
			`KLPT klptop -b -d 0.1 frames in the guest: ${frames.length}, scan every ${gaps[Math.floor(gaps.length / 2)].toFixed(2)} s (median)`,
		);
}
const signal = dmesg.find((l) => /signaling remaining tasks/.test(l.msg));
if (signal) console.log(`KLPT dmesg first fake-signal round at [${signal.t}]`);

console.log(`KLPT checks total=${checks.length} failed=${checks.filter((c) => !c.ok).length}`);
console.log(`${checks.filter((c) => c.ok).length} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
