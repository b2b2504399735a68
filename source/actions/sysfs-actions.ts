/**
The patch actions: reverse, force, disable, enable. Each is one write to
`/sys/kernel/livepatch/<patch>/{enabled,force}` (`kernel-livepatch.md` §2.3, §2.4, §4.6).

Planning reads the patch fresh and refuses what would mean something other than what was asked
(disabling a patch that is patching is a reversal; forcing needs a transition of that very patch).
Right before the write the patch is read again and the write is abandoned on any change. What only
the kernel can arbitrate (another transition running: EBUSY; already in that state, or re-enabling
on >= 5.1: EINVAL) is left to the kernel and its answer explained in plain words.
*/
import type {PatchInfo} from '../model/types.js';
import type {AuditRecord} from '../state/audit.js';
import type {ActionContext} from './context.js';
import {explainError} from './errors.js';
import type {ErrorSituation} from './errors.js';
import {livepatchDir, readLivePatch, readLiveTransition, validPatchName} from './proc.js';
import type {LivePatch} from './proc.js';

export type PatchActionKind = 'reverse' | 'force' | 'disable' | 'enable';

export type PatchActionPlan = {
	readonly kind: PatchActionKind;
	readonly patch: string;
	readonly attribute: 'enabled' | 'force';
	readonly value: '0' | '1';
	/** The patch as read when planning; the write is abandoned if it differs right before writing. */
	readonly observed: LivePatch;
	/** One line: what will be written and what it does. */
	readonly summary: string;
	/** Must be shown before confirming (force), null when none. */
	readonly warning: string | null;
	/** `typed-name`: the operator must type the patch name (force); `yes`: a plain yes. */
	readonly confirmation: 'yes' | 'typed-name';
};

export type PatchPlanResult =
	{readonly ok: true; readonly plan: PatchActionPlan} | {readonly ok: false; readonly reason: string};

export type PatchActionReport = {
	readonly ok: boolean;
	/** What happened, or why not, in plain words. */
	readonly text: string;
	readonly audit: AuditRecord;
};

function direction(enabled: boolean): string {
	return enabled ? 'patching' : 'unpatching';
}

/** The force warning, in plain words (peers-and-conventions §7.4; kernel-livepatch §2.4). */
export function forceWarning(patch: string, enabled: boolean): string {
	const base =
		`Forcing marks every task that has not switched yet as switched, without checking its stack: the ` +
		`consistency the livepatch model guarantees is no longer assured (a task may keep running the old ` +
		`code, mixed with the new). Do this only with clearance from the patch's vendor.`;
	const pin = enabled
		? ` On kernels before 5.18 a forced transition also pins every loaded patch module until reboot.`
		: ` This is an UNPATCHING transition: forcing it pins the module of '${patch}' in memory; it can never ` +
			`be unloaded until the next reboot.`;
	return base + pin;
}

/** Decide what `kind` on `patch` would write. `patch` may be omitted for `reverse` (the transition patch). */
export function planPatchAction(ctx: ActionContext, kind: PatchActionKind, patch?: string): PatchPlanResult {
	if (ctx.disabledReason !== null || ctx.control === null) {
		return {ok: false, reason: ctx.disabledReason ?? 'actions are disabled'};
	}

	let name = patch;
	if (name === undefined) {
		if (kind !== 'reverse') {
			return {ok: false, reason: `${kind} needs a patch name`};
		}

		const transition = readLiveTransition(ctx.port);
		if (transition === null) {
			return {ok: false, reason: 'no transition is running: nothing to reverse'};
		}

		name = transition.patch;
	}

	if (!validPatchName(name)) {
		return {ok: false, reason: `'${name}' is not a patch name`};
	}

	const observed = readLivePatch(ctx.port, name);
	if (observed === null) {
		return {ok: false, reason: `no patch '${name}' in ${livepatchDir} (not loaded, or gone)`};
	}

	const hasForce = ctx.port.exists(`${livepatchDir}/${name}/force`);
	const make = (
		attribute: 'enabled' | 'force',
		value: '0' | '1',
		summary: string,
		warning: string | null = null,
	): PatchPlanResult => ({
		ok: true,
		plan: {
			kind,
			patch: name,
			attribute,
			value,
			observed,
			summary,
			warning,
			confirmation: kind === 'force' ? 'typed-name' : 'yes',
		},
	});

	switch (kind) {
		case 'reverse': {
			if (!observed.transition) {
				const other = readLiveTransition(ctx.port);
				return {
					ok: false,
					reason:
						other === null
							? `'${name}' is not in transition: nothing to reverse`
							: `'${name}' is not in transition (the transition patch is '${other.patch}')`,
				};
			}

			const value = observed.enabled ? '0' : '1';
			return make(
				'enabled',
				value,
				observed.enabled
					? `reverse the patching transition of '${name}' (write 0 to enabled): the tasks that switched go ` +
							`back to the old code, and the patch is removed when that completes`
					: `reverse the unpatching transition of '${name}' (write 1 to enabled): the patch stays applied`,
			);
		}

		case 'force': {
			if (!observed.transition) {
				return {ok: false, reason: `'${name}' is not in transition: there is nothing to force`};
			}

			if (!hasForce) {
				return {ok: false, reason: `this kernel has no force attribute for '${name}' (it appeared in 4.16)`};
			}

			return make(
				'force',
				'1',
				`force the ${direction(observed.enabled)} transition of '${name}' (write 1 to force)`,
				forceWarning(name, observed.enabled),
			);
		}

		case 'disable': {
			if (observed.transition && observed.enabled) {
				return {
					ok: false,
					reason: `'${name}' is still patching: writing 0 would reverse that transition; use reverse`,
				};
			}

			if (observed.transition) {
				return {ok: false, reason: `'${name}' is already unpatching`};
			}

			return make(
				'enabled',
				'0',
				`disable '${name}' (write 0 to enabled): starts an unpatching transition; when it completes the ` +
					`patch is removed`,
			);
		}

		case 'enable': {
			if (observed.transition && !observed.enabled) {
				return {
					ok: false,
					reason: `'${name}' is unpatching: writing 1 would reverse that transition; use reverse`,
				};
			}

			if (observed.transition) {
				return {ok: false, reason: `'${name}' is already patching`};
			}

			return make(
				'enabled',
				'1',
				observed.enabled
					? `enable '${name}' (write 1 to enabled); it is already enabled, so the kernel will refuse`
					: `enable '${name}' (write 1 to enabled); kernels 5.1 and later refuse to re-enable a ` +
							`disabled patch (EINVAL): load the patch module again instead`,
			);
		}
	}
}

/**
Carry out a plan. `confirm` must equal the patch name for `force` (a bare "y" never forces).
Re-reads the patch right before writing and abandons the write if anything changed.
*/
export async function executePatchAction(
	ctx: ActionContext,
	plan: PatchActionPlan,
	options: {readonly confirm?: string} = {},
): Promise<PatchActionReport> {
	const done = (ok: boolean, text: string, result: 'ok' | 'refused' | 'failed'): PatchActionReport => ({
		ok,
		text,
		audit: ctx.audit.append({action: plan.kind, target: plan.patch, result, detail: text, world: ctx.world}),
	});

	const control = ctx.control;
	if (ctx.disabledReason !== null || control === null) {
		return done(false, ctx.disabledReason ?? 'actions are disabled', 'refused');
	}

	if (plan.confirmation === 'typed-name' && options.confirm !== plan.patch) {
		return done(
			false,
			options.confirm === undefined
				? `forcing needs the patch name typed as confirmation (--confirm ${plan.patch})`
				: `the confirmation '${options.confirm}' does not match the patch name '${plan.patch}': not forced`,
			'refused',
		);
	}

	let now: LivePatch | null;
	try {
		now = readLivePatch(ctx.port, plan.patch);
	} catch (error) {
		return done(false, `cannot read '${plan.patch}': ${explainError(error, situationOf(plan))}`, 'failed');
	}

	if (now === null) {
		return done(false, `'${plan.patch}' is gone (unloaded meanwhile): nothing written`, 'refused');
	}

	if (now.enabled !== plan.observed.enabled || now.transition !== plan.observed.transition) {
		return done(
			false,
			`'${plan.patch}' changed since it was shown (enabled ${Number(plan.observed.enabled)} -> ` +
				`${Number(now.enabled)}, transition ${Number(plan.observed.transition)} -> ${Number(now.transition)}): ` +
				'nothing written; look again',
			'refused',
		);
	}

	try {
		await control.write(`${livepatchDir}/${plan.patch}/${plan.attribute}`, plan.value);
	} catch (error) {
		return done(
			false,
			`${plan.kind} '${plan.patch}' failed: ${explainError(error, situationOf(plan))}`,
			'failed',
		);
	}

	return done(true, successText(plan), 'ok');
}

function situationOf(plan: PatchActionPlan): ErrorSituation {
	if (plan.kind === 'enable') {
		return plan.observed.enabled ? 'enable-enabled' : 'enable-disabled';
	}

	return plan.kind;
}

function successText(plan: PatchActionPlan): string {
	const {patch, observed} = plan;
	switch (plan.kind) {
		case 'reverse': {
			return observed.enabled
				? `reversed the patching transition of '${patch}' (wrote 0 to enabled): it is unpatching now`
				: `reversed the unpatching transition of '${patch}' (wrote 1 to enabled): it is patching again`;
		}

		case 'force': {
			return (
				`forced the ${direction(observed.enabled)} transition of '${patch}' (wrote 1 to force): the remaining ` +
				'tasks are marked switched; it completes at the kernel\u2019s next retry (about 1 s)' +
				(observed.enabled ? '' : `; the module of '${patch}' stays pinned until reboot`)
			);
		}

		case 'disable': {
			return `disabled '${patch}' (wrote 0 to enabled): an unpatching transition started`;
		}

		case 'enable': {
			return `enabled '${patch}' (wrote 1 to enabled): a patching transition started`;
		}
	}
}

export type PatchMenuItem = {
	readonly kind: PatchActionKind;
	readonly available: boolean;
	/** Why it is not offered, or a note on what it does. */
	readonly note: string;
};

/** The patch panel's action menu for one patch, from the latest snapshot (planning re-reads before acting). */
export function patchMenu(patch: PatchInfo): PatchMenuItem[] {
	const {enabled, transition} = patch;
	return [
		{
			kind: 'reverse',
			available: transition,
			note: transition
				? `write ${enabled ? 0 : 1} to enabled: ${enabled ? 'unpatch' : 'patch'} back`
				: 'not in transition',
		},
		{
			kind: 'force',
			available: transition && patch.hasForce,
			note: !transition
				? 'only while this patch is in transition'
				: patch.hasForce
					? 'breaks the consistency guarantee; asks for the patch name'
					: 'this kernel has no force attribute (before 4.16)',
		},
		{
			kind: 'disable',
			available: enabled && !transition,
			note: transition ? 'in transition: use reverse' : enabled ? 'start unpatching' : 'already disabled',
		},
		{
			kind: 'enable',
			available: !enabled && !transition,
			note: transition
				? 'in transition: use reverse'
				: enabled
					? 'already enabled'
					: 'kernels 5.1 and later refuse to re-enable a disabled patch',
		},
	];
}
