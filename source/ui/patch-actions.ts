/**
The action menu of a patch (Enter on a patch): which of reverse, force, disable and enable the
kernel would accept right now, and why not otherwise. Pure; what the actions *do* belongs to the
actions issue (#4), which reuses this list.
*/
import type {PatchInfo, TransitionInfo} from '../model/types.js';

export type PatchActionId = 'reverse' | 'force' | 'disable' | 'enable';

export type PatchAction = {
	readonly id: PatchActionId;
	/** Direct key, the same as in the key map. */
	readonly key: string;
	readonly label: string;
	/** Why the kernel would refuse it now (shown dimmed in the menu), null when it applies. */
	readonly unavailable: string | null;
};

export function patchActions(patch: PatchInfo, transition: TransitionInfo | null): PatchAction[] {
	const own = transition !== null && transition.patch === patch.name;
	const other = transition !== null && !own;
	const busy = other ? `patch '${transition.patch}' is in transition (the kernel answers EBUSY)` : null;
	return [
		{
			id: 'reverse',
			key: 'R',
			label: own
				? `reverse: turn ${transition.direction} into ${transition.direction === 'patching' ? 'unpatching' : 'patching'}`
				: 'reverse the transition',
			unavailable: own ? null : 'no transition of this patch is running',
		},
		{
			id: 'force',
			key: 'F',
			label: 'force the transition (breaks the consistency guarantee)',
			unavailable: !own
				? 'no transition of this patch is running'
				: patch.hasForce
					? null
					: 'this kernel has no force attribute (before 4.16)',
		},
		{
			id: 'disable',
			key: 'D',
			label: 'disable: start unpatching',
			unavailable: own
				? 'it is in transition: reverse it instead'
				: (busy ?? (patch.enabled ? null : 'already disabled')),
		},
		{
			id: 'enable',
			key: 'E',
			label: 'enable again',
			unavailable: own
				? 'it is in transition: reverse it instead'
				: (busy ?? (patch.enabled ? 'already enabled' : null)),
		},
	];
}
