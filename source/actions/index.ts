/**
The action engine's public side, for the CLI and the dashboard (same code, same guards):

```ts
const ctx = createActionContext({source, port, readonly: flags.readonly, control, clock});
const recovery = await recoveryLines(ctx); // at every start: say what a crashed run left stopped
// subcommands
const out = await runActionCommand(ctx, 'nudge', {input: ['182']});
// dashboard: k on a row / tagged rows / all nudgeable blockers
const plan = planNudge(ctx, nudgeableBlockers(snapshot.blockers)); // list plan.groups + plan.refused, confirm
const report = await executeNudge(ctx, plan); // report.audit.entry -> auditEvent() for the event log
// patch panel: Enter on a patch
patchMenu(patchInfo); planPatchAction(ctx, 'force', name); executePatchAction(ctx, plan, {confirm: typed});
```
*/
export {createActionContext, realClock} from './context.js';
export type {ActionContext, ActionContextOptions, Clock, ProcessRef} from './context.js';
export {
	actionCommands,
	isActionCommand,
	nudgeLines,
	nudgeResult,
	recoveryLines,
	recoveryResult,
	runActionCommand,
} from './commands.js';
export type {ActionCommand, CommandArgs, CommandOutput, NudgeResult, ResultLine} from './commands.js';
export type {Refusal, RefusalCode, SelfIdentity, ShownThread, TaskFacts} from './guards.js';
export {executeNudge, recoverStopped} from './nudge.js';
export type {
	GroupOutcome,
	NudgeOptions,
	NudgeReport,
	RecoveryItem,
	RecoveryReport,
	ThreadOutcome,
} from './nudge.js';
export {nudgeableBlockers, planNudge, targetOf} from './plan.js';
export type {NudgeGroup, NudgePlan, NudgeTarget, PlannedThread} from './plan.js';
export {executePatchAction, patchMenu, planPatchAction} from './sysfs-actions.js';
export {validPatchName} from './proc.js';
export type {
	PatchActionKind,
	PatchActionPlan,
	PatchActionReport,
	PatchMenuItem,
	PatchPlanResult,
} from './sysfs-actions.js';
export {auditEvent} from '../state/audit.js';
export type {AuditEntry, AuditRecord} from '../state/audit.js';
