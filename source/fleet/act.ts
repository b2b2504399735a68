/**
Actions from the fleet screen (`--allow-actions` only): nudge, reverse or force on ONE host, by
running that host's own klptop subcommand (`klptop nudge TID...`, `klptop reverse PATCH`, `klptop
force PATCH --confirm PATCH`) over its ssh connection, after a confirmation that names the host.
The remote klptop applies its own guards (recycled PIDs, its own session, the kernel's rules, the
journal and the audit log of that host); this module only plans from the host's last document and
reports what the host answered. klptop never signals or writes anything on this machine for a
fleet host.
*/
import {clean} from '../model/sanitize.js';
import type {Fleet} from './fleet.js';
import type {HostState} from './host.js';
import {liveDoc} from './model.js';
import type {FleetDialog, FleetStatus} from './screen-state.js';

export type FleetRequest = 'nudge' | 'reverse' | 'force';

/** The dialog for an action on `host`, or why there is nothing to confirm. */
export function planFleetAction(request: FleetRequest, host: HostState): FleetDialog | FleetStatus {
	const name = host.host.name;
	const doc = liveDoc(host);
	const t = doc?.transition ?? null;
	if (doc === null || t === null) {
		return {text: `${clean(name)}: no transition running`, tone: 'warn'};
	}

	if (request === 'nudge') {
		const seen = new Set<number>();
		const targets: string[] = [];
		const tids: number[] = [];
		for (const b of doc.blockers) {
			// One thread per process: a nudge stops and continues the whole thread group.
			if (!b.remedies.includes('nudge') || seen.has(b.tgid)) continue;
			seen.add(b.tgid);
			tids.push(b.tid);
			targets.push(`${b.tid} ${clean(b.comm)}${b.function === null ? '' : ` (${clean(b.function)})`}`);
		}

		if (tids.length === 0) {
			return {
				text: `${clean(name)}: no blocker a nudge can help (only interruptible user tasks can be nudged)`,
				tone: 'warn',
			};
		}

		return {kind: 'nudge', host: name, tids, targets};
	}

	if (request === 'reverse') return {kind: 'reverse', host: name, patch: t.patch, direction: t.direction};
	return {kind: 'force', host: name, patch: t.patch, typed: ''};
}

/** The remote klptop's arguments for a confirmed dialog. */
export function actionArgs(dialog: FleetDialog): string[] {
	switch (dialog.kind) {
		case 'nudge':
			return ['nudge', ...dialog.tids.map(String)];
		case 'reverse':
			return ['reverse', dialog.patch];
		case 'force':
			return ['force', dialog.patch, '--confirm', dialog.patch];
	}
}

/** Run it on its host; what the host's klptop said, as one status line. */
export async function runFleetAction(fleet: Fleet, dialog: FleetDialog): Promise<FleetStatus> {
	const host = clean(dialog.host);
	try {
		const result = await fleet.runKlptop(dialog.host, actionArgs(dialog));
		const said = [...result.stdout.toString('utf8').split('\n'), ...result.stderr.split('\n')]
			.map((line) => clean(line.trim()))
			.filter((line) => line !== '');
		const text = said.length === 0 ? `status ${result.code}` : said.join(' | ');
		return {text: `${host}: klptop ${dialog.kind}: ${text}`, tone: result.code === 0 ? 'info' : 'error'};
	} catch (error) {
		return {text: `${host}: klptop ${dialog.kind} failed: ${clean(String(error))}`, tone: 'error'};
	}
}

/** What the dialog says, line by line (the host named first). */
export function dialogLines(dialog: FleetDialog): string[] {
	const host = clean(dialog.host);
	switch (dialog.kind) {
		case 'nudge':
			return [
				`Nudge on host ${host}: SIGSTOP then SIGCONT, by that host's own klptop (its guards apply):`,
				...dialog.targets.map((target) => `  ${target}`),
				'',
				`Runs on ${host}: klptop nudge ${dialog.tids.join(' ')}`,
				'y runs it on this one host; n or Esc cancels.',
			];
		case 'reverse':
			return [
				`Reverse the ${dialog.direction} transition of '${clean(dialog.patch)}' on host ${host}?`,
				'Its tasks converge back; the patch is not removed. The host is the only one touched.',
				'',
				`Runs on ${host}: klptop reverse ${clean(dialog.patch)}`,
				'y runs it on this one host; n or Esc cancels.',
			];
		case 'force':
			return [
				`FORCE the transition of '${clean(dialog.patch)}' on host ${host}.`,
				'Forcing breaks the consistency model: the remaining tasks are marked patched without',
				"switching safely. Only with the patch vendor's clearance. A module being removed stays pinned.",
				'',
				`Runs on ${host}: klptop force ${clean(dialog.patch)} --confirm ${clean(dialog.patch)}`,
				`Type the host's name (${host}) and Enter to confirm; Esc cancels.`,
				`> ${clean(dialog.typed)}`,
			];
	}
}
