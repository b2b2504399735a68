/**
`klptop report FILE` as text (for people) and as JSON (`--json`, `format: klptop-report`, version 1;
later versions only add fields). Times are UTC ISO 8601, plus the offset from the transition's start
in the text. Every recorded string goes through `clean()`.
*/
import {clean} from '../model/sanitize.js';
import {fit, formatDuration, functionLabel} from '../views/format.js';
import type {BlockerReport, Report, TransitionReport} from './report.js';

/** Blocker rows the text lists per transition (the JSON has them all). */
export const textBlockerRows = 20;

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (s: number) => Math.round(s * 1000) / 1000;

const outcomeWords: Readonly<Record<TransitionReport['outcome'], string>> = {
	completed: 'completed',
	forced: 'FORCED (the consistency model was bypassed)',
	'reversed-completed': 'reversed, and the reversal completed',
	vanished: 'ended without completing (the patch went away)',
	'still running': 'still running when the recording ended',
};

function blockerLine(blocker: BlockerReport): string {
	const fn = blocker.function === null ? '-' : clean(functionLabel(blocker.function, blocker.object));
	return [
		fit(String(blocker.tid), 8, 'right'),
		fit(clean(blocker.comm), 16),
		fit(fn, 34, 'left', '~'),
		fit(blocker.class, 16),
		fit(formatDuration(blocker.heldS), 7, 'right'),
		` ${blocker.ended}`,
	].join(' ');
}

function transitionText(t: TransitionReport, n: number): string[] {
	const offset = (time: number) => `+${formatDuration((time - t.startedAt) / 1000)}`;
	const lines = [`Transition ${n}: ${clean(t.patch)} ${t.direction}`];
	const startWords = {
		'kernel-log': 'from the kernel log',
		observed: 'seen starting between two polls',
		'first-seen': 'already running when the recording began: the start is earlier',
	}[t.startedFrom];
	lines.push(`  started   ${iso(t.startedAt)} (${startWords})`);
	lines.push(
		t.endedAt === null
			? `  ended     -: ${outcomeWords[t.outcome]} (${formatDuration(t.durationS)} recorded)`
			: `  ended     ${iso(t.endedAt)}: ${outcomeWords[t.outcome]} after ${formatDuration(t.durationS)}`,
	);
	if (t.reversals > 0)
		lines.push(`  reversed  ${t.reversals} time${t.reversals === 1 ? '' : 's'}; ended ${t.finalDirection}`);
	lines.push(
		`  threads   ${t.pendingAtStart} of ${t.total} pending at the first poll; ${t.blockers.length} thread${t.blockers.length === 1 ? '' : 's'} held it back` +
			(t.endedAt === null ? `; ${t.pendingAtEnd} still pending` : ''),
	);
	if (t.blockers.length > 0) {
		lines.push(
			'',
			`  Blockers (longest first${t.blockers.length > textBlockerRows ? `; ${textBlockerRows} of ${t.blockers.length}` : ''})`,
		);
		lines.push(
			`  ${['     TID', fit('COMM', 16), fit('FUNCTION [object]', 34), fit('CLASS', 16), '   HELD', ' HOW IT ENDED'].join(' ')}`,
		);
		for (const blocker of t.blockers.slice(0, textBlockerRows)) lines.push(`  ${blockerLine(blocker)}`);
	}

	const signals = t.marks.filter((mark) => mark.kind === 'fake-signal');
	lines.push(
		'',
		`  Kernel fake-signal rounds: ${signals.length === 0 ? 'none' : signals.map((mark) => offset(mark.time)).join(', ')}`,
	);
	if (t.actions.length === 0) {
		lines.push('  Our actions: none recorded');
	} else {
		lines.push('  Our actions:');
		for (const {time, entry} of t.actions) {
			lines.push(
				`    ${iso(time)} (${offset(time)}) ${clean(entry.action)} ${clean(entry.target)}: ${clean(entry.result)}` +
					`${entry.detail === '' ? '' : `, ${clean(entry.detail)}`} (by ${clean(entry.user)})`,
			);
		}
	}

	lines.push('', '  Timeline');
	for (const mark of t.marks) {
		if (mark.kind === 'action') continue;
		lines.push(`    ${fit(offset(mark.time), 8, 'right')}  ${mark.kind.padEnd(11)} ${clean(mark.text)}`);
	}

	return lines;
}

export function reportText(report: Report): string {
	const lines = [
		`klptop report: ${clean(report.file)}`,
		`  host ${clean(report.host)}, kernel ${report.kernel === null ? '?' : clean(report.kernel)}`,
		`  recorded ${iso(report.from)} to ${iso(report.to)} (${formatDuration((report.to - report.from) / 1000)}, ${report.polls} polls)` +
			(report.endReason === null
				? '; the recorder did not stop cleanly (killed, or still recording)'
				: `; ${clean(report.endReason)}`),
	];
	for (const warning of report.warnings) lines.push(`  warning: ${clean(warning)}`);
	if (report.transitions.length === 0) {
		lines.push('', 'No transition in this recording.');
	}

	report.transitions.forEach((t, i) => {
		lines.push('', ...transitionText(t, i + 1));
	});
	return lines.join('\n') + '\n';
}

/** The `--json` document. */
export function reportJson(report: Report) {
	return {
		format: 'klptop-report',
		version: 1,
		file: clean(report.file),
		host: clean(report.host),
		kernel: report.kernel === null ? null : clean(report.kernel),
		from: iso(report.from),
		to: iso(report.to),
		polls: report.polls,
		end_reason: report.endReason === null ? null : clean(report.endReason),
		warnings: report.warnings.map((w) => clean(w)),
		transitions: report.transitions.map((t) => ({
			patch: clean(t.patch),
			direction: t.direction,
			final_direction: t.finalDirection,
			started: iso(t.startedAt),
			started_from: t.startedFrom,
			ended: t.endedAt === null ? null : iso(t.endedAt),
			outcome: t.outcome,
			duration_s: seconds(t.durationS),
			reversals: t.reversals,
			total: t.total,
			pending_at_start: t.pendingAtStart,
			pending_at_end: t.pendingAtEnd,
			blockers: t.blockers.map((b) => ({
				tid: b.tid,
				tgid: b.tgid,
				comm: clean(b.comm),
				kthread: b.kthread,
				function: b.function === null ? null : clean(b.function),
				object: b.object === null ? null : clean(b.object),
				class: b.class,
				from: iso(b.from),
				until: iso(b.until),
				held_s: seconds(b.heldS),
				ended: b.ended,
			})),
			marks: t.marks.map((m) => ({time: iso(m.time), kind: m.kind, text: clean(m.text)})),
			actions: t.actions.map(({time, entry}) => ({
				time: iso(time),
				action: entry.action,
				target: clean(entry.target),
				result: entry.result,
				detail: clean(entry.detail),
				user: clean(entry.user),
			})),
			pending: t.samples.map((s) => [iso(s.time), s.pending]),
		})),
	};
}
