/**
The confirmation dialog of an action: exactly what will be signalled or written, the warnings, what
was refused and why, and the keys that confirm or cancel. A pure function of the plan; the force
dialog shows what has been typed so far (`y` alone never forces).
*/
import {Box} from 'ink';
import type {DialogModel} from '../dashboard/state.js';
import {clean} from '../model/sanitize.js';
import {wrapText} from './format.js';
import {Lines, Title} from './line.js';
import type {Segment} from './segment.js';
import type {Theme} from './theme.js';

export type ActionDialogProps = {
	readonly dialog: DialogModel;
	/** Body lines available. */
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
};

function wrapped(
	text: string,
	width: number,
	indent: string,
	segment: Omit<Segment, 'text'> = {},
): Segment[][] {
	return wrapText(clean(text), Math.max(10, width - indent.length)).map((line) => [
		{text: indent + line, ...segment},
	]);
}

/** The dialog's lines (also what tests read). */
export function dialogLines(dialog: DialogModel, width: number): Segment[][] {
	const lines: Segment[][] = [];
	if (dialog.kind === 'nudge') {
		const {plan} = dialog;
		const threads = plan.groups.reduce((sum, group) => sum + group.threads.length, 0);
		if (plan.groups.length > 0) {
			lines.push(
				...wrapped(
					`Nudge: SIGSTOP each process below, wait until its threads switch (a short bound), then SIGCONT. ` +
						`${plan.groups.length} process${plan.groups.length === 1 ? '' : 'es'}, ${threads} blocking thread${threads === 1 ? '' : 's'}:`,
					width,
					'',
				),
			);
			for (const group of plan.groups) {
				const list = group.threads.map((t) => `${t.tid} ${clean(t.comm)} (${clean(t.state)})`).join(', ');
				lines.push([
					{text: '  signal ', bold: true},
					{text: `pid ${group.tgid} ${clean(group.comm)}`, bold: true, color: 'cyan'},
					{text: `  threads: ${list}`},
				]);
				for (const warning of group.warnings) {
					lines.push(...wrapped(`warning: ${warning}`, width, '    ', {color: 'yellow'}));
				}
			}
		} else {
			lines.push([{text: 'Nothing to signal: every thread asked for is refused.', bold: true}]);
		}

		if (plan.refused.length > 0) {
			lines.push([{text: ' '}], [{text: 'Refused (not signalled):', bold: true}]);
			for (const refusal of plan.refused) {
				lines.push(...wrapped(`tid ${refusal.tid}: ${refusal.reason}`, width, '  ', {color: 'yellow'}));
			}
		}

		lines.push([{text: ' '}]);
		lines.push(
			plan.groups.length > 0
				? [{text: 'y', bold: true, inverse: true}, {text: ' nudge    '}, ...cancelKeys]
				: cancelKeys,
		);
		return lines;
	}

	const {plan, typed} = dialog;
	lines.push(...wrapped(plan.summary, width, '', {bold: true}));
	if (plan.warning !== null) {
		lines.push([{text: ' '}], ...wrapped(plan.warning, width, '', {color: 'red'}));
	}

	lines.push([{text: ' '}]);
	if (plan.confirmation === 'typed-name') {
		lines.push(
			[{text: `Type the patch name (${clean(plan.patch)}) to confirm, then Enter:`}],
			[{text: '> ', bold: true}, {text: clean(typed)}, {text: '_', inverse: true}],
			[{text: ' '}],
			// `n` is a letter of the name here: only Esc cancels.
			[{text: 'Enter', bold: true, inverse: true}, {text: ' confirm    '}, ...escCancel],
		);
	} else {
		lines.push([{text: 'y', bold: true, inverse: true}, {text: ` ${plan.kind}    `}, ...cancelKeys]);
	}

	return lines;
}

const cancelKeys: Segment[] = [
	{text: 'n', bold: true, inverse: true},
	{text: '/'},
	{text: 'Esc', bold: true, inverse: true},
	{text: ' cancel'},
];

const escCancel: Segment[] = [{text: 'Esc', bold: true, inverse: true}, {text: ' cancel'}];

export function ActionDialog({dialog, height, width, theme}: ActionDialogProps) {
	const lines = dialogLines(dialog, width);
	const title =
		dialog.kind === 'nudge'
			? 'Confirm: nudge'
			: `Confirm: ${dialog.plan.kind} ${clean(dialog.plan.patch)}${dialog.plan.kind === 'force' ? ' (FORCE)' : ''}`;
	// The keys line stays visible however long the list is.
	const shown =
		lines.length > height ? [...lines.slice(0, height - 2), [{text: '  ...'}], lines.at(-1)!] : lines;
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text={title} width={width} theme={theme} focused />
			<Lines lines={shown.map((segments) => ({segments}))} width={width} theme={theme} />
		</Box>
	);
}
