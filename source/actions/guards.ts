/**
Who may be signalled, as pure functions of freshly read facts. Each refusal carries its reason in
plain words, and where something else can still help, says what.

Lessons behind each rule: `shared/docs/peers-and-conventions.md` §7 (kpatch PR #753 skipped only its
own PID; htop #1441 on PID reuse) and `kernel-livepatch.md` §4.4-4.5 (what SIGSTOP/SIGCONT can and
cannot move).
*/
import type {PatchState} from '../model/types.js';
import type {LiveTransition, ProcStat} from './proc.js';
import {PF_KTHREAD} from '../sources/parse.js';

/** klptop's own place in the process tree (real host only). */
export type SelfIdentity = {
	readonly pid: number;
	readonly pgrp: number;
	readonly session: number;
	/** Every ancestor, nearest first: pid -> comm (the shell, tmux/screen, sshd, ...). */
	readonly ancestors: ReadonlyMap<number, string>;
	/** False when part of the chain could not be read: then nothing may be signalled. */
	readonly complete: boolean;
};

/** What was read about one thread just now. */
export type TaskFacts = {
	readonly tid: number;
	readonly tgid: number;
	/** The thread's own `stat`. */
	readonly stat: ProcStat;
	/** The thread group leader's `stat` (process group, session, terminal are per process). */
	readonly group: ProcStat;
	/** Highest TracerPid of the thread and its leader; null when `status` could not be read. */
	readonly tracerPid: number | null;
	readonly patchState: PatchState | null;
};

export type RefusalCode =
	| 'invalid'
	| 'gone'
	| 'changed'
	| 'init'
	| 'self'
	| 'ancestor'
	| 'own-group'
	| 'own-session'
	| 'kthread'
	| 'zombie'
	| 'traced'
	| 'trace-unknown'
	| 'stopped'
	| 'uninterruptible'
	| 'running'
	| 'not-sleeping'
	| 'no-transition'
	| 'not-blocking'
	| 'duplicate';

export type Refusal = {readonly tid: number; readonly code: RefusalCode; readonly reason: string};

const kthreadHelp =
	'what helps instead: wait for the kernel\u2019s own wakeup of kernel threads every 15 s (kernels 5.1 and later), ' +
	'reverse the transition, or force it';

/**
The first rule that forbids signalling this thread's group, or null when none does.
`transition` is the live transition (null: none running).
*/
export function guardTarget(
	facts: TaskFacts,
	self: SelfIdentity | null,
	transition: LiveTransition | null,
): Refusal | null {
	const {tid, tgid, stat, group} = facts;
	const refuse = (code: RefusalCode, reason: string): Refusal => ({tid, code, reason});

	if (tgid === 1 || tid === 1) {
		return refuse('init', 'PID 1 (init): it must never be stopped, and it ignores SIGSTOP from user space');
	}

	if (self !== null) {
		if (!self.complete) {
			return refuse(
				'self',
				'cannot read klptop’s own process tree from /proc, so its shell and connection cannot be protected; ' +
					'nothing is signalled',
			);
		}

		if (tgid === self.pid) {
			return refuse('self', 'klptop itself: stopping it would leave nobody to send SIGCONT');
		}

		const ancestor = self.ancestors.get(tgid);
		if (ancestor !== undefined) {
			return refuse(
				'ancestor',
				`an ancestor of klptop (${tgid} ${ancestor}): stopping it would freeze your own shell or connection`,
			);
		}

		if (self.pgrp > 0 && group.pgrp === self.pgrp) {
			return refuse('own-group', 'in klptop\u2019s own process group: the stop would hit klptop too');
		}

		if (self.session > 0 && group.session === self.session) {
			return refuse(
				'own-session',
				'in klptop\u2019s own session (started from the same terminal): stopping it can freeze your terminal; ' +
					'run klptop from another terminal to nudge it',
			);
		}
	}

	if ((stat.flags & PF_KTHREAD) !== 0 || (group.flags & PF_KTHREAD) !== 0 || tgid === 2 || group.ppid === 2) {
		return refuse('kthread', `a kernel thread: signals do nothing to it; ${kthreadHelp}`);
	}

	if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') {
		return refuse('zombie', 'a zombie (it has exited): there is nothing left to signal');
	}

	if (facts.tracerPid === null) {
		return refuse('trace-unknown', 'cannot tell whether it is being traced (its status is unreadable)');
	}

	if (facts.tracerPid !== 0 || stat.state === 't') {
		return refuse(
			'traced',
			`traced by PID ${facts.tracerPid} (a debugger or strace): SIGSTOP would be reported to the tracer ` +
				'instead of stopping it',
		);
	}

	switch (stat.state) {
		case 'S': {
			break;
		}

		case 'T': {
			return refuse(
				'stopped',
				'already stopped: the kernel switches a stopped task at its next retry (about 1 s); ' +
					'klptop will not send SIGCONT to a task someone else stopped',
			);
		}

		case 'D': {
			return refuse(
				'uninterruptible',
				'in uninterruptible sleep (D): SIGSTOP cannot wake it, so a nudge would not help; ' +
					'what helps instead: wait for its sleep to end, reverse the transition, or force it ' +
					'(a killable sleep also ends on SIGKILL, which kills the process)',
			);
		}

		case 'R': {
			return refuse(
				'running',
				'running (R): it switches by itself at its next return to user space or its next sleep; wait',
			);
		}

		default: {
			return refuse(
				'not-sleeping',
				`in state ${stat.state}: only a task in interruptible sleep (S) can be nudged`,
			);
		}
	}

	if (transition === null) {
		return refuse('no-transition', 'no transition is running: a nudge cannot help');
	}

	if (facts.patchState === null) {
		return refuse(
			'not-blocking',
			'its patch_state is unreadable: cannot tell whether it holds the transition back',
		);
	}

	if (facts.patchState !== (transition.target === 1 ? 0 : 1)) {
		return refuse(
			'not-blocking',
			`not holding the transition back (patch_state ${facts.patchState}, the target is ${transition.target})`,
		);
	}

	return null;
}

/** Things to say before stopping a task that the guards allow. */
export function targetWarnings(facts: TaskFacts): string[] {
	const {group} = facts;
	const warnings: string[] = [];
	if (group.ttyNr !== 0 && group.tpgid === group.pgrp) {
		warnings.push(
			`${facts.tgid} is the foreground job of a terminal: when stopped its shell may print "Stopped" and take ` +
				'the terminal back; after SIGCONT it keeps running in the background until someone types fg',
		);
	}

	return warnings;
}

/** What the dashboard's record said about a thread when it was shown. */
export type ShownThread = {
	readonly tid: number;
	readonly tgid?: number | undefined;
	readonly starttime?: number | undefined;
	readonly state?: string | undefined;
	readonly patchState?: PatchState | null | undefined;
};

/**
Compare a record with fresh facts: the PID-reuse guard. Any difference (start time, thread group,
state, patch_state) means "not the task you saw, or no longer in the state you saw": abort.
*/
export function compareRecord(shown: ShownThread, facts: TaskFacts): Refusal | null {
	const changes: string[] = [];
	if (shown.tgid !== undefined && shown.tgid !== facts.tgid) {
		changes.push(`thread group ${shown.tgid} -> ${facts.tgid}`);
	}

	if (shown.starttime !== undefined && shown.starttime !== facts.stat.starttime) {
		changes.push(`start time ${shown.starttime} -> ${facts.stat.starttime}`);
	}

	if (shown.state !== undefined && shown.state !== facts.stat.state) {
		changes.push(`state ${shown.state} -> ${facts.stat.state}`);
	}

	if (shown.patchState !== undefined && shown.patchState !== facts.patchState) {
		changes.push(`patch_state ${shown.patchState ?? '?'} -> ${facts.patchState ?? '?'}`);
	}

	if (changes.length === 0) {
		return null;
	}

	const reused = shown.starttime !== undefined && shown.starttime !== facts.stat.starttime;
	return {
		tid: facts.tid,
		code: 'changed',
		reason:
			`changed since it was shown (${changes.join(', ')})` +
			(reused ? ': the PID now names another task; not signalled' : '; not signalled, look again'),
	};
}
