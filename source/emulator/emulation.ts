/**
The emulation handle: a scenario staged on a fresh emulated kernel, with the read port, the control
port and the virtual clock a caller drives (`createEmulation`), and the real-time driver
(`startRealtime`). Apart from the barrel (index.ts) so that the mirror and the socket protocol can
name the handle without importing the barrel that re-exports them (an import cycle).
*/
import type {ControlPort, FsPort} from '../sources/fs-port.js';
import {EmulatedKernel, kernelGenerations, type KernelGeneration} from './kernel.js';
import {createControl, createPort} from './port.js';
import {createPrng} from './prng.js';
import {findScenario, generationAtLeast, scenarios} from './scenarios.js';
import {buildBaseWorld} from './world.js';

export type EmulationOptions = {
	/** Seed of every random choice. @default 1 */
	seed?: number;
	/** Threads of the `many` world. @default 10000 (at most 100000) */
	threads?: number;
	/** @default '6.1' */
	kernel?: KernelGeneration;
	/** Epoch ms of virtual t=0. @default 2026-01-01T00:00:00Z */
	startTime?: number;
	/** Uptime (s) at virtual t=0, at least 12. @default 30 */
	bootOffsetS?: number;
	/** pr_debug of kernel/livepatch on (as in the observed runs). @default true */
	dynamicDebug?: boolean;
	/**
	ms range of every insmod's init window (transition 1, `enabled` still 0, every task 0), seeded.
	@default [5, 30]; the real-kernel runs under TCG saw ~100-700 ms
	*/
	insmodInitMs?: readonly [number, number];
	/** ms range a refused (EBUSY) insmod's directory stays, `enabled` 0 `transition` 0. @default [5, 30] */
	refusedLoadMs?: readonly [number, number];
	/**
	ms range the start of a new transition takes on 6.4-6.15 after `starting` (the preemption static calls
	are rewritten; `enabled` keeps its old value meanwhile). @default [0, 0]; 6.12 under TCG saw seconds
	*/
	condReschedEnableMs?: readonly [number, number];
	/**
	ms range the end of a transition takes on 6.4-6.15 once every task switched (the preemption static
	calls are rewritten). @default [0, 0]; the real-kernel runs of 6.12 under TCG saw seconds
	*/
	condReschedDisableMs?: readonly [number, number];
	/** ms range a patching transition's completion synchronises for. @default [0.6, 4]; TCG saw ~150 ms */
	patchCompleteMs?: readonly [number, number];
	/**
	Per transition from the stage on, in order: ms of the start's and of the end's rewrite on 6.4-6.15, instead
	of a draw from the ranges above (null: draw). The stage's transition starts within `stageWindowUs` before
	t0, after the world's earlier transitions ended.
	*/
	eachTransitionMs?: {
		readonly enable: ReadonlyArray<number | null>;
		readonly disable: ReadonlyArray<number | null>;
	};
};

export type Emulation = {
	readonly scenario: string;
	readonly kernel: EmulatedKernel;
	/** Read-only view of the world, as the reader sees it (uid 1000 for `non-root`). */
	readonly port: FsPort;
	/** Writes and signals through the kernel's rules, as the same user as the port. */
	readonly control: ControlPort;
	/** Virtual epoch ms (bound: safe to pass around). */
	now(): number;
	/** Run the virtual clock forward, firing every kernel event in order. */
	advance(ms: number): void;
};

const defaultStart = Date.UTC(2026, 0, 1);
const toUs = ([lo, hi]: readonly [number, number]): [number, number] => [lo * 1000, hi * 1000];
const stageLeadUs = 10_000_000;
/** A stage starts its transition (`startAt`) at most this long before t0. */
const stageWindowUs = 2_500_000;
const msToUs = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000));

export function listScenarios(): Array<{name: string; summary: string}> {
	return scenarios.map(({name, summary}) => ({name, summary}));
}

export function createEmulation(name: string, options: EmulationOptions = {}): Emulation {
	const scenario = findScenario(name);
	if (!scenario) {
		throw new Error(`unknown scenario '${name}'; one of: ${scenarios.map((entry) => entry.name).join(', ')}`);
	}

	const generation = options.kernel ?? '6.1';
	if (!kernelGenerations.includes(generation)) {
		throw new Error(
			`unknown kernel generation '${String(generation)}'; one of: ${kernelGenerations.join(', ')}`,
		);
	}

	if (scenario.minGeneration && !generationAtLeast(generation, scenario.minGeneration)) {
		throw new Error(`scenario '${name}' needs kernel ${scenario.minGeneration} or later (got ${generation})`);
	}

	const threads = options.threads ?? 10_000;
	if (!(Number.isInteger(threads) && threads >= 1 && threads <= 100_000)) {
		throw new RangeError(`threads must be an integer from 1 to 100000 (got ${threads})`);
	}

	const bootOffsetS = options.bootOffsetS ?? 30;
	if (!(bootOffsetS >= 12)) {
		throw new RangeError(`bootOffsetS must be at least 12 (got ${bootOffsetS})`);
	}

	const seed = options.seed ?? 1;
	const t0Us = Math.round(bootOffsetS * 1e6);
	const startTime = options.startTime ?? defaultStart;
	const kernel = new EmulatedKernel({
		generation,
		seed,
		uptimeUs: t0Us - stageLeadUs,
		bootEpochMs: startTime - bootOffsetS * 1000,
		dynamicDebug: options.dynamicDebug ?? true,
		...(options.insmodInitMs ? {insmodInitUs: toUs(options.insmodInitMs)} : {}),
		...(options.refusedLoadMs ? {refusedLoadUs: toUs(options.refusedLoadMs)} : {}),
		...(options.condReschedEnableMs ? {condReschedEnableUs: toUs(options.condReschedEnableMs)} : {}),
		...(options.condReschedDisableMs ? {condReschedDisableUs: toUs(options.condReschedDisableMs)} : {}),
		...(options.patchCompleteMs ? {patchCompleteUs: toUs(options.patchCompleteMs)} : {}),
		...(options.eachTransitionMs
			? {
					eachTransition: {
						fromUs: t0Us - stageWindowUs,
						enableUs: options.eachTransitionMs.enable.map(msToUs),
						disableUs: options.eachTransitionMs.disable.map(msToUs),
					},
				}
			: {}),
	});
	const prng = createPrng(seed).fork(0x5ce9a);
	buildBaseWorld(kernel);
	scenario.stage({
		kernel,
		prng,
		t0Us,
		threads,
		startAt(lo, hi, marginUs = 100_000) {
			const fraction = prng.range(lo, hi);
			const phase = kernel.jiffyPhaseUs;
			let second = Math.floor((t0Us - marginUs - phase) / 1e6);
			if (second * 1e6 + phase + fraction * 1e6 > t0Us - marginUs) {
				second--;
			}

			return Math.round(second * 1e6 + phase + fraction * 1e6);
		},
	});
	kernel.runUntil(t0Us);
	const readerUid = scenario.readerUid ?? 0;
	return {
		scenario: name,
		kernel,
		port: createPort(kernel, {readerUid}),
		control: createControl(kernel, readerUid),
		now: () => kernel.epochMs(),
		advance: (ms: number) => {
			kernel.advance(ms);
		},
	};
}

/**
Drive `advance()` from the real clock (`speed` virtual ms per real ms). The timer is unref'd: it
never keeps the process alive on its own.
*/
export function startRealtime(
	emulation: Emulation,
	options: {speed?: number; intervalMs?: number; onTick?: () => void} = {},
): {stop(): void} {
	const speed = options.speed ?? 1;
	let last = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		const elapsed = now - last;
		last = now;
		emulation.advance(Math.max(0, elapsed * speed));
		options.onTick?.();
	}, options.intervalMs ?? 50);
	timer.unref();
	return {
		stop() {
			clearInterval(timer);
		},
	};
}
