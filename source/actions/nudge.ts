/**
The nudge: SIGSTOP a blocking task's thread group, wait until the kernel switched it (it does so on
the task's way into the stop, `kernel-livepatch.md` §4.5: observed 0.5-1.1 s to the end of the
transition, the switch itself at once) or a short bound passed, then SIGCONT.

SIGCONT is guaranteed:
- every SIGSTOP is journalled (fsync'd) *before* it is sent, and the record is cleared only after
  the SIGCONT went out;
- SIGCONT is sent in a `finally`, on SIGINT/SIGTERM/SIGHUP (handlers installed only while something
  is stopped) and on `exit`;
- what survives all of that (SIGKILL, OOM, power loss) is resumed by `recoverStopped()` at the next
  start, after checking that the PID still names the same task.
*/
import process from 'node:process';
import type {ControlPort} from '../sources/fs-port.js';
import {errorCode} from '../sources/fs-port.js';
import type {AuditRecord, AuditResult} from '../state/audit.js';
import type {StopJournal} from '../state/journal.js';
import type {ActionContext} from './context.js';
import {explainError} from './errors.js';
import type {Refusal} from './guards.js';
import {checkThread} from './plan.js';
import type {NudgeGroup, NudgePlan} from './plan.js';
import {readLivePatch, readPatchState, readStat, readStatus, stopPending, taskDir} from './proc.js';
import type {LiveTransition} from './proc.js';

/** How long a task may stay stopped waiting for its switch (observed: at once, transition done 0.5-1.1 s). */
export const defaultBoundMs = 1500;
export const defaultPollMs = 50;

export type NudgeOptions = {
	/** @default 1500 */
	readonly boundMs?: number;
	/** @default 50 */
	readonly pollMs?: number;
	/**
	Overrides the patch_state check: "has this thread switched?". For worlds without livepatch (tests
	on a host whose kernel has none) and for callers that know better.
	*/
	readonly isSwitched?: (thread: {readonly tid: number; readonly tgid: number}) => boolean;
	/** Called once per group right after its SIGSTOP was sent (progress display, tests). */
	readonly onStopped?: (group: NudgeGroup) => void;
};

export type ThreadResult = 'switched' | 'transition-ended' | 'transition-changed' | 'exited' | 'not-switched';

export type ThreadOutcome = {
	readonly tid: number;
	readonly comm: string;
	readonly result: ThreadResult;
	/** From SIGSTOP to the observation, ms. */
	readonly afterMs: number;
};

export type GroupOutcome = {
	readonly tgid: number;
	readonly comm: string;
	/** SIGSTOP was delivered. */
	readonly stopped: boolean;
	/** SIGCONT was delivered (or the task exited meanwhile). */
	readonly resumed: boolean;
	/** How long it stayed stopped, ms. */
	readonly stoppedMs: number;
	readonly threads: readonly ThreadOutcome[];
	readonly warnings: readonly string[];
	/** What went wrong, in plain words. */
	readonly error: string | null;
};

export type NudgeReport = {
	readonly groups: readonly GroupOutcome[];
	readonly refused: readonly Refusal[];
	readonly audit: AuditRecord;
};

/** A SIGSTOP in flight, for the exit handlers. */
type ActiveStop = {
	readonly control: ControlPort;
	readonly tgid: number;
	readonly journal: StopJournal;
	readonly journalId: string;
	resumed: boolean;
	/** The SIGSTOP in flight (a control port over a socket is truly asynchronous): SIGCONT waits for it. */
	stopping: Promise<unknown> | null;
};

const active = new Set<ActiveStop>();
const exitSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type ExitSignal = (typeof exitSignals)[number];
let handlersInstalled = false;

async function resumeStop(stop: ActiveStop): Promise<string | null> {
	if (stop.resumed) {
		return null;
	}

	await stop.stopping?.catch(() => {});
	try {
		await stop.control.kill(stop.tgid, 'SIGCONT');
	} catch (error) {
		if (errorCode(error) !== 'ESRCH') {
			// The record stays: the next start retries.
			return `could not send SIGCONT (${explainError(error, 'nudge')}); it stays stopped until you run kill -CONT ${stop.tgid} or start klptop again`;
		}
	}

	stop.resumed = true;
	active.delete(stop);
	try {
		stop.journal.clear(stop.journalId);
	} catch {
		// A stale record is harmless: recovery finds the task running and drops it.
	}

	return null;
}

function onSignal(signal: ExitSignal): void {
	const pending = [...active].map(async (stop) => resumeStop(stop));
	void Promise.allSettled(pending).then(() => {
		uninstallHandlers();
		/*
		Our listener suppressed the default action, and a library handler that re-raises only when it
		is the last listener (signal-exit, used by Ink) stood back because we were there. Deliver the
		signal again now that we are gone: the default action or those handlers end the process.
		*/
		process.kill(process.pid, signal);
	});
}

function onExit(): void {
	// Synchronous context: fire the SIGCONTs (the host's kill is synchronous under its promise) and
	// leave the records; the next start finds the tasks running and drops them.
	for (const stop of active) {
		if (!stop.resumed) {
			stop.control.kill(stop.tgid, 'SIGCONT').catch(() => {});
		}
	}
}

const signalListeners = new Map<ExitSignal, () => void>(
	exitSignals.map((signal) => [signal, () => onSignal(signal)]),
);

function installHandlers(): void {
	if (handlersInstalled) {
		return;
	}

	handlersInstalled = true;
	for (const [signal, listener] of signalListeners) {
		process.on(signal, listener);
	}

	process.on('exit', onExit);
}

function uninstallHandlers(): void {
	if (!handlersInstalled || active.size > 0) {
		return;
	}

	handlersInstalled = false;
	for (const [signal, listener] of signalListeners) {
		process.removeListener(signal, listener);
	}

	process.removeListener('exit', onExit);
}

/** Number of SIGSTOPs this process has in flight (tests, and a dashboard "busy" marker). */
export function activeStops(): number {
	return active.size;
}

/**
Carry out a plan. Every thread is checked again right before its group's SIGSTOP (PID reuse, state,
patch_state, the guards); what changed is refused, not signalled.
*/
export async function executeNudge(
	ctx: ActionContext,
	plan: NudgePlan,
	options: NudgeOptions = {},
): Promise<NudgeReport> {
	const refused: Refusal[] = [...plan.refused];
	const outcomes: GroupOutcome[] = [];
	const control = ctx.control;
	const disabled = ctx.disabledReason ?? (control === null ? 'actions are disabled' : null);
	if (disabled !== null || control === null || plan.disabled !== null) {
		const reason = plan.disabled ?? disabled ?? 'actions are disabled';
		for (const group of plan.groups) {
			for (const thread of group.threads) {
				refused.push({tid: thread.tid, code: 'invalid', reason});
			}
		}

		return finish(ctx, plan, outcomes, refused);
	}

	const boundMs = options.boundMs ?? defaultBoundMs;
	const pollMs = options.pollMs ?? defaultPollMs;
	type Running = {
		group: NudgeGroup;
		stop: ActiveStop;
		stoppedAt: number;
		waiting: Map<number, string>;
		done: ThreadOutcome[];
		warnings: string[];
		error: string | null;
		stoppedMs: number;
	};
	const running: Running[] = [];

	try {
		for (const group of plan.groups) {
			const live = readTransitionOf(ctx, plan.transition);
			const self = ctx.self();
			const keep: NudgeGroup['threads'][number][] = [];
			const warnings = new Set<string>();
			for (const thread of group.threads) {
				const checked = checkThread(
					ctx.port,
					{
						tid: thread.tid,
						tgid: group.tgid,
						starttime: thread.starttime,
						state: thread.state,
						patchState: thread.patchState,
					},
					self,
					live,
					ctx.source.kind === 'host',
				);
				if ('code' in checked) {
					refused.push(checked);
				} else if (checked.facts.group.starttime === group.tgidStarttime) {
					keep.push(thread);
					for (const warning of checked.warnings) {
						warnings.add(warning);
					}
				} else {
					refused.push({
						tid: thread.tid,
						code: 'changed',
						reason: `its process ${group.tgid} was replaced since it was shown (start time changed); not signalled`,
					});
				}
			}

			if (keep.length === 0) {
				continue;
			}

			let journalId: string;
			try {
				journalId = ctx.journal.record({
					world: ctx.world,
					tid: keep[0]!.tid,
					tgid: group.tgid,
					starttime: keep[0]!.starttime,
					tgidStarttime: group.tgidStarttime,
					time: Date.now(),
					owner: ctx.owner,
				});
			} catch (error) {
				for (const thread of keep) {
					refused.push({
						tid: thread.tid,
						code: 'invalid',
						reason: `cannot journal the stop (${explainError(error, 'nudge')}): refusing to SIGSTOP without a way to resume after a crash`,
					});
				}

				continue;
			}

			const stop: ActiveStop = {
				control,
				tgid: group.tgid,
				journal: ctx.journal,
				journalId,
				resumed: false,
				stopping: null,
			};
			active.add(stop);
			installHandlers();
			const entry: Running = {
				group: {...group, threads: keep},
				stop,
				stoppedAt: ctx.clock.now(),
				waiting: new Map(keep.map((thread) => [thread.tid, thread.comm])),
				done: [],
				warnings: [...warnings],
				error: null,
				stoppedMs: 0,
			};
			try {
				stop.stopping = control.kill(group.tgid, 'SIGSTOP');
				await stop.stopping;
			} catch (error) {
				stop.resumed = true;
				active.delete(stop);
				ctx.journal.clear(journalId);
				outcomes.push({
					tgid: group.tgid,
					comm: group.comm,
					stopped: false,
					resumed: false,
					stoppedMs: 0,
					threads: [],
					warnings: entry.warnings,
					error: `SIGSTOP failed: ${explainError(error, 'nudge')}`,
				});
				continue;
			}

			running.push(entry);
			options.onStopped?.(entry.group);
		}

		const deadline = ctx.clock.now() + boundMs;
		for (;;) {
			for (const entry of running) {
				observe(ctx, plan.transition, entry, options);
			}

			if (running.every((entry) => entry.waiting.size === 0) || ctx.clock.now() >= deadline) {
				break;
			}

			await ctx.clock.sleep(Math.max(1, Math.min(pollMs, deadline - ctx.clock.now())));
		}
	} finally {
		for (const entry of running) {
			entry.stoppedMs = ctx.clock.now() - entry.stoppedAt;
			entry.error = await resumeStop(entry.stop);
		}

		uninstallHandlers();
	}

	for (const entry of running) {
		const threads = [
			...entry.done,
			...[...entry.waiting].map(([tid, comm]) => ({
				tid,
				comm,
				result: 'not-switched' as const,
				afterMs: entry.stoppedMs,
			})),
		];
		outcomes.push({
			tgid: entry.group.tgid,
			comm: entry.group.comm,
			stopped: true,
			resumed: entry.stop.resumed,
			stoppedMs: entry.stoppedMs,
			threads,
			warnings: entry.warnings,
			error: entry.error,
		});
	}

	return finish(ctx, plan, outcomes, refused);
}

function readTransitionOf(ctx: ActionContext, planned: LiveTransition | null): LiveTransition | null {
	if (planned === null) {
		return null;
	}

	const patch = readLivePatch(ctx.port, planned.patch);
	if (patch === null || !patch.transition) {
		return null;
	}

	return {patch: patch.name, target: patch.enabled ? 1 : 0};
}

type Observable = {
	stoppedAt: number;
	waiting: Map<number, string>;
	done: ThreadOutcome[];
	group: NudgeGroup;
};

function observe(
	ctx: ActionContext,
	planned: LiveTransition | null,
	entry: Observable,
	options: NudgeOptions,
): void {
	const tgid = entry.group.tgid;
	const live = options.isSwitched === undefined ? readTransitionOf(ctx, planned) : planned;
	for (const [tid, comm] of entry.waiting) {
		let result: ThreadResult | null = null;
		if (options.isSwitched !== undefined) {
			result = options.isSwitched({tid, tgid}) ? 'switched' : null;
		} else if (planned === null || live === null) {
			result = 'transition-ended';
		} else if (live.target !== planned.target) {
			result = 'transition-changed';
		} else {
			const state = readPatchState(ctx.port, tgid, tid);
			if (state === null && readStat(ctx.port, `${taskDir(tgid, tid)}/stat`) === null) {
				result = 'exited';
			} else if (state === live.target) {
				result = 'switched';
			} else if (state === -1) {
				result = 'transition-ended';
			}
		}

		if (result !== null) {
			entry.waiting.delete(tid);
			entry.done.push({tid, comm, result, afterMs: ctx.clock.now() - entry.stoppedAt});
		}
	}
}

function finish(
	ctx: ActionContext,
	plan: NudgePlan,
	groups: readonly GroupOutcome[],
	refused: readonly Refusal[],
): NudgeReport {
	const helped = groups
		.flatMap((group) => group.threads)
		.filter((thread) => thread.result !== 'not-switched');
	const signalled = groups.filter((group) => group.stopped).length;
	const failed = groups.some((group) => group.error !== null);
	let result: AuditResult;
	if (signalled === 0) {
		result = groups.length > 0 ? 'failed' : 'refused';
	} else if (
		failed ||
		refused.length > 0 ||
		helped.length < groups.flatMap((group) => group.threads).length
	) {
		result = 'partial';
	} else {
		result = 'ok';
	}

	const tids = [
		...plan.groups.flatMap((group) => group.threads.map((thread) => thread.tid)),
		...plan.refused.map((refusal) => refusal.tid),
	];
	const details = [
		...groups.map(
			(group) =>
				`${group.tgid} ${group.stopped ? `stopped ${group.stoppedMs} ms` : 'not stopped'}` +
				(group.threads.length > 0
					? ` (${group.threads.map((thread) => `${thread.tid} ${thread.result}`).join(', ')})`
					: '') +
				(group.error === null ? '' : `: ${group.error}`),
		),
		...refused.map((refusal) => `${refusal.tid} refused: ${refusal.reason}`),
	];
	const audit = ctx.audit.append({
		action: 'nudge',
		target: `tid ${[...new Set(tids)].join(',')}`,
		result,
		detail: details.join('; '),
		world: ctx.world,
	});
	return {groups, refused, audit};
}

export type RecoveryItem = {
	readonly tid: number;
	readonly tgid: number;
	readonly outcome: 'resumed' | 'gone' | 'reused' | 'not-stopped' | 'in-progress' | 'failed';
	/** Plain words for the operator. */
	readonly text: string;
};

export type RecoveryReport = {
	readonly items: readonly RecoveryItem[];
	readonly problems: readonly string[];
	readonly audit: readonly AuditRecord[];
};

/**
Resume every task a previous klptop left stopped in this world. Call at every start (dashboard and
subcommands) and say what it did. A record is acted on only when its PID still has the recorded
start time, and a SIGCONT is sent only to a task that is stopped (state T) or has our SIGSTOP still
pending (SIGCONT cancels a pending stop: `prepare_signal()` in kernel/signal.c).
*/
export async function recoverStopped(ctx: ActionContext): Promise<RecoveryReport> {
	const {entries, problems} = ctx.journal.list();
	const items: RecoveryItem[] = [];
	const audit: AuditRecord[] = [];
	for (const {id, record} of entries) {
		if (record.world !== ctx.world) {
			continue;
		}

		const {tid, tgid} = record;
		const say = (outcome: RecoveryItem['outcome'], text: string) => {
			items.push({tid, tgid, outcome, text});
		};

		if (ctx.isOwnerAlive(record.owner)) {
			say('in-progress', `${tgid}: a nudge by klptop ${record.owner.pid} is still in progress; left to it`);
			continue;
		}

		const first = readStat(ctx.port, `/proc/${tgid}/stat`);
		if (first === null) {
			ctx.journal.clear(id);
			say('gone', `${tgid}: left stopped by a previous run, has exited since`);
			continue;
		}

		if (first.starttime !== record.tgidStarttime) {
			ctx.journal.clear(id);
			say('reused', `${tgid}: left stopped by a previous run, exited since (the PID now names another task)`);
			continue;
		}

		// Pending signals first, then the state: a SIGSTOP is either still queued, or it has been taken
		// and the task is stopped (the kernel does both under the same lock).
		let pending = false;
		try {
			const status = readStatus(ctx.port, `/proc/${tgid}/status`);
			pending = status !== null && stopPending(status);
		} catch {
			pending = false;
		}

		const leader = readStat(ctx.port, `/proc/${tgid}/stat`);
		const thread = readStat(ctx.port, `${taskDir(tgid, tid)}/stat`);
		const stopped = leader?.state === 'T' || thread?.state === 'T';
		if (leader === null || leader.starttime !== record.tgidStarttime) {
			ctx.journal.clear(id);
			say('gone', `${tgid}: left stopped by a previous run, has exited since`);
			continue;
		}

		if (!stopped && !pending) {
			ctx.journal.clear(id);
			say(
				'not-stopped',
				`${tgid} ${leader.comm}: a previous run's record, but it is not stopped; nothing to do`,
			);
			continue;
		}

		if (ctx.control === null) {
			say('failed', `${tgid} ${leader.comm}: left stopped by a previous run; cannot resume it from here`);
			continue;
		}

		try {
			await ctx.control.kill(tgid, 'SIGCONT');
		} catch (error) {
			if (errorCode(error) === 'ESRCH') {
				ctx.journal.clear(id);
				say('gone', `${tgid}: left stopped by a previous run, has exited since`);
			} else {
				say(
					'failed',
					`${tgid} ${leader.comm}: left stopped by a previous run; SIGCONT failed: ${explainError(error, 'nudge')}`,
				);
			}

			continue;
		}

		ctx.journal.clear(id);
		const text = `${tgid} ${leader.comm}: left stopped by a previous run (stopped ${new Date(record.time).toISOString()}); resumed with SIGCONT`;
		say('resumed', text);
		audit.push(
			ctx.audit.append({
				action: 'recover',
				target: `tid ${tgid}`,
				result: 'ok',
				detail: text,
				world: ctx.world,
			}),
		);
	}

	return {items, problems, audit};
}
