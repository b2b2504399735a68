/**
The emulator against the real kernel. test/fixtures/kernel/<series>/<scenario>.json are written by the real-kernel
tier (`test/kernel/run.sh --update-fixtures`, Debian's 6.1 and 6.12 kernels under QEMU, never edited by hand): the
sequence of states klptop reports (patches, transition direction, who blocks: comm, class, function,
object, kthread) and the actions taken, with their results. Here the emulator's scenario of the same name
is run through klptop's own reader, history and JSON document, the same actions are replayed at the same
times (relative to the action that started the transition), and the normalised sequences must agree:
every step must match in order, except steps shorter than a second, which a poller can miss on either side.
Each kernel series is checked against the emulator's generation for it: 6.1 against 6.1, and 6.12 against 6.11
(the `replace` attribute, no `stack_order`, as Debian's 6.12.118 shows), for the scenarios it reproduces.
*/
import fs from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {createEmulation, featuresOf, listScenarios, patchCatalog} from '../../source/emulator/index.js';
import type {Emulation, KernelGeneration} from '../../source/emulator/index.js';
import type {PatchSpec} from '../../source/emulator/kernel.js';
import {foldSnapshot} from '../../source/model/history.js';
import type {History} from '../../source/model/types.js';
import {toJsonDocument} from '../../source/output/json.js';
import {errorCode} from '../../source/sources/fs-port.js';
import {createReader} from '../../source/sources/reader.js';
import {spawnReader} from '../../source/emulator/world.js';
import {compareSequences, foldObservations, formatSequence} from './normalise.mjs';
import type {FixtureAction, Step} from './normalise.mjs';

type Fixture = {
	scenario: string;
	kernel: {release: string | null; abi: string | null};
	sequence: Step[];
	actions: FixtureAction[];
};

const fixtureRoot = path.join(import.meta.dirname, '../fixtures/kernel');
const observed61 = [
	'quick',
	'stuck-interruptible',
	'unpatch-fake-signal',
	'stuck-kthread',
	'stuck-killable',
	'force',
	'release',
	'forced-unpatch',
];
/**
The 6.12 scenarios whose recorded fixtures (one full run of 2026-12-06 under QEMU 10.0, all 238 checks passed)
the emulator's 6.11 generation reproduces: all but `force-no-transition`, which has no transition to replay
(as on 6.1). Each transition's start and end take the time they took on that run (`endRewrites`): in
`stack-order` the first load's transition ended inside its insmod, 0.7 s after `enabled` flipped, so the
second load 0.26 s later finds the first done; in `stuck-kthread` the end took 1.14 s after the retry that
switched the woken kthread.
*/
const observed612 = [
	'quick',
	'stuck-interruptible',
	'unpatch-fake-signal',
	'stuck-killable',
	'release',
	'force',
	'replace-release',
	'replace-reverse',
	'late-module',
	'forced-unpatch',
	'replace-force',
	'stack-order',
	'stuck-kthread',
];
/** Kernel series of the real tier, the emulator generation checked against it, and its scenarios. */
const kernels: ReadonlyArray<{series: string; generation: KernelGeneration; observed: readonly string[]}> = [
	{series: '6.1', generation: '6.1', observed: observed61},
	{series: '6.12', generation: '6.11', observed: observed612},
];
const samplePeriodS = 0.5;

function loadFixture(series: string, name: string): Fixture {
	return JSON.parse(fs.readFileSync(path.join(fixtureRoot, series, `${name}.json`), 'utf8')) as Fixture;
}

/** The action that starts the scenario's transition: loading a patch (with its parameters), or disabling one. */
const stagePattern = /^(insmod klp_\w+_patch(_v2)?( \S+=\S+)*|\S+\/enabled=0|disable \S+)$/;

/** Kernel log stamp (s of uptime) of the first livepatch line that starts the staged transition. */
function stageStampS(emulation: Emulation, stage: string): number {
	const patch = /insmod (\S+)/.exec(stage)?.[1] ?? /^(?:disable )?([^/ ]+)/.exec(stage)?.[1] ?? '';
	const wanted = stage.startsWith('insmod')
		? `livepatch: enabling patch '${patch}'`
		: `livepatch: '${patch}': initializing unpatching transition`;
	// The kernel's own record, not the port's /dev/kmsg stream: reading that would take these lines from
	// the reader's first scan, and with them the `enabling patch` that tells it a load is initialising.
	for (const record of emulation.kernel.logSince(0)) {
		if (record.text === wanted) {
			return record.us / 1e6;
		}
	}

	throw new Error(`the emulator's stage logged no "${wanted}"`);
}

/** PIDs of the readers a replay starts (clear of the emulator's own). */
let nextReaderPid = 900;

type Replay = {readonly atS: number; readonly run: () => string | null; readonly action: FixtureAction};

/**
When an action took effect, s from the scenario start: the kernel's log line when it logs one, else the end
of a klptop subcommand (it starts node before it acts), else the start of a shell command.
*/
const effectS = (action: FixtureAction): number =>
	action.kernel_s ?? (action.via === 'klptop' ? action.end_s : action.t_s);

/** One fixture action as emulator operations (a nudge is a SIGSTOP, then a SIGCONT 0.2 s later). */
function replays(emulation: Emulation, action: FixtureAction, atS: number): Replay[] {
	const {kernel} = emulation;
	const attempt = (fn: () => unknown): string => {
		try {
			fn();
			return 'ok';
		} catch (error) {
			return errorCode(error);
		}
	};

	const write = (file: string, value: string) => () => {
		let late: string | null = null;
		const result = attempt(() =>
			kernel.write(file, value, 0, (error) => {
				late = error ? errorCode(error) : null;
			}),
		);
		return late ?? result;
	};

	const words = action.action.split(' ');
	const [verb, target] = words;
	const params = new Map(words.slice(2).map((word) => word.split('=') as [string, string]));
	const lp = '/sys/kernel/livepatch';
	let match: RegExpExecArray | null;
	if (verb === 'insmod' && target !== undefined) {
		const spec: PatchSpec | undefined = (patchCatalog as Record<string, PatchSpec>)[target];
		// A module parameter `replace` overrides the catalog's (klp_sleeper_patch_v2 replace=0 stacks).
		const replace = params.get('replace');
		const loaded = spec && replace !== undefined ? {...spec, replace: replace === '1'} : spec;
		// Not a livepatch: a target module (klp_late), loaded after its patch.
		return [
			{
				atS,
				action,
				run: () => attempt(() => (loaded ? kernel.insmod(loaded) : kernel.loadModule(target))),
			},
		];
	}

	if (verb === 'rmmod' && target !== undefined) {
		return [{atS, action, run: () => attempt(() => kernel.rmmod(target))}];
	}

	if ((verb === 'disable' || verb === 'reverse') && target !== undefined) {
		return [{atS, action, run: write(`${lp}/${target}/enabled`, '0\n')}];
	}

	if (verb === 'force' && target !== undefined) {
		return [{atS, action, run: write(`${lp}/${target}/force`, '1\n')}];
	}

	if (verb === 'ctl' && target !== undefined) {
		return [{atS, action, run: write('/proc/klp_sleeper_ctl', `${target}\n`)}];
	}

	if ((match = /^([^/ ]+)\/(enabled|force)=(\d)$/.exec(action.action))) {
		return [{atS, action, run: write(`${lp}/${match[1]}/${match[2]}`, `${match[3]}\n`)}];
	}

	if (verb === 'reader' && target !== undefined) {
		// A `cat` the rig started after the stage (one that blocks the next transition).
		return [
			{
				atS,
				action,
				run: () => attempt(() => spawnReader(kernel, nextReaderPid++, target.endsWith('_killable'))),
			},
		];
	}

	if (verb === 'nudge') {
		if (action.via === 'klptop' && action.result !== 'ok') {
			return []; // klptop refused: nothing reached the kernel
		}

		const tids = () =>
			[...kernel.tasks.values()]
				.filter((task) => (action.targets ?? []).includes(task.comm) && !task.exited)
				.map((task) => task.tid);
		const signal = (name: 'SIGSTOP' | 'SIGCONT') => () => {
			for (const tid of tids()) {
				attempt(() => kernel.kill(tid, name));
			}

			return null;
		};

		// klptop's nudge ends with the SIGCONT; the shell fallback starts with the SIGSTOP.
		const stopS = action.via === 'klptop' ? atS - 0.5 : atS;
		return [
			{atS: stopS, action, run: signal('SIGSTOP')},
			{atS: stopS + 0.2, action, run: signal('SIGCONT')},
		];
	}

	return [{atS, action, run: () => `cannot replay "${action.action}"`}];
}

/**
The insmod windows of the real run, for the emulator (kernel-livepatch.md §4.1): a load is inside
`__klp_enable_patch` (transition 1, enabled 0) from its `enabling patch` line until insmod returns; a refused
load's directory (enabled 0, transition 0) lasts as long as its insmod. Measured from the fixture's actions,
so the emulator runs as slow a machine as the real tier did (the emulator's own defaults are a normal
machine's few ms).
*/
function insmodWindows(fixture: {actions: readonly FixtureAction[]}): {
	insmodInitMs?: [number, number];
	refusedLoadMs?: [number, number];
} {
	const range = (values: number[]): [number, number] | undefined =>
		values.length === 0
			? undefined
			: [Math.round(Math.min(...values) * 1000), Math.round(Math.max(...values) * 1000)];
	const loads = fixture.actions.filter((action) => action.action.startsWith('insmod '));
	const init = range(
		loads
			.filter((action) => action.result === 'ok' && action.kernel_s !== undefined)
			.map((action) => Math.max(0, action.end_s - action.kernel_s!)),
	);
	const refused = range(
		loads
			.filter((action) => action.result === 'EBUSY')
			.map((action) => Math.max(0, action.end_s - action.t_s)),
	);
	return {...(init ? {insmodInitMs: init} : {}), ...(refused ? {refusedLoadMs: refused} : {})};
}

/** The actions that started a transition, in order: loads and disables the kernel logged. */
const transitionStarts = (fixture: Fixture): FixtureAction[] =>
	fixture.actions
		.filter(
			(action) =>
				action.result === 'ok' &&
				action.kernel_s !== undefined &&
				/^(insmod klp_\w+_patch|disable )/.test(action.action),
		)
		.sort((a, b) => a.kernel_s! - b.kernel_s!);

/** Until `enabled` showed the new value (or the patch was gone), at most until the command returned. */
function startWindowS(fixture: Fixture, action: FixtureAction): number {
	const [verb, name] = action.action.split(' ');
	const enabled = verb === 'insmod';
	const flipped = fixture.sequence.find(
		(step) =>
			step.first_s >= action.kernel_s! &&
			step.state.patches.every((patch) => patch.name !== name || patch.enabled === enabled),
	);
	return Math.max(0, Math.min(flipped?.first_s ?? action.end_s, action.end_s) - action.kernel_s!);
}

/** A step of an atomic replace's completion: a replaced patch reads `enabled` 0, the new one 1 (see below). */
const replaceCompleting = (step: Step): boolean =>
	step.state.transition?.direction === 'patching' &&
	step.state.patches.some(
		(patch) => patch.name !== step.state.transition?.patch && !patch.enabled && !patch.transition,
	) &&
	step.state.patches.find((patch) => patch.name === step.state.transition?.patch)?.enabled === true;

/**
The end of each transition once no task holds it back, on 6.4-6.15: the kernel rewrites the dynamic-preemption
static calls first (`sched_dynamic_klp_disable`), which under TCG on a busy host took from a tenth of a second
to seconds, differently for each transition of a run. Measured per transition from the fixture: the step that
shows it with nobody pending right before it ends (an atomic replace's completion aside). That step began with
the try that switched the last task when the command's own first try did (the command returned with the
transition over) or a retry did (the step before showed only unnamed pending tasks, `others`, for a second or
more: they waited for a retry, as stuck-kthread's woken kthread did on 6.12): all of it is the rewrite. When the last named blocker switched itself between two retries, the step includes the wait for the
retry that saw it (up to a second, which the emulator waits as well): the rewrite is the rest, and a step under
a second is left to the emulator's draw (a poller may miss it anyway). null where no such step shows.
*/
function endRewrites(fixture: Fixture, starts: readonly FixtureAction[]): Array<number | null> {
	return starts.map((action) => {
		const name = action.action.split(' ')[1];
		const steps = fixture.sequence.filter((step) => step.first_s >= action.kernel_s!);
		const last = steps.findIndex(
			(step, index) =>
				step.state.transition?.patch === name && steps[index + 1]?.state.transition?.patch !== name,
		);
		let tailIndex = last;
		while (tailIndex > 0 && replaceCompleting(steps[tailIndex]!)) {
			tailIndex--;
		}

		const tail = steps[tailIndex];
		const before = steps[tailIndex - 1];
		if (
			!tail ||
			tail.state.transition?.patch !== name ||
			tail.state.blockers.length > 0 ||
			tail.state.others
		) {
			return null;
		}

		const spanS = tail.until_s - tail.first_s;
		const byTry =
			action.end_s >= tail.first_s ||
			(before !== undefined &&
				before.state.transition?.patch === name &&
				before.state.blockers.length === 0 &&
				before.state.others &&
				before.until_s - before.first_s >= 1);
		if (byTry) {
			return Math.round(spanS * 1000);
		}

		return spanS >= 1 ? Math.round(Math.max(0.1, spanS - 1) * 1000) : null;
	});
}

/**
The start of a new transition on 6.4-6.15: after `starting` the kernel rewrites the preemption static calls
(`sched_dynamic_klp_enable`) before `enabled` changes, which under TCG on a busy host took seconds and is
most of an insmod's window there (and of a disable's write). Measured from the fixture like the insmod
windows: from the kernel's line to the end of the command, for the loads and disables that succeeded.
*/
function startRewrite(
	fixture: Fixture,
	generation: KernelGeneration,
): {condReschedEnableMs?: [number, number]} {
	if (!featuresOf(generation).kthreadCondResched) {
		return {};
	}

	// A load whose first attempt switches every task also completes the transition before insmod returns.
	const windows = transitionStarts(fixture).map((action) => startWindowS(fixture, action));
	if (windows.length === 0) {
		return {};
	}

	return {
		condReschedEnableMs: [Math.round(Math.min(...windows) * 1000), Math.round(Math.max(...windows) * 1000)],
	};
}

/**
The completion of an atomic replace: the patches it replaced read `enabled` 0 while `transition` still reads 1
on the new one, until the kernel has synchronised (0.14 s on 6.12 under TCG, microseconds on a normal
machine). Measured from the fixture's steps that show it, like the windows above.
*/
function replaceCompletion(fixture: Fixture): {patchCompleteMs?: [number, number]} {
	const spans = fixture.sequence
		.filter(
			(step) =>
				step.state.transition?.direction === 'patching' &&
				step.state.patches.some(
					(patch) => patch.name !== step.state.transition?.patch && !patch.enabled && !patch.transition,
				) &&
				step.state.patches.find((patch) => patch.name === step.state.transition?.patch)?.enabled === true,
		)
		.map((step) => Math.round((step.until_s - step.first_s) * 1000));
	return spans.length === 0 ? {} : {patchCompleteMs: [Math.min(...spans), Math.max(...spans)]};
}

/** Runs the emulator's scenario with the fixture's actions; returns its steps and the actions' results. */
function emulate(fixture: Fixture, generation: KernelGeneration, periodS = samplePeriodS) {
	const stage = fixture.actions.find((action) => action.t_s >= 0 && stagePattern.test(action.action));
	if (!stage) {
		throw new Error(`fixture ${fixture.scenario} has no action that starts a transition`);
	}

	// On 6.4-6.15 the start's rewrite is most of an insmod's window: the init part keeps its default.
	const start = startRewrite(fixture, generation);
	// Each transition from the stage on, with the times its own start and end took on the real run.
	const starts = transitionStarts(fixture).filter((action) => action.t_s >= stage.t_s);
	const {insmodInitMs, ...loads} = insmodWindows(fixture);
	const emulation = createEmulation(fixture.scenario, {
		seed: 1,
		kernel: generation,
		...loads,
		...(start.condReschedEnableMs || !insmodInitMs ? {} : {insmodInitMs}),
		...start,
		...(featuresOf(generation).kthreadCondResched
			? {
					eachTransitionMs: {
						enable: starts.map((action) => Math.round(startWindowS(fixture, action) * 1000)),
						disable: endRewrites(fixture, starts),
					},
				}
			: {}),
		...replaceCompletion(fixture),
	});
	const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario: fixture.scenario});
	const zeroS = emulation.kernel.uptimeUs() / 1e6;
	// Seconds since the stage action, on both sides.
	const offsetS = zeroS - stageStampS(emulation, stage.action);
	const stageS = effectS(stage);
	const endS = Math.max(...fixture.sequence.map((step) => step.until_s)) - stageS;
	const pending = fixture.actions
		.filter((action) => action.t_s > stage.t_s && action !== stage)
		.flatMap((action) => replays(emulation, action, effectS(action) - stageS))
		.sort((a, b) => a.atS - b.atS);
	const results: Array<{action: string; real: string; emulated: string}> = [];
	const observations: Array<{t: number; view: unknown}> = [];
	let history: History | null = null;
	let nowS = offsetS;
	const advanceTo = (atS: number) => {
		if (atS > nowS) {
			emulation.advance((atS - nowS) * 1000);
			nowS = atS;
		}
	};

	for (let sampleS = offsetS; sampleS <= endS; sampleS += periodS) {
		while (pending.length > 0 && pending[0]!.atS <= sampleS) {
			const next = pending.shift()!;
			advanceTo(next.atS);
			const result = next.run();
			if (result !== null && next.action.action.split(' ')[0] !== 'nudge') {
				results.push({action: next.action.action, real: next.action.result, emulated: result});
			}
		}

		advanceTo(sampleS);
		history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: emulation.now}));
		observations.push({t: sampleS, view: toJsonDocument(history)});
	}

	return {steps: foldObservations(observations, endS), results, stageS, fromS: offsetS, history: history!};
}

/**
The fixture's steps after the stage action, on the same time base. The step current when the stage action
started is the state before it (its end is only when the poller first saw the action's effect), so it goes.
*/
function realSteps(fixture: Fixture, stageS: number): Step[] {
	return fixture.sequence
		.filter((step) => step.first_s > stageS)
		.map((step) => ({
			...step,
			first_s: Math.max(step.first_s, stageS) - stageS,
			until_s: step.until_s - stageS,
		}));
}

describe.each(kernels)(
	'emulator $generation against the real kernel $series (test/fixtures/kernel/$series)',
	({series, generation, observed}) => {
		const fixtureDir = path.join(fixtureRoot, series);
		const loadFixtureOf = (name: string) => loadFixture(series, name);
		it(`has a real-kernel fixture for each of the ${observed.length} observed scenarios`, () => {
			const present = fs.existsSync(fixtureDir)
				? fs
						.readdirSync(fixtureDir)
						.filter((file) => file.endsWith('.json'))
						.map((file) => file.slice(0, -5))
				: [];
			expect(observed.filter((name) => !present.includes(name))).toEqual([]);
			const emulated = listScenarios().map((entry) => entry.name);
			expect(observed.filter((name) => !emulated.includes(name))).toEqual([]);
			for (const name of observed) {
				expect(loadFixtureOf(name).kernel.release, name).toMatch(
					new RegExp(`^${series.replace('.', '\\.')}\\.`),
				);
			}
		});

		for (const name of observed) {
			it(`${name}: same sequence of klptop observations, same action results`, () => {
				const fixture = loadFixtureOf(name);
				expect(fixture.scenario).toBe(name);
				const {steps, results, stageS} = emulate(fixture, generation);
				const real = realSteps(fixture, stageS);
				const comparison = compareSequences(real, steps);
				expect(
					comparison.explain,
					`real:     ${formatSequence(real)}\nemulated: ${formatSequence(steps)}`,
				).toBe('');
				expect(results.filter((entry) => entry.real !== entry.emulated)).toEqual([]);
			});

			it(`${name}: loads are never mistaken for transitions (init window, refused load)`, () => {
				const fixture = loadFixtureOf(name);
				const {history} = emulate(fixture, generation);
				// A load read as "unpatching" during its init window turns into a reversal once enabled reads 1.
				const reversed = history.events.filter((event) => event.kind === 'transition-reversed');
				const reverses = fixture.actions.some((action) => action.action.startsWith('reverse '));
				expect(reversed.length > 0, reversed.map((event) => event.text).join('; ')).toBe(reverses);
				const refused = fixture.actions
					.filter((action) => action.result === 'EBUSY' && action.action.startsWith('insmod '))
					.map((action) => action.action.split(' ')[1]);
				// Its directory lasts as long as the insmod (0.16 s on 6.12 under TCG): a poll may miss it, but
				// what a poll sees of it is a patch that comes and goes, never a transition.
				for (const patch of refused) {
					const kinds = history.events.filter((event) => event.patch === patch).map((event) => event.kind);
					expect(kinds.length === 0 ? [] : ['patch-appeared', 'patch-disappeared']).toEqual(kinds);
				}
			});

			it(`${name}: every sysfs state the real run showed, brief ones included, shows in the emulator too`, () => {
				// Brief steps may be missed in the comparison above; the patch directories (enabled, transition)
				// must still exist in the model: an insmod's init window, a refused insmod's directory.
				const fixture = loadFixtureOf(name);
				// Sampled densely: the model must have the state, however briefly (0.14 s of a replace's end on
				// replace-release, 0.03 s on replace-force: a 25 ms period sees any state of 25 ms or more).
				// The emulation is first read at its t0, a little after its stage action: what ended before is unseen.
				const {steps, stageS, fromS} = emulate(fixture, generation, 0.025);
				const states = (list: readonly Step[]) =>
					new Set(list.map((step) => JSON.stringify(step.state.patches)));
				const emulated = states(steps);
				const real = realSteps(fixture, stageS).filter((step) => step.until_s > fromS);
				expect([...states(real)].filter((state) => !emulated.has(state))).toEqual([]);
			});
		}
	},
);
