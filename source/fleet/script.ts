/**
The fleet for scripts: `klptop fleet --once [--json]` (one picture, then exit) and `klptop fleet
wait [PATCH] [--timeout S]`: 0 no reachable host in transition, 1 timed out with some still in
transition, 2 some unreachable or failed (named on stderr; wins over 1: a host nobody could see may
be the stuck one), 130 interrupted. A host without livepatch has no transition: it counts as done.
*/
import {clean} from '../model/sanitize.js';
import {patchNameOf} from '../script/wait.js';
import {shortDuration} from '../script/common.js';
import type {ScriptIo} from '../script/common.js';
import type {Fleet} from './fleet.js';
import {fleetDocument} from './document.js';
import type {HostState} from './host.js';
import {conditionOf, elapsedNow} from './model.js';
import {fleetText} from './text.js';

export const fleetExitCodes = {done: 0, timedOut: 1, failed: 2, interrupted: 130} as const;

type Waiter = {
	readonly fleet: Fleet;
	readonly now: () => number;
	readonly signal?: AbortSignal;
};

/** Every host has reported or failed (a host about to be pushed to has not). */
function settled(states: readonly HostState[]): boolean {
	return states.every((state) => state.status !== 'connecting' && state.status !== 'pushing');
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	await new Promise<void>((resolve) => {
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		}

		signal?.addEventListener('abort', done, {once: true});
	});
}

/** Wait until every host has reported or failed, or `deadline`. */
async function untilSettled({fleet, now, signal}: Waiter, deadline: number): Promise<void> {
	// Polled, not on every change: between a host's "no klptop" and its push starting, it is not settled.
	while (!settled(fleet.states()) && now() < deadline && signal?.aborted !== true) {
		await sleep(100, signal);
	}
}

export type OnceOptions = Waiter & {
	readonly json: boolean;
	/** Give up waiting for the slowest hosts after this long (they show as connecting). */
	readonly timeoutS: number;
	readonly width: number;
};

/** `fleet --once`: start, let every host report or fail, print one picture. */
export async function runFleetOnce(options: OnceOptions, io: ScriptIo): Promise<number> {
	const {fleet, now} = options;
	fleet.start();
	try {
		await untilSettled(options, now() + options.timeoutS * 1000);
		if (options.signal?.aborted === true) return fleetExitCodes.interrupted;
		const states = fleet.states();
		io.stdout.write(
			options.json
				? JSON.stringify(fleetDocument(states, now()), null, 2) + '\n'
				: fleetText(states, now(), options.width) + '\n',
		);
		return 0;
	} finally {
		await fleet.stop();
	}
}

export type WaitOptions = Waiter & {
	readonly patch: string | null;
	/** null: no timeout. 0: one look, after every host has reported or failed. */
	readonly timeoutS: number | null;
	readonly json: boolean;
	/** How long a first connection may take before the host counts as failed. */
	readonly settleS: number;
};

type Verdict = 'done' | 'waiting' | 'failed' | 'pending';

function verdictOf(state: HostState, patch: string | null, now: number): Verdict {
	const condition = conditionOf(state, now);
	if (condition === 'failing') return 'failed';
	if (condition === 'connecting') return 'pending';
	const doc = state.doc!;
	if (doc.transition === null) return 'done';
	if (patch === null) return 'waiting';
	return doc.patches.some((p) => p.name === patch && p.transition) ? 'waiting' : 'done';
}

function named(states: readonly HostState[], words: (state: HostState) => string, max = 10): string {
	const shown = states.slice(0, max).map((state) => `${clean(state.host.name)} (${words(state)})`);
	return shown.join(', ') + (states.length > max ? `, and ${states.length - max} more` : '');
}

function transitionWords(state: HostState, now: number): string {
	const t = state.doc?.transition;
	if (!t) return 'no transition';
	const elapsed = elapsedNow(state, now);
	return `${clean(t.patch)} ${t.direction}, ${elapsed === null ? '?' : shortDuration(elapsed)}, ${t.pending}/${t.total} pending`;
}

/** `fleet wait`: resolves with the exit code. */
export async function runFleetWait(options: WaitOptions, io: ScriptIo): Promise<number> {
	const {fleet, now, signal} = options;
	const say = (text: string) => io.stderr.write(`klptop fleet wait: ${text}\n`);
	let patch: string | null = null;
	if (options.patch !== null) {
		patch = patchNameOf(options.patch);
		if (patch === null) {
			say(`'${clean(options.patch)}' is not a patch name`);
			return fleetExitCodes.failed;
		}
	}

	const timeoutS = options.timeoutS;
	if (timeoutS !== null && !(Number.isFinite(timeoutS) && timeoutS >= 0)) {
		say('--timeout takes a number of seconds, 0 or more');
		return fleetExitCodes.failed;
	}

	const start = now();
	const deadline = timeoutS === null ? Number.POSITIVE_INFINITY : start + timeoutS * 1000;
	const tty = io.stderr.isTTY === true;
	let progress = '';
	fleet.start();
	try {
		// Every host gets its first chance to report before anything is decided (a --timeout of 0 too).
		await untilSettled(options, Math.max(deadline, start + options.settleS * 1000));
		for (;;) {
			if (signal?.aborted === true) {
				if (tty && progress !== '') io.stderr.write('\n');
				say('interrupted');
				return fleetExitCodes.interrupted;
			}

			const at = now();
			const states = fleet.states();
			const by = {done: [], waiting: [], failed: [], pending: []} as Record<Verdict, HostState[]>;
			for (const state of states) by[verdictOf(state, patch, at)].push(state);
			const timedOut = at >= deadline;
			if ((by.waiting.length === 0 && by.pending.length === 0) || timedOut) {
				if (tty && progress !== '') io.stderr.write('\r\u001B[K');
				const noLivepatch = by.done.filter((state) => state.doc !== null && !state.doc.kernel.livepatch);
				if (noLivepatch.length > 0) {
					say(
						`${noLivepatch.length} host${noLivepatch.length === 1 ? ' has' : 's have'} no livepatch support (counted as done)`,
					);
				}

				const failed = [...by.failed, ...by.pending];
				if (by.waiting.length > 0) {
					say(
						`timed out after ${shortDuration((at - start) / 1000)}: ${by.waiting.length} host${by.waiting.length === 1 ? '' : 's'} still in transition: ${named(by.waiting, (state) => transitionWords(state, at))}`,
					);
				}

				if (failed.length > 0) {
					say(
						`${failed.length} host${failed.length === 1 ? '' : 's'} unreachable or failed: ${named(failed, (state) => `${state.status}: ${state.error ?? 'no document yet'}`)}`,
					);
				}

				if (by.waiting.length === 0 && failed.length === 0) {
					say(
						`${by.done.length} host${by.done.length === 1 ? '' : 's'}: no transition${patch === null ? '' : ` of ${patch}`}`,
					);
				}

				if (options.json) io.stdout.write(JSON.stringify(fleetDocument(states, at)) + '\n');
				return failed.length > 0
					? fleetExitCodes.failed
					: by.waiting.length > 0
						? fleetExitCodes.timedOut
						: fleetExitCodes.done;
			}

			if (tty) {
				const left = timeoutS === null ? '' : `, ${shortDuration(Math.max(0, (deadline - at) / 1000))} left`;
				progress = `klptop fleet wait: ${by.waiting.length} in transition, ${by.done.length} done, ${by.failed.length} failed, ${by.pending.length} connecting${left}`;
				io.stderr.write(`\r\u001B[K${progress.slice(0, Math.max(20, (io.stderr.columns ?? 80) - 1))}`);
			}

			await sleep(200, signal);
		}
	} finally {
		await fleet.stop();
	}
}
