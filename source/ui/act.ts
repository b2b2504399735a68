/**
The dashboard's side of the actions: which threads a nudge key means, and carrying out a plan the
operator confirmed. Planning and acting are the engine's (`source/actions`), with the same guards
as the subcommands; this file only chooses the targets, opens the dialog and reports the result
(status line + event log, with the audit entry).
*/
import {
	auditEvent,
	executeNudge,
	executePatchAction,
	nudgeResult,
	nudgeableBlockers,
	patchMenu,
	planNudge,
	planPatchAction,
	recoveryResult,
	targetOf,
} from '../actions/index.js';
import type {ActionContext, AuditRecord, NudgeTarget, PatchActionKind} from '../actions/index.js';
import {blockerKey, threadOfKey} from '../model/types.js';
import type {HistoryEvent} from '../model/types.js';
import {actionGuard} from '../keymap.js';
import type {CommandId} from '../keymap.js';
import {keyContext} from '../dashboard/state.js';
import type {Status, UiAction, UiState} from '../dashboard/state.js';

type Dispatch = (action: UiAction) => void;

/**
The threads `k` means: the tagged rows when any are tagged, else the selected row (a process row:
its blocking threads), or the thread of the open detail view. Each as recorded when shown.
*/
export function nudgeTargets(state: UiState): NudgeTarget[] {
	const history = state.history;
	if (history === null) return [];
	const {blockers} = history.snapshot;
	const byKey = (key: string): NudgeTarget[] => {
		if (key.startsWith('p:')) {
			const tgid = Number(key.slice(2));
			return blockers.filter((blocker) => blocker.tgid === tgid).map((blocker) => targetOf(blocker));
		}

		const found =
			blockers.find((blocker) => blockerKey(blocker) === key) ?? threadOfKey(history.snapshot, key);
		return found === null ? [] : [targetOf(found)];
	};

	if (state.screen.kind === 'task-detail' && state.detail !== null) {
		return [targetOf(state.detail.thread)];
	}

	if (state.tagged.size > 0) {
		return [...state.tagged].flatMap((key) => byKey(key));
	}

	const row = state.rows.at(state.selected.index);
	if (row === undefined || row.kind === 'group') return [];
	return byKey(row.key);
}

function auditEvents(record: AuditRecord, patch: string | null = null): HistoryEvent[] {
	const events = [auditEvent(record.entry, patch)];
	if (!record.stored && record.error !== null) {
		events.push({time: record.entry.time, kind: 'warning', patch: null, tid: null, text: record.error});
	}

	return events;
}

function warn(text: string): Status {
	return {text, tone: 'warn'};
}

/**
Which patch a patch key means: the open patch detail, the running transition (R, F), the selected
patch, or from the task table the patch the selected thread holds back; else why none.
*/
function patchFor(state: UiState, kind: PatchActionKind): {patch: string} | {reason: string} {
	if (state.screen.kind === 'patch-detail') return {patch: state.screen.name};
	const transition = state.history?.snapshot.transition?.patch ?? null;
	if (kind === 'reverse' || kind === 'force') {
		const patch = transition ?? state.patch;
		return patch === null ? {reason: 'no patch selected'} : {patch};
	}

	if (state.focus === 'patches')
		return state.patch === null ? {reason: 'no patch selected'} : {patch: state.patch};
	const row = state.focus === 'tasks' ? state.rows.at(state.selected.index) : undefined;
	if (row !== undefined && row.blocker !== null && transition !== null) return {patch: transition};
	return {
		reason:
			state.focus === 'tasks'
				? 'the selected row holds back no patch: select a patch in the patches pane (Tab)'
				: 'select a patch in the patches pane (Tab) or a thread that holds one back',
	};
}

function openPatchDialog(ctx: ActionContext, kind: PatchActionKind, patch: string, dispatch: Dispatch): void {
	const planned = planPatchAction(ctx, kind, patch);
	if (!planned.ok) {
		dispatch({type: 'status', text: `${kind} ${patch}: ${planned.reason}`, tone: 'warn'});
		return;
	}

	dispatch({type: 'dialog', dialog: {kind: 'patch', plan: planned.plan, typed: ''}});
}

/**
Carry out an action request (a key map binding with `request`) in `state`. Asynchronous parts (the nudge's wait, the writes)
report through `dispatch` when they end; the UI keeps drawing meanwhile.
*/
export function perform(id: CommandId, state: UiState, ctx: ActionContext | null, dispatch: Dispatch): void {
	if (ctx === null) {
		dispatch({type: 'status', text: 'actions are not available for this source', tone: 'warn'});
		return;
	}

	switch (id) {
		case 'nudge':
		case 'nudge-all': {
			const targets =
				id === 'nudge' ? nudgeTargets(state) : nudgeableBlockers(state.history?.snapshot.blockers ?? []);
			if (targets.length === 0) {
				dispatch({
					type: 'status',
					text:
						id === 'nudge'
							? 'no thread selected to nudge'
							: 'no blocker a nudge can help (none is an interruptible sleeper)',
					tone: 'warn',
				});
				return;
			}

			const plan = planNudge(ctx, targets);
			if (plan.groups.length === 0) {
				// Nothing will be signalled: the refusal is the action's result (audited, logged), and the
				// dialog shows every reason in full until dismissed.
				const first = plan.refused[0];
				dispatch({
					type: 'dialog',
					dialog: {kind: 'nudge', plan},
					status: warn(
						first === undefined ? 'nothing to nudge' : `not nudged: tid ${first.tid}: ${first.reason}`,
					),
				});
				void executeNudge(ctx, plan).then((report) => {
					dispatch({type: 'action-result', status: null, events: auditEvents(report.audit)});
				});
				return;
			}

			const skipped =
				id === 'nudge-all' ? (state.history?.snapshot.blockers.length ?? 0) - targets.length : 0;
			dispatch({
				type: 'dialog',
				dialog: {kind: 'nudge', plan},
				status:
					skipped > 0
						? {
								text: `${skipped} other blocker${skipped === 1 ? '' : 's'} left out: a nudge cannot help (kernel thread, D sleep, running); Enter on it says what does`,
								tone: 'info',
							}
						: null,
			});
			return;
		}

		case 'reverse':
		case 'force':
		case 'disable':
		case 'enable': {
			const target = patchFor(state, id);
			if ('reason' in target) {
				dispatch({type: 'status', text: `${id}: ${target.reason}`, tone: 'warn'});
				return;
			}

			openPatchDialog(ctx, id, target.patch, dispatch);
			return;
		}

		case 'action-menu-run': {
			if (state.screen.kind !== 'patch-detail') return;
			const name = state.screen.name;
			const patch = state.history?.snapshot.patches.find((candidate) => candidate.name === name) ?? null;
			if (patch === null) {
				dispatch({type: 'status', text: 'the patch is gone', tone: 'warn'});
				return;
			}

			const item = patchMenu(patch)[state.screen.menu];
			if (item === undefined) return;
			if (!item.available) {
				dispatch({type: 'status', text: `${item.kind}: ${item.note}`, tone: 'warn'});
				return;
			}

			const refused = actionGuard(keyContext(state));
			if (refused !== null) {
				dispatch({type: 'status', text: refused, tone: 'warn'});
				return;
			}

			openPatchDialog(ctx, item.kind, name, dispatch);
			return;
		}

		case 'dialog-confirm':
		case 'dialog-submit': {
			confirm(id, state, ctx, dispatch);
			return;
		}

		default: {
			return;
		}
	}
}

function confirm(
	id: 'dialog-confirm' | 'dialog-submit',
	state: UiState,
	ctx: ActionContext,
	dispatch: Dispatch,
): void {
	const {dialog} = state;
	if (dialog === null) return;
	if (dialog.kind === 'nudge') {
		if (id !== 'dialog-confirm') return;
		const {plan} = dialog;
		if (plan.groups.length === 0) {
			dispatch({type: 'dialog', dialog: null, status: warn('nothing to nudge: every thread was refused')});
			return;
		}

		const pids = plan.groups.map((group) => group.tgid).join(', ');
		dispatch({type: 'busy', text: `nudging pid ${pids}... (SIGSTOP, waiting for the switch, SIGCONT)`});
		void executeNudge(ctx, plan).then(
			(report) => {
				const result = nudgeResult(report);
				// Results first, then reasons and warnings.
				const text = [
					...result.lines.filter((line) => line.stream === 'out'),
					...result.lines.filter((line) => line.stream === 'err'),
				].map((line) => line.text);
				// One status line cannot hold a dozen results (A): each goes to the event log, the status
				// line keeps the first and says where the rest are.
				const {time} = report.audit.entry;
				const resultEvents = text.map((line): HistoryEvent => ({
					time,
					kind: 'action',
					patch: null,
					tid: null,
					text: line,
				}));
				const summary =
					text.length > 1
						? `${text[0]} (+${text.length - 1} more in the event log)`
						: (text[0] ?? 'nudge done');
				dispatch({
					type: 'action-result',
					status: {text: summary, tone: result.code === 0 ? 'info' : 'warn'},
					// The results before the audit entry, which stays the newest line of the action.
					events: [...(text.length > 1 ? resultEvents : []), ...auditEvents(report.audit)],
				});
			},
			(error: unknown) => {
				dispatch({
					type: 'action-result',
					status: {text: `nudge failed: ${String(error)}`, tone: 'error'},
					events: [],
				});
			},
		);
		return;
	}

	const {plan, typed} = dialog;
	// `y` never forces: force takes the typed name and Enter (`dialog-submit`) only.
	if (plan.confirmation === 'typed-name' ? id !== 'dialog-submit' : id !== 'dialog-confirm') return;
	if (plan.confirmation === 'typed-name' && typed !== plan.patch) {
		dispatch({
			type: 'status',
			text: `the name typed does not match '${plan.patch}': type it exactly (Esc cancels)`,
			tone: 'warn',
		});
		return;
	}

	dispatch({type: 'busy', text: `${plan.kind} ${plan.patch}...`});
	void executePatchAction(ctx, plan, plan.confirmation === 'typed-name' ? {confirm: typed} : {}).then(
		(report) => {
			dispatch({
				type: 'action-result',
				status: {text: report.text, tone: report.ok ? 'info' : 'error'},
				events: auditEvents(report.audit, plan.patch),
			});
		},
		(error: unknown) => {
			dispatch({
				type: 'action-result',
				status: {text: `${plan.kind} failed: ${String(error)}`, tone: 'error'},
				events: [],
			});
		},
	);
}

/** At start: resume what a crashed previous run left stopped, and say so in the event log. */
export async function recoverAtStart(ctx: ActionContext, dispatch: Dispatch): Promise<void> {
	const {messages, report} = await recoveryResult(ctx);
	if (messages.length === 0 && report.audit.length === 0) return;
	const now = Date.now();
	const events: HistoryEvent[] = [
		...report.audit.flatMap((record) => auditEvents(record)),
		...messages.map((text): HistoryEvent => ({
			time: now,
			kind: 'action',
			patch: null,
			tid: null,
			text,
		})),
	];
	dispatch({
		type: 'action-result',
		status: messages.length === 0 ? null : {text: messages[0]!, tone: 'warn'},
		events,
	});
}
