/**
Issue 3 speed (b) and (c): what the dashboard costs a real terminal.

Each program runs in its own detached tmux session of 120x40 on a private tmux server, under
`script -f --log-timing`, which records every chunk the program writes with the delay before it.
Chunks closer than `burstGapS` belong to one refresh (a burst); the steady state is the window after
`warmS` seconds. Both programs run side by side, at the same time, so they share the machine's load.

First frame: the time from asking tmux to start the program to the moment `capture-pane` shows its
header (polled every ~10 ms; the tmux server is already running, so its start is not counted).

Screens are polled and keys sent over one control-mode client (`tmux -C`, opened by `startServer`):
each `capture-pane` is a command on its stdin, answered by the server in a fraction of a
millisecond. A `tmux capture-pane` process per poll took 9-11 ms and, polled every 5 ms, most of a
core of this two-core machine, which it took from the program it timed (issue 12's start and keys).
*/
import {performance} from 'node:perf_hooks';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {median} from './stats.mjs';

export const socket = `klptop-bench-${process.pid}`;

function tmux(...args) {
	const result = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8'});
	if (result.error) throw result.error;
	return result;
}

export function haveTmux() {
	return spawnSync('tmux', ['-V'], {encoding: 'utf8'}).status === 0;
}

/**
The pane of session `name`, matched exactly: a bare `-t top` is tmux's token for the top pane of
the current window, not the session named top (the CPU of `top -d 1` was read off another pane).
*/
function pane(name) {
	return `=${name}:`;
}

function quote(text) {
	return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
A control-mode client of the private server, attached to its idle session: `command(text)` sends one
tmux command and resolves with its output. The server answers each command of this client in a
`%begin TIME NUMBER 1` ... `%end TIME NUMBER 1` block (`%error` for a failure), in the order sent;
notifications (`%session-changed`, ...) and blocks of other commands (flags 0) come between them.
*/
function openControl() {
	const child = spawn('tmux', ['-L', socket, '-f', '/dev/null', '-C', 'attach-session', '-t', '=idle'], {
		stdio: ['pipe', 'pipe', 'ignore'],
	});
	const waiting = [];
	let pending = '';
	let block = null;
	const onLine = (line) => {
		if (block === null) {
			const begin = /^%begin \d+ (\d+) (\d+)$/.exec(line);
			if (begin) block = {number: begin[1], mine: begin[2] === '1', lines: []};
			return;
		}

		const end = /^%(end|error) \d+ (\d+) \d+$/.exec(line);
		if (end === null || end[2] !== block.number) {
			block.lines.push(line);
			return;
		}

		const {mine, lines} = block;
		block = null;
		if (!mine) return;
		const waiter = waiting.shift();
		if (end[1] === 'error') waiter?.reject(new Error(`tmux: ${lines.join(' ')}`));
		else waiter?.resolve(lines.map((text) => text + '\n').join(''));
	};

	child.stdout.setEncoding('utf8');
	child.stdout.on('data', (data) => {
		pending += data;
		let newline;
		while ((newline = pending.indexOf('\n')) >= 0) {
			onLine(pending.slice(0, newline));
			pending = pending.slice(newline + 1);
		}
	});
	child.on('exit', () => {
		for (const waiter of waiting.splice(0)) waiter.reject(new Error('tmux control client exited'));
	});
	return {
		command(text) {
			return new Promise((resolve, reject) => {
				waiting.push({resolve, reject});
				child.stdin.write(text + '\n');
			});
		},
		close() {
			child.stdin.end();
		},
	};
}

let control = null;

/** Start the private server with an idle session, so later sessions do not pay for the server start. */
export function startServer() {
	tmux('new-session', '-d', '-s', 'idle', '-x', '120', '-y', '40', 'sleep 3600');
	tmux('set-option', '-g', 'remain-on-exit', 'off');
	control = openControl();
}

export function stopServer() {
	control?.close();
	control = null;
	tmux('kill-server');
}

function controlClient() {
	if (control === null) throw new Error('startServer() first: screens are polled through its control client');
	return control;
}

/** What the pane of session `name` shows now. */
async function look(name) {
	return controlClient().command(`capture-pane -p -t ${quote(pane(name))}`);
}

/** Press `key` (a tmux key name) in the pane of session `name`; resolves once tmux has sent it. */
async function pressKey(name, key) {
	await controlClient().command(`send-keys -t ${quote(pane(name))} ${quote(key)}`);
}

/**
Poll the pane of session `name` through the control client: `until(pattern)` resolves with the ms it
took the screen to match (every ~5 ms), or null after `timeoutMs`; `screen` is the last one seen.
*/
function watchScreen(name, timeoutMs) {
	const watch = {
		screen: '',
		async until(pattern) {
			const t0 = performance.now();
			while (performance.now() - t0 < timeoutMs) {
				watch.screen = await look(name);
				if (pattern.test(watch.screen)) return performance.now() - t0;
				await sleep(5);
			}

			return null;
		},
	};
	return watch;
}

function startSession(name, command, {width, height, env = {}}) {
	const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
	const result = tmux(
		'new-session',
		'-d',
		'-s',
		name,
		'-x',
		String(width),
		'-y',
		String(height),
		...envArgs,
		command,
	);
	if (result.status !== 0) {
		throw new Error(`tmux new-session ${name}: ${result.stderr.trim()}`);
	}
}

/*
`kill-session` only hangs up the pane; `script` survived that here and kept its child (a klptop
dashboard or top) running for an hour, loading every later measurement. So every process of the
pane's tree is ended explicitly first.
*/
function killSession(name) {
	const root = tmux('display-message', '-p', '-t', pane(name), '#{pane_pid}').stdout.trim();
	const tree = [];
	const walk = (pid) => {
		if (!/^\d+$/.test(pid)) return;
		tree.push(Number(pid));
		for (const child of spawnSync('pgrep', ['-P', pid], {encoding: 'utf8'}).stdout.trim().split('\n')) {
			walk(child);
		}
	};

	walk(root);
	for (const pid of tree.reverse()) {
		try {
			process.kill(pid, 'SIGTERM');
		} catch {
			// Already gone.
		}
	}

	tmux('kill-session', '-t', `=${name}`);
}

export function capture(name) {
	return tmux('capture-pane', '-p', '-t', pane(name)).stdout;
}

function commOf(pid) {
	try {
		return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
	} catch {
		return '';
	}
}

/**
The program in a pane (the pane's process, or its child when that is `script` or a shell): its pid
and CPU time so far (ms), or null.
*/
function programCpu(name) {
	let pid = tmux('display-message', '-p', '-t', pane(name), '#{pane_pid}').stdout.trim();
	for (let depth = 0; depth < 2 && ['script', 'sh', 'bash', 'dash'].includes(commOf(pid)); depth++) {
		pid = spawnSync('pgrep', ['-P', pid], {encoding: 'utf8'}).stdout.trim().split('\n')[0];
	}

	if (!pid) return null;
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		// utime and stime are fields 14 and 15 of stat, in clock ticks (USER_HZ = 100).
		return {pid, ms: (Number(fields[11]) + Number(fields[12])) * 10};
	} catch {
		return null;
	}
}

/** Parse a classic `script` timing file into [{t, bytes}] with t the cumulative seconds. */
function readTiming(file) {
	const chunks = [];
	let t = 0;
	for (const line of readFileSync(file, 'utf8').split('\n')) {
		const [delay, bytes] = line.trim().split(/\s+/).map(Number);
		if (!Number.isFinite(delay) || !Number.isFinite(bytes)) continue;
		t += delay;
		chunks.push({t, bytes});
	}

	return chunks;
}

function bursts(chunks, gapS) {
	const out = [];
	let current = null;
	for (const chunk of chunks) {
		if (current === null || chunk.t - current.end > gapS) {
			current = {start: chunk.t, end: chunk.t, bytes: 0};
			out.push(current);
		}

		current.end = chunk.t;
		current.bytes += chunk.bytes;
	}

	return out;
}

/**
Run `programs` ({name, command, env}) side by side for warmS + measureS seconds and return, per name,
{bytes, seconds, bytesPerSecond, refreshes, bytesPerRefresh (median burst), firstBytes, screen,
cpuMsPerSecond (the program's own CPU time over the window, from /proc/PID/stat)}.
*/
export async function steadyBytes(
	programs,
	{dir, width = 120, height = 40, warmS = 4, measureS = 10, burstGapS = 0.3},
) {
	mkdirSync(dir, {recursive: true});
	for (const program of programs) {
		const out = path.join(dir, `${program.name}.out`);
		const timing = path.join(dir, `${program.name}.timing`);
		rmSync(out, {force: true});
		rmSync(timing, {force: true});
		const wrapped = `script -f -q -E never --log-out ${quote(out)} --log-timing ${quote(timing)} -c ${quote(program.command)}`;
		startSession(program.name, wrapped, {width, height, env: program.env});
	}

	await sleep(warmS * 1000);
	const cpuStart = Object.fromEntries(programs.map((program) => [program.name, programCpu(program.name)]));
	await sleep(measureS * 1000);
	const cpuEnd = Object.fromEntries(programs.map((program) => [program.name, programCpu(program.name)]));
	const screens = Object.fromEntries(programs.map((program) => [program.name, capture(program.name)]));
	for (const program of programs) {
		killSession(program.name);
	}

	await sleep(300);
	const results = {};
	for (const program of programs) {
		const timing = path.join(dir, `${program.name}.timing`);
		if (!existsSync(timing)) {
			results[program.name] = {
				error: 'no timing file (did the program start?)',
				screen: screens[program.name],
			};
			continue;
		}

		const chunks = readTiming(timing);
		const all = bursts(chunks, burstGapS);
		const inWindow = all.filter((burst) => burst.start >= warmS && burst.start < warmS + measureS);
		const bytes = inWindow.reduce((sum, burst) => sum + burst.bytes, 0);
		const start = cpuStart[program.name];
		const end = cpuEnd[program.name];
		results[program.name] = {
			cpuMsPerSecond: start && end && start.pid === end.pid ? (end.ms - start.ms) / measureS : Number.NaN,
			bytes,
			seconds: measureS,
			bytesPerSecond: bytes / measureS,
			refreshes: inWindow.length,
			bytesPerRefresh: median(inWindow.map((burst) => burst.bytes)),
			meanBytesPerRefresh: inWindow.length === 0 ? Number.NaN : bytes / inWindow.length,
			firstBytes: all[0]?.bytes ?? 0,
			screen: screens[program.name],
		};
	}

	return results;
}

/**
Time from `tmux new-session` to `marker` (a RegExp) on the pane, in ms (median, min, all runs), and
the CPU time the program had used when the marker was seen (10 ms resolution), which a loaded
machine does not stretch.
*/
export async function firstFrame({
	name,
	command,
	marker,
	env = {},
	runs = 3,
	width = 120,
	height = 40,
	timeoutMs = 30_000,
}) {
	const times = [];
	const cpu = [];
	let screen = '';
	for (let i = 0; i < runs; i++) {
		const session = `${name}-ff${i}`;
		const t0 = performance.now();
		startSession(session, command, {width, height, env});
		let seen = null;
		while (performance.now() - t0 < timeoutMs) {
			screen = await look(session);
			if (marker.test(screen)) {
				seen = performance.now() - t0;
				cpu.push(programCpu(session)?.ms ?? Number.NaN);
				break;
			}

			await sleep(10);
		}

		killSession(session);
		if (seen === null) {
			return {error: `no ${marker} on screen after ${timeoutMs} ms`, screen};
		}

		times.push(seen);
		await sleep(200);
	}

	return {medianMs: median(times), minMs: Math.min(...times), runs: times, cpuMs: median(cpu), cpuRuns: cpu};
}

/**
How long a key takes to show on screen while the program polls: after `marker` is on screen, press
`key` (tmux key name) until `open` shows, then `back` until `closed` shows, `presses` times, each at a
random moment (0-1.5 s after the last answer) so that presses land anywhere between and during
scans. `setup` ({key, shown}): a key pressed first (a view to measure in). Returns {medianMs, p90Ms,
maxMs, runs} over all the answers, or {error, screen}.
*/
export async function keyLatency({
	name,
	command,
	marker,
	key,
	open,
	back,
	closed,
	presses = 10,
	setup = null,
	width = 120,
	height = 40,
	timeoutMs = 30_000,
}) {
	const session = `${name}-keys`;
	startSession(session, command, {width, height});
	const times = [];
	const watch = watchScreen(session, timeoutMs);
	const {until} = watch;

	try {
		if ((await until(marker)) === null) return {error: `no ${marker} on screen`, screen: watch.screen};
		if (setup !== null) {
			// A view to measure in (e.g. `a`, all threads): its key, and what shows it is on.
			await pressKey(session, setup.key);
			if ((await until(setup.shown)) === null)
				return {error: `no ${setup.shown} on screen`, screen: watch.screen};
		}

		// A random but reproducible spread of press moments.
		let seed = 42;
		const pause = () => {
			seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
			return (seed / 2_147_483_648) * 1500;
		};

		for (let i = 0; i < presses; i++) {
			for (const [press, pattern] of [
				[key, open],
				[back, closed],
			]) {
				await sleep(pause());
				await pressKey(session, press);
				const took = await until(pattern);
				if (took === null) return {error: `no ${pattern} on screen after ${press}`, screen: watch.screen};
				times.push(took);
			}
		}
	} finally {
		killSession(session);
	}

	return {...keyTimes(times), runs: times};
}

/** VmHWM (peak resident set) and VmRSS of a process, in MB (10^6 bytes), from /proc/PID/status. */
function memoryOf(pid) {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const kb = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1]) * 1024;
		return {peakMb: kb('VmHWM') / 1e6, rssMb: kb('VmRSS') / 1e6};
	} catch {
		return {peakMb: Number.NaN, rssMb: Number.NaN};
	}
}

/**
The dashboard under `durationS` seconds of polling (issue 12 §2): started in a pane, `setup` pressed
({key, shown}: e.g. `a`, the all-threads view), then `key`/`back` pressed at random moments (0-1.5 s
apart) until the time is up, each timed to the screen as in `keyLatency`. `probeFile`: the file the
program's stall probe (bench/stall-probe.mjs, loaded with --import) writes one line a second to.
Returns the key times (median, p90, p99, max), the program's peak RSS (VmHWM) and CPU time, and the
probe's per-second longest main-thread stalls (median and max over the run after `setup` showed).
*/
export async function dashboardRun({
	name,
	command,
	marker,
	setup = null,
	key,
	open,
	back,
	closed,
	durationS = 60,
	probeFile = null,
	env = {},
	width = 120,
	height = 40,
	timeoutMs = 60_000,
}) {
	const session = `${name}-run`;
	if (probeFile) rmSync(probeFile, {force: true});
	startSession(session, command, {width, height, env});
	const times = [];
	/** When each timed key's send-keys began and returned (epoch ms), for the probe's timing of its frame. */
	const sent = [];
	const watch = watchScreen(session, timeoutMs);
	const {until} = watch;

	let program = null;
	let since = 0;
	try {
		if ((await until(marker)) === null) return {error: `no ${marker} on screen`, screen: watch.screen};
		if (setup !== null) {
			await pressKey(session, setup.key);
			if ((await until(setup.shown)) === null)
				return {error: `no ${setup.shown} on screen`, screen: watch.screen};
		}

		since = Date.now();
		program = programCpu(session);
		let seed = 7;
		const pause = () => {
			seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
			return (seed / 2_147_483_648) * 1500;
		};

		const end = performance.now() + durationS * 1000;
		while (performance.now() < end) {
			for (const [press, pattern] of [
				[key, open],
				[back, closed],
			]) {
				await sleep(pause());
				const before = performance.timeOrigin + performance.now();
				await pressKey(session, press);
				sent.push({before, after: performance.timeOrigin + performance.now()});
				const took = await until(pattern);
				if (took === null) return {error: `no ${pattern} on screen after ${press}`, screen: watch.screen};
				times.push(took);
			}
		}

		const cpuEnd = programCpu(session);
		const memory = program === null ? {peakMb: Number.NaN, rssMb: Number.NaN} : memoryOf(program.pid);
		const probe = probeLines(probeFile);
		const stallMs = probe
			.filter((line) => line.stallMs !== undefined && line.t >= since + 1000)
			.map((line) => line.stallMs);
		const written = probeFile ? writtenAfter(sent, probe) : null;
		return {
			written,
			...keyTimes(times),
			peakMb: memory.peakMb,
			rssMb: memory.rssMb,
			cpuMsPerSecond:
				program && cpuEnd && program.pid === cpuEnd.pid ? (cpuEnd.ms - program.ms) / durationS : Number.NaN,
			stallMedianMs: median(stallMs),
			stallMaxMs: stallMs.length === 0 ? Number.NaN : Math.max(...stallMs),
			stallSeconds: stallMs.length,
			screen: watch.screen,
		};
	} finally {
		killSession(session);
	}
}

/**
Start to first frame and to the first full frame (issue 12 §3): the time from asking tmux to start
the program to `first` on the pane, and to `full` (the frame after the first scan). Median and min
over `runs`, and every run.
*/
export async function firstFrames({
	name,
	command,
	first,
	full,
	env = {},
	runs = 3,
	width = 120,
	height = 40,
}) {
	const firsts = [];
	const fulls = [];
	let screen = '';
	for (let i = 0; i < runs; i++) {
		const session = `${name}-ffs${i}`;
		const t0 = performance.now();
		startSession(session, command, {width, height, env});
		let seenFirst = null;
		let seenFull = null;
		while (performance.now() - t0 < 60_000 && seenFull === null) {
			screen = await look(session);
			const now = performance.now() - t0;
			if (seenFirst === null && first.test(screen)) seenFirst = now;
			if (full.test(screen)) {
				seenFull = now;
				seenFirst ??= now;
			}

			await sleep(5);
		}

		killSession(session);
		if (seenFull === null) return {error: `no ${full} on screen after 60 s`, screen};
		firsts.push(seenFirst);
		fulls.push(seenFull);
		await sleep(300);
	}

	return {
		firstMedianMs: median(firsts),
		firstMinMs: Math.min(...firsts),
		fullMedianMs: median(fulls),
		fullMinMs: Math.min(...fulls),
		firsts,
		fulls,
	};
}

/**
Each key's time to its frame's write, as the program's stall probe saw it (the first write after the
first read of input since its send-keys began), from when send-keys returned, as the screen's time
is: the same key without what polling the screen with capture-pane adds (`probe`: the probe file's
lines). Median, p90, p99, max; null when no key's frame was seen.
*/
function writtenAfter(sent, probe) {
	const keys = probe.filter((line) => line.wrote !== undefined);
	const times = [];
	for (const {before, after} of sent) {
		const answer = keys.find((line) => line.key >= before);
		if (answer !== undefined) times.push(answer.wrote - after);
	}

	return times.length === 0 ? null : keyTimes(times);
}

/** The stall probe's lines (`bench/stall-probe.mjs`: a second's stall, or a key's read and write); none without its file. */
function probeLines(probeFile) {
	if (!probeFile || !existsSync(probeFile)) return [];
	return readFileSync(probeFile, 'utf8')
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.parse(line));
}

/** Key times (ms) as the bench prints them: how many, median, p90, p99 and max. */
function keyTimes(times) {
	const sorted = [...times].sort((a, b) => a - b);
	const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
	return {
		presses: times.length,
		medianMs: median(times),
		p90Ms: at(0.9),
		p99Ms: at(0.99),
		maxMs: sorted.at(-1),
	};
}

/**
Issue 12 §2's run: `command` (a klptop dashboard on the 100,000-thread tree, `-d 1`, with the stall
probe loaded) in the all-threads view (`a`), Help opened and closed (h, Escape) at random moments
for `durationS` seconds. `dashboardRun`'s figures (bench/run.mjs's cost part, bench/all-threads.mjs).
*/
export function allThreadsRun({name, command, probeFile, durationS = 60}) {
	return dashboardRun({
		name,
		command,
		env: {KLPTOP_BENCH_PROBE: probeFile},
		marker: /FUNCTION \[object\]/,
		setup: {key: 'a', shown: /all threads/},
		key: 'h',
		open: /Help: every key/,
		back: 'Escape',
		closed: /FUNCTION \[object\]/,
		durationS,
		probeFile,
	});
}
