/**
`klptop wait [PATCH] [--timeout SECONDS] [--reverse-on-timeout]`: block until no transition runs
(or PATCH's ends), replacing the wait loop of kpatch-style load scripts
(`insmod p.ko && klptop wait p --timeout 75 --reverse-on-timeout`). Exit codes 0 ended, 1 timed
out, 2 error or refused, 130 interrupted; progress on stderr only; PATCH may be a module file or
name (`my-patch.ko` -> `my_patch`), and a patch not in sysfs is not in transition (kpatch's rule).
*/
import {createActionContext, executePatchAction, planPatchAction, validPatchName} from '../actions/index.js';
import type {ActionContext} from '../actions/index.js';
import {foldSnapshot} from '../model/history.js';
import {clean} from '../model/sanitize.js';
import type {Blocker, History, PatchInfo, TaskClass} from '../model/types.js';
import {taskClasses} from '../model/types.js';
import {toJsonLine} from '../output/json.js';
import {createReader} from '../sources/reader.js';
import type {Reader} from '../sources/reader.js';
import type {ScriptClock, ScriptIo, ScriptSource} from './common.js';
import {clockFor, linkedController, noLivepatchWords, shortDuration} from './common.js';

export type WaitOptions = {
	readonly opened: ScriptSource;
	/** Wait for this patch only (module name or file accepted); null/undefined: any transition. */
	readonly patch?: string | null;
	/** Give up after this many seconds; null/undefined: wait for ever. 0 checks once. */
	readonly timeoutS?: number | null;
	/** On timeout, reverse the transition (write the opposite value to `enabled`) and wait for that. */
	readonly reverseOnTimeout?: boolean;
	/** Seconds between polls. @default 1 */
	readonly delayS?: number;
	/** Print the last JSON document to stdout. */
	readonly json?: boolean;
	/** `--readonly`: never act (with reverseOnTimeout this is refused up front). */
	readonly readonly?: boolean;
	readonly signal?: AbortSignal;
	/** Tests only. */
	readonly clock?: ScriptClock;
	/** Tests only: the action context used for reversing (default: built from the source). */
	readonly actionContext?: ActionContext;
	/** Tests only: environment for the action context (XDG_STATE_HOME of the audit log). */
	readonly env?: NodeJS.ProcessEnv;
};

export const exitCodes = {done: 0, timedOut: 1, error: 2, interrupted: 130} as const;

/** `p`, `p.ko`, `/path/my-patch.ko.xz` -> the sysfs patch name (`my_patch`); null when unusable. */
export function patchNameOf(argument: string): string | null {
	let name = argument.slice(argument.lastIndexOf('/') + 1);
	name = name.replace(/\.ko(?:\.(?:xz|gz|zst))?$/, '');
	name = name.replaceAll('-', '_');
	return validPatchName(name) ? name : null;
}

type Status =
	| {readonly kind: 'running'; readonly patch: string}
	| {readonly kind: 'idle'}
	| {readonly kind: 'patch-ended'; readonly patch: PatchInfo}
	| {readonly kind: 'patch-gone'; readonly seen: boolean};

function statusOf(history: History, patch: string | null, seen: boolean): Status {
	const s = history.snapshot;
	if (patch === null) {
		return s.transition ? {kind: 'running', patch: s.transition.patch} : {kind: 'idle'};
	}

	const info = s.patches.find((p) => p.name === patch);
	if (info === undefined) {
		return {kind: 'patch-gone', seen};
	}

	return info.transition ? {kind: 'running', patch} : {kind: 'patch-ended', patch: info};
}

function blockerSummary(blockers: readonly Blocker[]): string {
	if (blockers.length === 0) {
		return 'no visible blocker';
	}

	const counts = new Map<TaskClass, number>();
	for (const b of blockers) {
		counts.set(b.class, (counts.get(b.class) ?? 0) + 1);
	}

	const parts = taskClasses
		.filter((c) => counts.has(c))
		.map((c) => `${counts.get(c)} ${c === 'uninterruptible' ? 'D-state' : c}`);
	const kthreads = blockers.filter((b) => b.kthread).length;
	return `${blockers.length} blocker${blockers.length === 1 ? '' : 's'} (${parts.join(', ')}${kthreads > 0 ? `; ${kthreads} kthread${kthreads === 1 ? '' : 's'}` : ''})`;
}

/** The first few blockers, named: `182 cat in klp_sleeper_wait [interruptible]`. */
function blockerNames(blockers: readonly Blocker[], max = 3): string {
	const named = blockers.slice(0, max).map((b) => {
		const where = b.function === null ? '' : ` in ${clean(b.function)}`;
		return `${b.tid} ${clean(b.comm)}${where} [${b.class}]`;
	});
	const more = blockers.length > max ? `, +${blockers.length - max} more` : '';
	return named.join(', ') + more;
}

function transitionWords(history: History): string {
	const t = history.transition;
	if (!t) {
		return 'no transition';
	}

	const unknown = (t.unknown ?? 0) > 0 ? ` (${t.unknown} unknown: patch_state unreadable)` : '';
	return `'${clean(t.patch)}' ${t.direction}, ${t.pending} of ${t.total} threads pending${unknown}`;
}

/** The progress line (without cursor control); `deadlineS` null when no timeout. */
export function progressLine(history: History, waitedS: number, timeoutS: number | null): string {
	const t = history.transition;
	const parts = [`klptop wait: ${transitionWords(history)}`];
	if (t) {
		parts.push(
			history.hiddenBlocker
				? 'blocker not visible (idle task or hidden pids)'
				: blockerSummary(history.snapshot.blockers),
		);
		if (t.nextSignalS !== null) {
			parts.push(`next fake signal ~${Math.ceil(t.nextSignalS)}s`);
		}
	}

	parts.push(
		timeoutS === null ? `${shortDuration(waitedS)}` : `${shortDuration(waitedS)}/${shortDuration(timeoutS)}`,
	);
	return parts.join('; ');
}

function cut(text: string, columns: number | undefined): string {
	const width = Math.max(20, (columns ?? 80) - 1);
	const chars = [...text];
	return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '~';
}

function endedWords(history: History, patch: string, fallbackS: number): string {
	const last = history.lastTransition;
	const elapsed = last && last.patch === patch && last.elapsedS !== null ? last.elapsedS : fallbackS;
	const how = last && last.patch === patch ? last.direction : 'transition';
	return `'${clean(patch)}' ${how} ${how === 'transition' ? 'ended' : 'complete'} (${shortDuration(elapsed)})`;
}

type PollResult = {history: History; status: Status};

/** Run `wait`. Resolves with the exit code. */
export async function runWait(options: WaitOptions, io: ScriptIo): Promise<number> {
	const {opened} = options;
	const tty = io.stderr.isTTY === true;
	const delayMs = Math.max(10, (options.delayS ?? 1) * 1000);
	const timeoutS = options.timeoutS ?? null;
	const fail = (message: string): number => {
		io.stderr.write(`klptop wait: ${message}\n`);
		return exitCodes.error;
	};

	if (timeoutS !== null && !(Number.isFinite(timeoutS) && timeoutS >= 0)) {
		return fail('--timeout takes a number of seconds, 0 or more');
	}

	if (options.reverseOnTimeout === true && timeoutS === null) {
		return fail('--reverse-on-timeout needs --timeout SECONDS');
	}

	let patch: string | null = null;
	if (options.patch !== undefined && options.patch !== null) {
		patch = patchNameOf(options.patch);
		if (patch === null) {
			return fail(`'${clean(options.patch)}' is not a patch name`);
		}
	}

	const clock = options.clock ?? clockFor(opened);
	const controller = linkedController(options.signal);
	const reader = createReader(opened.port, opened.source);

	let context: ActionContext | null = null;
	if (options.reverseOnTimeout === true) {
		context =
			options.actionContext ??
			createActionContext({
				source: opened.source,
				port: opened.port,
				readonly: options.readonly ?? false,
				control: opened.emulation?.control ?? opened.control ?? null,
				...(options.env === undefined ? {} : {env: options.env}),
			});
		if (context.disabledReason !== null) {
			return fail(`--reverse-on-timeout cannot act here: ${clean(context.disabledReason)}`);
		}
	}

	let shown = false;
	const show = (line: string) => {
		if (tty) {
			io.stderr.write(`\r\u001b[K${cut(line, io.stderr.columns)}`);
			shown = true;
		}
	};

	const finish = (code: number, line: string, history: History | null): number => {
		if (shown) {
			io.stderr.write('\r\u001b[K');
		}

		io.stderr.write(`klptop wait: ${line}\n`);
		if (options.json === true && history !== null) {
			io.stdout.write(toJsonLine(history) + '\n');
		}

		return code;
	};

	let history: History | null = null;
	let seen = false;
	const poll = (): PollResult => {
		history = foldSnapshot(history, scanOnce(reader, clock));
		const status = statusOf(history, patch, seen);
		if (patch !== null && history.snapshot.patches.some((p) => p.name === patch)) {
			seen = true;
		}

		return {history, status};
	};

	/** Poll until the transition of `target` (null: any) ends, the deadline passes or we are interrupted. */
	const waitUntil = async (
		deadline: number | null,
		started: number,
	): Promise<PollResult & {end: 'done' | 'timeout' | 'interrupted'}> => {
		for (;;) {
			const result = poll();
			if (result.status.kind !== 'running') {
				return {...result, end: 'done'};
			}

			const now = clock.now();
			show(
				progressLine(
					result.history,
					(now - started) / 1000,
					deadline === null ? null : (deadline - started) / 1000,
				),
			);
			if (controller.signal.aborted) {
				return {...result, end: 'interrupted'};
			}

			if (deadline !== null && now >= deadline) {
				return {...result, end: 'timeout'};
			}

			const step = deadline === null ? delayMs : Math.min(delayMs, Math.max(0, deadline - now));
			await clock.sleep(step, controller.signal);
			if (controller.signal.aborted) {
				return {...result, end: 'interrupted'};
			}
		}
	};

	try {
		const started = clock.now();
		const first = poll();
		if (!first.history.snapshot.kernel.livepatch) {
			return finish(exitCodes.error, noLivepatchWords(opened.source), first.history);
		}

		history = first.history;
		const result =
			first.status.kind === 'running'
				? await waitUntil(timeoutS === null ? null : started + timeoutS * 1000, started)
				: {...first, end: 'done' as const};
		const waitedS = (clock.now() - started) / 1000;
		const {status} = result;
		if (result.end === 'done') {
			return finish(
				exitCodes.done,
				doneWords(result.history, status, patch, first.status.kind === 'running', waitedS),
				result.history,
			);
		}

		if (result.end === 'interrupted') {
			return finish(
				exitCodes.interrupted,
				`interrupted after ${shortDuration(waitedS)}: ${transitionWords(result.history)}`,
				result.history,
			);
		}

		// Timed out with the transition still running.
		const running = status.kind === 'running' ? status.patch : (patch ?? '?');
		const stuck = `timed out after ${shortDuration(waitedS)}: ${transitionWords(result.history)}${
			result.history.snapshot.blockers.length > 0
				? `; blockers: ${blockerNames(result.history.snapshot.blockers)}`
				: ''
		}`;
		if (context === null) {
			return finish(exitCodes.timedOut, stuck, result.history);
		}

		const plan = planPatchAction(context, 'reverse', running);
		if (!plan.ok) {
			// It may have ended between the last poll and the plan: look once more.
			const again = poll();
			if (again.status.kind !== 'running') {
				return finish(
					exitCodes.done,
					doneWords(again.history, again.status, patch, true, waitedS),
					again.history,
				);
			}

			return finish(exitCodes.error, `${stuck}; cannot reverse: ${clean(plan.reason)}`, again.history);
		}

		const report = await executePatchAction(context, plan.plan);
		if (!report.ok) {
			return finish(exitCodes.error, `${stuck}; reverse failed: ${clean(report.text)}`, result.history);
		}

		show(`klptop wait: ${clean(report.text)}`);
		const reverseStarted = clock.now();
		const after = await waitUntil(
			timeoutS === null ? null : reverseStarted + timeoutS * 1000,
			reverseStarted,
		);
		const reversedS = (clock.now() - reverseStarted) / 1000;
		let outcome: string;
		if (after.end === 'done') {
			const info =
				after.status.kind === 'patch-ended'
					? after.status.patch
					: after.history.snapshot.patches.find((p) => p.name === running);
			outcome =
				info === undefined
					? `reversed: '${clean(running)}' is unpatched and removed (${shortDuration(reversedS)})`
					: `reversed: '${clean(running)}' is ${info.enabled ? 'applied' : 'disabled'} again (${shortDuration(reversedS)})`;
		} else {
			outcome = `reversed, but the reversal is still running after ${shortDuration(reversedS)}: ${transitionWords(after.history)}`;
		}

		return finish(
			after.end === 'interrupted' ? exitCodes.interrupted : exitCodes.timedOut,
			`${stuck}; ${outcome}`,
			after.history,
		);
	} catch (error) {
		return finish(
			exitCodes.error,
			`error: ${clean(error instanceof Error ? error.message : String(error))}`,
			history,
		);
	}
}

function scanOnce(reader: Reader, clock: ScriptClock) {
	return reader.scan({threads: 'blockers', clock: clock.now});
}

function doneWords(
	history: History,
	status: Status,
	patch: string | null,
	wasRunning: boolean,
	waitedS: number,
): string {
	switch (status.kind) {
		case 'idle': {
			const last = history.lastTransition;
			return wasRunning && last
				? `${endedWords(history, last.patch, waitedS)}; no transition running`
				: 'no transition running';
		}

		case 'patch-ended': {
			const state = status.patch.enabled ? 'applied' : 'disabled';
			return wasRunning
				? `${endedWords(history, status.patch.name, waitedS)}; '${clean(status.patch.name)}' is ${state}`
				: `'${clean(status.patch.name)}' is not in transition (${state})`;
		}

		case 'patch-gone': {
			const name = clean(patch ?? '?');
			return status.seen
				? `'${name}' is unpatched and removed (${shortDuration(waitedS)})`
				: `no patch '${name}' in /sys/kernel/livepatch (not loaded, or already unpatched and removed): nothing to wait for`;
		}

		case 'running': {
			return transitionWords(history);
		}
	}
}
