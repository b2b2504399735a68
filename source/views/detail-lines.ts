/** The task detail's text (no Ink here: the reducer counts its lines to bound scrolling). */
import {explainBlocker, frameObject} from '../model/analysis.js';
import {clean} from '../model/sanitize.js';
import type {History} from '../model/types.js';
import type {Detail} from '../dashboard/state.js';
import {formatClock, formatDuration, functionLabel, wrapText} from './format.js';
import type {Segment} from './segment.js';
import type {Theme} from './theme.js';
import {classColor, glyphs} from './theme.js';

/** The detail as lines of segments (the reducer uses the count to bound scrolling). */
export function detailLines(
	detail: Detail,
	history: History | null,
	width: number,
	theme: Theme,
): Segment[][] {
	const g = glyphs(theme);
	const lines: Segment[][] = [];
	const {thread, blocker} = detail;
	const text = width - 4;
	const para = (words: string, extra: Omit<Segment, 'text'> = {}) => {
		for (const line of wrapText(words, text)) {
			lines.push([{text: `  ${line}`, ...extra}]);
		}
	};

	const status: Segment =
		detail.goneAt !== null
			? {
					text: `no longer blocking since ${formatClock(detail.goneAt)} (switched or exited)`,
					color: 'green',
					bold: true,
				}
			: blocker !== null
				? {text: `blocking for ${formatDuration(detail.stuckS)}`, color: 'red', bold: true}
				: {text: 'not blocking the transition', color: 'green'};
	lines.push([
		{text: `${clean(thread.comm)}`, bold: true},
		{text: `  tid ${thread.tid}  pid ${thread.tgid}  `},
		status,
	]);
	const facts: string[] = [
		`state ${clean(thread.state)}${blocker ? ` (${blocker.class})` : ''}`,
		thread.kthread ? 'kernel thread' : 'user task',
		`patch_state ${thread.patchState ?? '?'}${history?.snapshot.transition ? `, the transition needs ${history.snapshot.transition.target}` : ''}`,
		`uid ${thread.uid ?? '?'}`,
	];
	lines.push([{text: `  ${facts.join(` ${g.dot} `)}`}]);
	if (blocker !== null) {
		const where =
			blocker.function === null
				? 'no patched function found'
				: functionLabel(blocker.function, frameObject(blocker));
		const how =
			blocker.matchedBy === 'stack'
				? `found on the stack, frame #${blocker.matchedFrame ?? '?'}`
				: blocker.matchedBy === 'wchan'
					? 'from wchan (stack unreadable)'
					: '';
		lines.push([
			{text: '  function '},
			{text: where, bold: true, color: blocker.function === null ? undefined : 'cyan'},
			{text: how === '' ? '' : `  ${how}`, dim: true},
		]);
		lines.push([
			{text: '  wchan '},
			{text: blocker.wchan === null ? '(unreadable or 0)' : clean(blocker.wchan)},
			{text: '   class '},
			{text: blocker.class, color: classColor[blocker.class], bold: true},
			{text: '   can help: '},
			{
				text: blocker.remedies.length === 0 ? 'nothing from user space' : blocker.remedies.join(', '),
				bold: true,
			},
		]);
	}

	lines.push([{text: ' '}]);
	if (blocker !== null) {
		lines.push([{text: 'Why it is stuck, what can help', bold: true, underline: true}]);
		const snapshot = history?.snapshot;
		const patch =
			snapshot?.patches.find((candidate) => candidate.name === snapshot.transition?.patch) ?? null;
		for (const sentence of explainBlocker(blocker, snapshot?.kernel ?? {release: null}, patch)) {
			// explainBlocker sanitises the foreign strings it quotes; clean() again is a no-op then.
			para(clean(sentence));
		}

		lines.push([{text: ' '}]);
		lines.push([{text: 'Kernel stack', bold: true, underline: true}]);
		if (blocker.stack === null) {
			para('unreadable: /proc/<pid>/task/<tid>/stack needs root (CAP_SYS_ADMIN).', {dim: true});
		} else if (blocker.stack.length === 0) {
			para('empty (the thread is running on a CPU, or has no kernel stack).', {dim: true});
		} else {
			blocker.stack.forEach((frame, i) => {
				const matched = i === blocker.matchedFrame;
				lines.push([
					{text: matched ? `${g.pointer} ` : '  ', bold: true, color: 'red'},
					{text: `#${String(i).padEnd(3)}`, dim: !matched},
					{text: clean(frame.raw), inverse: matched, bold: matched},
					{text: matched ? '  <- patched function' : '', color: 'red', bold: true},
				]);
			});
		}
	} else {
		para(
			thread.patchState === -1
				? 'No transition involves this thread right now (patch_state -1).'
				: 'This thread already uses the code the transition wants: it does not hold it back.',
		);
	}

	return lines;
}
