/**
The action subcommands for scripts, as functions `cli` wires in:

  klptop nudge TID...            klptop reverse [PATCH]        klptop force PATCH --confirm PATCH
  klptop disable PATCH           klptop enable PATCH

Same plan, guards, journal and audit as the dashboard's keys. Each returns the lines to print
(results on stdout, reasons, refusals and warnings on stderr) and the exit code: 0 done, 1 refused
or failed (the reason is on stderr), 2 usage. Every string from the kernel or a process goes
through `clean()`.
*/
import {clean} from '../model/sanitize.js';
import type {AuditEntry} from '../state/audit.js';
import type {ActionContext} from './context.js';
import {executeNudge, recoverStopped} from './nudge.js';
import type {NudgeOptions, NudgeReport, RecoveryReport} from './nudge.js';
import {planNudge} from './plan.js';
import {executePatchAction, planPatchAction} from './sysfs-actions.js';
import type {PatchActionKind} from './sysfs-actions.js';

export type CommandOutput = {
	readonly code: 0 | 1 | 2;
	readonly stdout: readonly string[];
	readonly stderr: readonly string[];
	readonly audit: readonly AuditEntry[];
};

export const actionCommands = ['nudge', 'reverse', 'force', 'disable', 'enable'] as const;
export type ActionCommand = (typeof actionCommands)[number];

export function isActionCommand(name: string | undefined): name is ActionCommand {
	return (actionCommands as readonly string[]).includes(name ?? '');
}

export type CommandArgs = {
	/** Positional arguments after the command name. */
	readonly input: readonly string[];
	/** `--confirm PATCH` (force). */
	readonly confirm?: string | undefined;
	/** For tests and the emulator (injected switch check, shorter bound). */
	readonly nudge?: NudgeOptions;
};

const usage: Record<ActionCommand, string> = {
	nudge: 'klptop nudge TID...',
	reverse: 'klptop reverse [PATCH]',
	force: 'klptop force PATCH --confirm PATCH',
	disable: 'klptop disable PATCH',
	enable: 'klptop enable PATCH',
};

/**
Run one action subcommand: first resume whatever a previous run left stopped (and say so), then act.
*/
export async function runActionCommand(
	ctx: ActionContext,
	command: ActionCommand,
	args: CommandArgs,
): Promise<CommandOutput> {
	const recovery = await recoveryLines(ctx);
	const result = await dispatch(ctx, command, args);
	return {
		code: result.code,
		stdout: result.stdout,
		stderr: [...recovery.lines, ...result.stderr],
		audit: [...recovery.report.audit.map((record) => record.entry), ...result.audit],
	};
}

async function dispatch(
	ctx: ActionContext,
	command: ActionCommand,
	args: CommandArgs,
): Promise<CommandOutput> {
	const bad = (message: string): CommandOutput => ({
		code: 2,
		stdout: [],
		stderr: [`klptop: ${message} (usage: ${usage[command]})`],
		audit: [],
	});

	if (command === 'nudge') {
		if (args.input.length === 0) {
			return bad('nudge needs at least one thread id');
		}

		const tids: number[] = [];
		for (const text of args.input.flatMap((part) => part.split(','))) {
			if (!/^\d+$/.test(text.trim())) {
				return bad(`'${clean(text)}' is not a thread id`);
			}

			tids.push(Number(text.trim()));
		}

		return nudgeCommand(ctx, tids, args.nudge);
	}

	if (args.input.length > 1) {
		return bad(`${command} takes one patch name`);
	}

	const patch = args.input[0];
	if (patch === undefined && command !== 'reverse') {
		return bad(`${command} needs a patch name`);
	}

	if (command !== 'force' && args.confirm !== undefined) {
		return bad('--confirm is only for force');
	}

	return patchCommand(ctx, command, patch, args.confirm);
}

/** `klptop nudge TID...`. */
export async function nudgeCommand(
	ctx: ActionContext,
	tids: readonly number[],
	options: NudgeOptions = {},
): Promise<CommandOutput> {
	const plan = planNudge(
		ctx,
		tids.map((tid) => ({tid})),
	);
	const stderr: string[] = [];
	for (const group of plan.groups) {
		for (const warning of group.warnings) {
			stderr.push(`klptop: warning: ${clean(warning)}`);
		}
	}

	const report = await executeNudge(ctx, plan, options);
	return {...nudgeLines(report, stderr), audit: [report.audit.entry]};
}

function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(2)} s`;
}

/**
One line of an action's result, before a front end formats it: `out` is a result, `err` a reason,
refusal or warning. The text is clean and carries no prefix: the CLI prints `err` lines on stderr
after `klptop: `, the dashboard shows them in its status line and event log as they are.
*/
export type ResultLine = {readonly stream: 'out' | 'err'; readonly text: string};

/** What a nudge did, line by line (code 0: every thread switched or the transition ended). */
export type NudgeResult = {readonly code: 0 | 1; readonly lines: readonly ResultLine[]};

/** A nudge report as result lines (the CLI's `nudgeLines` and the dashboard both read these). */
export function nudgeResult(report: NudgeReport): NudgeResult {
	const lines: ResultLine[] = [];
	const out = (text: string) => lines.push({stream: 'out', text});
	const err = (text: string) => lines.push({stream: 'err', text});
	let failed = report.refused.length > 0;
	for (const group of report.groups) {
		const name = `${group.tgid} (${clean(group.comm)})`;
		if (!group.stopped) {
			failed = true;
			err(`not nudged ${name}: ${clean(group.error ?? 'not stopped')}`);
			continue;
		}

		for (const thread of group.threads) {
			const who = thread.tid === group.tgid ? name : `thread ${thread.tid} of ${name}`;
			switch (thread.result) {
				case 'switched': {
					out(`nudged ${who}: switched after ${seconds(thread.afterMs)}`);
					break;
				}

				case 'transition-ended': {
					out(`nudged ${who}: the transition ended after ${seconds(thread.afterMs)}`);
					break;
				}

				case 'transition-changed': {
					out(`nudged ${who}: the transition was reversed meanwhile`);
					break;
				}

				case 'exited': {
					out(`nudged ${who}: it exited`);
					break;
				}

				case 'not-switched': {
					failed = true;
					out(`nudged ${who}: not switched within ${seconds(thread.afterMs)}`);
					err(
						`${who} did not switch while stopped: it may be sleeping in a patched function in a way ` +
							'a stop does not interrupt; reverse the transition or force it',
					);
					break;
				}
			}
		}

		if (group.error === null) {
			out(`resumed ${name} after ${seconds(group.stoppedMs)} stopped`);
		} else {
			failed = true;
			err(`${name}: ${clean(group.error)}`);
		}
	}

	for (const refusal of report.refused) {
		err(`not nudging ${refusal.tid}: ${clean(refusal.reason)}`);
	}

	if (!report.audit.stored && report.audit.error !== null) {
		err(`warning: ${clean(report.audit.error)}`);
	}

	return {code: failed ? 1 : 0, lines};
}

/** The CLI's lines for a nudge report: results on stdout, the rest on stderr after `klptop: `. */
export function nudgeLines(
	report: NudgeReport,
	stderr: string[] = [],
): {code: 0 | 1; stdout: string[]; stderr: string[]} {
	const result = nudgeResult(report);
	const stdout: string[] = [];
	for (const line of result.lines) {
		if (line.stream === 'out') stdout.push(line.text);
		else stderr.push(`klptop: ${line.text}`);
	}

	return {code: result.code, stdout, stderr};
}

/** `klptop reverse|force|disable|enable [PATCH]`. */
export async function patchCommand(
	ctx: ActionContext,
	kind: PatchActionKind,
	patch: string | undefined,
	confirm?: string,
): Promise<CommandOutput> {
	const planned = planPatchAction(ctx, kind, patch);
	if (!planned.ok) {
		const record = ctx.audit.append({
			action: kind,
			target: patch ?? '',
			result: 'refused',
			detail: planned.reason,
			world: ctx.world,
		});
		return {code: 1, stdout: [], stderr: [`klptop: ${clean(planned.reason)}`], audit: [record.entry]};
	}

	const {plan} = planned;
	const stderr: string[] = [];
	if (plan.warning !== null) {
		stderr.push(`klptop: warning: ${clean(plan.warning)}`);
	}

	const report = await executePatchAction(ctx, plan, confirm === undefined ? {} : {confirm});
	if (!report.audit.stored && report.audit.error !== null) {
		stderr.push(`klptop: warning: ${clean(report.audit.error)}`);
	}

	return report.ok
		? {code: 0, stdout: [clean(report.text)], stderr, audit: [report.audit.entry]}
		: {
				code: 1,
				stdout: [],
				stderr: [...stderr, `klptop: ${clean(report.text)}`],
				audit: [report.audit.entry],
			};
}

/** Run recovery and phrase it, without prefix: "resumed 1234 (cat), left stopped by a previous run". */
export async function recoveryResult(
	ctx: ActionContext,
): Promise<{messages: string[]; report: RecoveryReport}> {
	const report = await recoverStopped(ctx);
	const messages = [
		...report.items
			.filter(
				(item) => item.outcome !== 'not-stopped' && item.outcome !== 'gone' && item.outcome !== 'reused',
			)
			.map((item) => clean(item.text)),
		...report.problems.map((problem) => clean(problem)),
	];
	return {messages, report};
}

/** Recovery as the CLI prints it (stderr, after `klptop: `). */
export async function recoveryLines(ctx: ActionContext): Promise<{lines: string[]; report: RecoveryReport}> {
	const {messages, report} = await recoveryResult(ctx);
	return {lines: messages.map((message) => `klptop: ${message}`), report};
}
