/** Small helpers shared by the benchmark scripts: statistics and timing. */

import {performance} from 'node:perf_hooks';

export function median(values) {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const middle = sorted.length >> 1;
	return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function min(values) {
	return values.length === 0 ? Number.NaN : Math.min(...values);
}

export function max(values) {
	return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** CPU time (user + system) of this process so far, in ms. */
export function cpuMs() {
	const usage = process.cpuUsage();
	return (usage.user + usage.system) / 1000;
}

/**
Run `fn` `runs` times (after `warmup` unmeasured runs) and return wall and CPU ms per run.
`fn` may return a value: the last one is returned as `result`.
*/
export function measure(fn, {runs, warmup = 0}) {
	let result;
	for (let i = 0; i < warmup; i++) {
		result = fn(i);
	}

	const wall = [];
	const cpu = [];
	for (let i = 0; i < runs; i++) {
		const c0 = cpuMs();
		const t0 = performance.now();
		result = fn(i);
		wall.push(performance.now() - t0);
		cpu.push(cpuMs() - c0);
	}

	return {wall, cpu, result};
}

/**
Like `measure`, but each run's input comes from `prepare(i)` (which may be asynchronous), outside
the timed part: a new poll to derive rows from, a pause before a render.
*/
export async function measurePrepared(prepare, fn, {runs, warmup = 0}) {
	let result;
	for (let i = 0; i < warmup; i++) {
		result = fn(await prepare(i));
	}

	const wall = [];
	const cpu = [];
	for (let i = 0; i < runs; i++) {
		const input = await prepare(i);
		const c0 = cpuMs();
		const t0 = performance.now();
		result = fn(input);
		wall.push(performance.now() - t0);
		cpu.push(cpuMs() - c0);
	}

	return {wall, cpu, result};
}

/** `{median, min}` of both series, rounded for printing. */
export function summary({wall, cpu}) {
	return {
		wallMedian: median(wall),
		wallMin: min(wall),
		cpuMedian: median(cpu),
		cpuMin: min(cpu),
		runs: wall.length,
	};
}
