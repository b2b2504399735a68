/**
Deciding a nudge: read fresh facts for every requested thread, compare them with what was shown,
run the guards, and group what is left by thread group (a signal to a TID acts on the whole
process, so each process is stopped once).

A plan is what the dashboard's confirmation lists ("will stop: ...; refused: ...; warnings: ...")
and what `executeNudge()` re-checks, fact by fact, right before each SIGSTOP.
*/
import type {Blocker, ThreadInfo} from '../model/types.js';
import type {FsPort} from '../sources/fs-port.js';
import type {ActionContext} from './context.js';
import {compareRecord, guardTarget, targetWarnings} from './guards.js';
import type {Refusal, SelfIdentity, ShownThread, TaskFacts} from './guards.js';
import {findTgid, readLiveTransition, readPatchState, readStat, readStatus, taskDir} from './proc.js';
import type {LiveTransition} from './proc.js';

/** One thread to nudge as recorded when it was shown (a `ThreadInfo`), or a bare TID from the command line. */
export type NudgeTarget = ShownThread;

export type PlannedThread = {
	readonly tid: number;
	readonly comm: string;
	readonly starttime: number;
	readonly state: string;
	readonly patchState: 0 | 1;
};

export type NudgeGroup = {
	readonly tgid: number;
	readonly tgidStarttime: number;
	readonly comm: string;
	/** The blocking threads of this group that asked to be nudged. */
	readonly threads: readonly PlannedThread[];
	readonly warnings: readonly string[];
};

export type NudgePlan = {
	readonly transition: LiveTransition | null;
	readonly groups: readonly NudgeGroup[];
	readonly refused: readonly Refusal[];
	/** Why nothing at all may be signalled (actions disabled), null otherwise. */
	readonly disabled: string | null;
};

/**
Read what the guards need about one thread, null when it is gone. `strict`: an unreadable `status`
leaves the tracer unknown (the host always has one); emulated worlds that do not model tracing
(no `status` files) pass `strict = false` and count as untraced.
*/
export function readTaskFacts(port: FsPort, tid: number, tgid: number, strict = true): TaskFacts | null {
	const stat = readStat(port, `${taskDir(tgid, tid)}/stat`);
	if (stat === null) {
		return null;
	}

	const group = tid === tgid ? stat : readStat(port, `/proc/${tgid}/stat`);
	if (group === null) {
		return null;
	}

	const statusOf = (file: string) => {
		try {
			return readStatus(port, file);
		} catch {
			return null;
		}
	};

	const own = statusOf(`${taskDir(tgid, tid)}/status`);
	const leader = tid === tgid ? own : statusOf(`/proc/${tgid}/status`);
	const tracers = [own?.tracerPid, leader?.tracerPid].map((value) => value ?? (strict ? null : 0));
	const tracerPid = tracers.includes(null) ? null : Math.max(...(tracers as number[]));
	return {tid, tgid, stat, group, tracerPid, patchState: readPatchState(port, tgid, tid)};
}

/** Check one thread now: fresh facts, record comparison, guards. */
export function checkThread(
	port: FsPort,
	target: NudgeTarget,
	self: SelfIdentity | null,
	transition: LiveTransition | null,
	strict = true,
): {readonly facts: TaskFacts; readonly warnings: string[]} | Refusal {
	const {tid} = target;
	if (!Number.isSafeInteger(tid) || tid <= 0) {
		return {tid, code: 'invalid', reason: `${String(tid)} is not a thread id`};
	}

	const tgid = target.tgid ?? findTgid(port, tid);
	if (tgid === null || !Number.isSafeInteger(tgid) || tgid <= 0) {
		return {tid, code: 'gone', reason: 'no such thread (it has exited, or never existed)'};
	}

	const facts = readTaskFacts(port, tid, tgid, strict);
	if (facts === null) {
		return {tid, code: 'gone', reason: 'has exited'};
	}

	const changed = compareRecord(target, facts);
	if (changed !== null) {
		return changed;
	}

	const refused = guardTarget(facts, self, transition);
	if (refused !== null) {
		return refused;
	}

	return {facts, warnings: targetWarnings(facts)};
}

/** Plan a nudge of `targets` (one confirmation covers the whole plan). */
export function planNudge(ctx: ActionContext, targets: readonly NudgeTarget[]): NudgePlan {
	if (ctx.disabledReason !== null || ctx.control === null) {
		return {
			transition: null,
			groups: [],
			refused: targets.map((target) => ({
				tid: target.tid,
				code: 'invalid',
				reason: ctx.disabledReason ?? 'actions are disabled',
			})),
			disabled: ctx.disabledReason ?? 'actions are disabled',
		};
	}

	const transition = readLiveTransition(ctx.port);
	const self = ctx.self();
	const groups = new Map<
		number,
		{tgidStarttime: number; comm: string; threads: PlannedThread[]; warnings: string[]}
	>();
	const refused: Refusal[] = [];
	const seen = new Set<number>();
	for (const target of targets) {
		if (seen.has(target.tid)) {
			continue;
		}

		seen.add(target.tid);
		const checked = checkThread(ctx.port, target, self, transition, ctx.source.kind === 'host');
		if ('code' in checked) {
			refused.push(checked);
			continue;
		}

		const {facts, warnings} = checked;
		let group = groups.get(facts.tgid);
		if (group === undefined) {
			group = {tgidStarttime: facts.group.starttime, comm: facts.group.comm, threads: [], warnings};
			groups.set(facts.tgid, group);
		}

		group.threads.push({
			tid: facts.tid,
			comm: facts.stat.comm,
			starttime: facts.stat.starttime,
			state: facts.stat.state,
			patchState: facts.patchState as 0 | 1,
		});
	}

	return {
		transition,
		groups: [...groups].map(([tgid, group]) => ({tgid, ...group})),
		refused,
		disabled: null,
	};
}

/** The record a dashboard row carries into a nudge: (tid, tgid, starttime) plus state and patch_state. */
export function targetOf(thread: ThreadInfo): NudgeTarget {
	return {
		tid: thread.tid,
		tgid: thread.tgid,
		starttime: thread.starttime,
		state: thread.state,
		patchState: thread.patchState,
	};
}

/** "Nudge all nudgeable blockers": the blockers whose remedies include a nudge. */
export function nudgeableBlockers(blockers: readonly Blocker[]): NudgeTarget[] {
	return blockers.filter((blocker) => blocker.remedies.includes('nudge')).map((blocker) => targetOf(blocker));
}
