/**
The action menu of a patch (Enter on a patch) as the patch detail shows it: the engine's
`patchMenu()` (reverse, force, disable, enable; which apply to this patch now, and why not
otherwise) with the direct key and a label for each. What only the kernel can arbitrate (another
patch in transition: EBUSY; re-enabling on >= 5.1: EINVAL) is left to the kernel, whose answer the
dashboard shows in plain words.
*/
import {patchMenu} from '../actions/index.js';
import type {PatchActionKind} from '../actions/index.js';
import type {PatchInfo, TransitionInfo} from '../model/types.js';

export type PatchActionId = PatchActionKind;

export type PatchAction = {
	readonly id: PatchActionId;
	/** Direct key, the same as in the key map. */
	readonly key: string;
	readonly label: string;
	/** Why it is not offered now (shown dimmed in the menu), null when it applies. */
	readonly unavailable: string | null;
};

const keys: Readonly<Record<PatchActionId, string>> = {reverse: 'R', force: 'F', disable: 'D', enable: 'E'};

export function patchActions(patch: PatchInfo, transition: TransitionInfo | null): PatchAction[] {
	const own = transition !== null && transition.patch === patch.name;
	const labels: Readonly<Record<PatchActionId, string>> = {
		reverse: own
			? `reverse: turn ${transition.direction} into ${transition.direction === 'patching' ? 'unpatching' : 'patching'}`
			: 'reverse the transition',
		force: 'force the transition (breaks consistency; type its name)',
		disable: 'disable: start unpatching',
		enable: 'enable again',
	};
	return patchMenu(patch).map((item) => ({
		id: item.kind,
		key: keys[item.kind],
		label: labels[item.kind],
		unavailable: item.available ? null : item.note,
	}));
}
