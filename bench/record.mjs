/**
The recorder's cost (issue 15): what `klptop record` writes per hour and spends per poll, and how
long a replay takes to open.

  node bench/record.mjs DIST WORKDIR IDLE_TREE TRANSITION_TREE POLLS RUNS

- idle: the emulated 'quick' scenario (its transition is over in ~2 s), one poll a second for an hour
  of virtual time: bytes written, frames, and the recorder's own CPU per poll (encode, compress,
  append: `writer.poll`), the scan aside;
- transition: the emulated 'many' scenario (10,000 threads, ~1% blocking in four functions, a
  D-state rest that never switches), POLLS polls a second apart: bytes per hour (whole run, and the
  steady stall after the first minute), and the recorder's CPU per poll;
- a whole poll of the recorder on a tree on disk (scan through the host port + writer.poll), idle
  (IDLE_TREE, 10,000 threads) and in transition (TRANSITION_TREE, 100,000 threads, 1% blocking);
- replay: opening the 'many' recording (read, decode, fold every poll once), in-process, and
  `klptop --replay FILE --once --json` as a whole process (wall and CPU from spawn-stat, RUNS runs).

Prints one JSON object on stdout.
*/
import {spawnSync} from 'node:child_process';
import {mkdirSync, rmSync, statSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {cpuMs, measure, median, summary} from './stats.mjs';

const [dist, work, idleTree, transitionTree, pollsText, runsText] = process.argv.slice(2);
const polls = Number(pollsText ?? 900);
const runs = Number(runsText ?? 3);
const load = (relative) => import(pathToFileURL(path.join(dist, relative)).href);
const {createEmulation} = await load('source/emulator/index.js');
const {createReader} = await load('source/sources/reader.js');
const {createHostPort} = await load('source/sources/host-port.js');
const {createWriter} = await load('source/record/writer.js');
const {loadRecording} = await load('source/record/load.js');
const {createReplay} = await load('source/record/replay.js');

const dir = path.join(work, 'record');
rmSync(dir, {recursive: true, force: true});
mkdirSync(dir, {recursive: true});

function writerFor(file, source, start) {
	return createWriter({
		file,
		maxBytes: 1024 * 1024 * 1024,
		host: 'bench',
		intervalS: 1,
		source,
		klptopVersion: 'bench',
		start,
	});
}

/** Record `count` polls of an emulated scenario, one virtual second apart. */
function recordEmulated(scenario, count, options = {}) {
	const emulation = createEmulation(scenario, {seed: 1, ...options});
	const source = {kind: 'emulator', root: null, scenario};
	const reader = createReader(emulation.port, source);
	const file = path.join(dir, `${scenario}.rec`);
	let writer = null;
	const writeCpu = [];
	const sizes = [];
	for (let i = 0; i < count; i++) {
		if (i > 0) emulation.advance(1000);
		const snapshot = reader.scan({threads: 'blockers', clock: emulation.now});
		writer ??= writerFor(file, source, snapshot.time);
		const c0 = cpuMs();
		writer.poll(snapshot);
		writeCpu.push(cpuMs() - c0);
		sizes.push(writer.stats.bytes);
	}

	writer.close('bench', emulation.now());
	return {
		file,
		bytes: statSync(file).size,
		frames: writer.stats.frames,
		sizes,
		writeCpu,
		threads: options.threads ?? null,
	};
}

const out = {polls};

{
	const idle = recordEmulated('quick', 3600);
	// After the transition's first minute: the idle state alone.
	const fromMinute = idle.sizes.at(-1) - idle.sizes[59];
	out.idle = {
		bytesPerHour: idle.bytes,
		idleBytesPerHour: (fromMinute * 3600) / (3600 - 60),
		frames: idle.frames,
		writeCpuPerPollMs: idle.writeCpu.reduce((a, b) => a + b, 0) / idle.writeCpu.length,
	};
}

let manyFile;
{
	const many = recordEmulated('many', polls, {threads: 10_000});
	manyFile = many.file;
	const steady = many.sizes.at(-1) - many.sizes[59];
	out.transition = {
		threads: 10_000,
		bytes: many.bytes,
		bytesPerHour: (many.bytes * 3600) / polls,
		steadyBytesPerHour: (steady * 3600) / (polls - 60),
		frames: many.frames,
		writeCpuPerPollMs: median(many.writeCpu),
		writeCpuFirstPollMs: many.writeCpu[0],
	};
}

for (const [key, tree] of [
	['treeIdle', idleTree],
	['treeTransition', transitionTree],
]) {
	if (!tree) continue;
	const source = {kind: 'tree', root: tree, scenario: null};
	const port = createHostPort(tree);
	const reader = createReader(port, source);
	const file = path.join(dir, `${key}.rec`);
	let writer = null;
	let scanOnly = null;
	const whole = measure(
		() => {
			const snapshot = reader.scan({threads: 'blockers'});
			writer ??= writerFor(file, source, snapshot.time);
			writer.poll(snapshot);
			return snapshot;
		},
		{runs: Math.max(5, runs * 2), warmup: 1},
	);
	scanOnly = measure(() => reader.scan({threads: 'blockers'}), {runs: Math.max(5, runs * 2)});
	writer.close('bench', Date.now());
	port.close?.();
	out[key] = {
		threads: whole.result.tasks.total,
		blockers: whole.result.blockers.length,
		poll: summary(whole),
		scan: summary(scanOnly),
	};
}

{
	const open = measure(
		() => {
			const replay = createReplay(loadRecording(manyFile));
			replay.historyAt(replay.count - 1);
			return replay;
		},
		{runs},
	);
	out.replayOpen = {...summary(open), polls: open.result.count, bytes: statSync(manyFile).size};
	const spawnStat = path.join(work, 'bin', 'spawn-stat');
	const samples = [];
	for (let i = 0; i < runs; i++) {
		const result = spawnSync(
			spawnStat,
			[
				'1',
				'/dev/null',
				process.execPath,
				path.join(dist, 'cli.js'),
				'--replay',
				manyFile,
				'--once',
				'--json',
				'--at',
				`+${polls - 1}s`,
			],
			{encoding: 'utf8'},
		);
		if (result.status !== 0) break;
		const [wall, user, sys] = result.stdout.trim().split(/\s+/).map(Number);
		samples.push({wall, cpu: user + sys});
	}

	out.replayProcess =
		samples.length === 0
			? null
			: {
					wallMedian: median(samples.map((s) => s.wall)),
					cpuMedian: median(samples.map((s) => s.cpu)),
					runs: samples.length,
				};
}

process.stdout.write(JSON.stringify(out) + '\n');
