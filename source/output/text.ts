/**
The human `--once` snapshot: where the data comes from, the kernel, the patches, the transition,
the blockers with what can still move each of them, and warnings. Plain text that fits the given
width (every line at most `width` terminal cells); ANSI colour only when the caller asks for it (the
caller decides about NO_COLOR and non-terminals).

Every string that came from the kernel or a process is passed through `clean()` first.
*/
import {cellWidth, fit, formatDuration, functionLabel, truncate} from '../views/format.js';
import {blockerKey} from '../model/types.js';
import {stuckSeconds} from '../model/history.js';
import {frameObject} from '../model/analysis.js';
import type {Blocker, History, PatchInfo, Snapshot, TransitionProgress} from '../model/types.js';
import {clean} from '../model/sanitize.js';
import {describeFilter, isFiltering, selectBlockers, type IdFilter} from './only.js';

export type TextOptions = {
	/** Terminal columns. @default 80 */
	readonly width?: number;
	/** ANSI bold/colour. @default false */
	readonly color?: boolean;
	/** `--pid`/`--tid`: only these blockers are listed (counts stay whole). */
	readonly only?: IdFilter | null;
};

/** Narrowest layout we try to honour; below it lines are still cut to `width`. */
const minWidth = 20;

/** Above this many blockers, remedies are given per situation instead of per thread. */
const maxRemedyLines = 10;

/** At most `width` cells; a cut string ends in `~` so it never passes for a whole one. */
const cut = (text: string, width: number): string => truncate(text, width, '~');

/** Exactly `width` cells. */
const pad = (text: string, width: number, align: 'left' | 'right' = 'left'): string =>
	fit(text, width, align, '~');

/** Word-wrap a paragraph to `width` cells; continuation lines start with `indent`. */
function wrap(text: string, width: number, indent = ''): string[] {
	const lines: string[] = [];
	// Leading spaces of the paragraph are kept as its first-line indent.
	const lead = /^ */.exec(text)![0];
	let line = lead;
	for (const word of text.slice(lead.length).split(' ')) {
		if (word === '') {
			continue;
		}

		const first = lines.length === 0;
		const empty = line === (first ? lead : '');
		const candidate = empty ? line + word : `${line} ${word}`;
		const prefix = first ? '' : indent;
		if (cellWidth(prefix + candidate) <= width || empty) {
			line = candidate;
			continue;
		}

		lines.push(prefix + line);
		line = word;
	}

	lines.push((lines.length === 0 ? '' : indent) + line);

	// A single word longer than the line is cut rather than overflowing.
	return lines.map((l) => cut(l, width));
}

// ---------------------------------------------------------------------------------------------------
// Words

function rate(perSecond: number | null): string {
	if (perSecond === null || !Number.isFinite(perSecond)) {
		return 'rate unknown (needs two polls)';
	}

	const digits = Math.abs(perSecond) >= 10 ? 0 : Math.abs(perSecond) >= 1 ? 1 : 2;
	return `${perSecond.toFixed(digits)} threads/s`;
}

function yesNo(value: boolean | null): string {
	return value === null ? '-' : value ? '1' : '0';
}

function patchState(p: PatchInfo): string {
	if (p.transition) {
		return p.enabled ? 'PATCHING' : 'UNPATCHING';
	}

	return p.enabled ? 'applied' : 'disabled';
}

export function describeSource(snapshot: Snapshot): string {
	const {source} = snapshot;
	switch (source.kind) {
		case 'host': {
			return 'Source: this host (the running kernel)';
		}

		case 'tree': {
			return source.capturedAt === undefined
				? `Source: tree ${clean(source.root ?? '?')} (files under a directory, not necessarily this host's kernel)`
				: `Source: CAPTURE ${clean(source.root ?? '?')} taken ${new Date(source.capturedAt).toISOString()} (a saved picture: times are as of then, nothing moves)`;
		}

		case 'emulator': {
			return `Source: EMULATOR, scenario ${clean(source.scenario ?? '?')} (emulated kernel, not this host)`;
		}
	}
}

function elapsedWords(t: TransitionProgress): string {
	switch (t.startedFrom) {
		case 'kernel-log': {
			return `running ${formatDuration(t.elapsedS)} (start from the kernel log)`;
		}

		case 'observed': {
			return `running ${formatDuration(t.elapsedS)} (start seen between two polls)`;
		}

		case 'first-seen': {
			return `running at least ${formatDuration(t.elapsedS)} (start not seen)`;
		}
	}
}

function signalWords(t: TransitionProgress, snapshot: Snapshot): string {
	if (t.nextSignalS !== null) {
		const since = t.reversals > 0 ? 'the last reversal' : 'the start';
		const next = `~${Math.ceil(t.nextSignalS)}s`;
		return snapshot.source.capturedAt === undefined
			? `next kernel fake-signal round in ${next} (estimate: every 15s from ${since})`
			: `when captured, the next kernel fake-signal round was ${next} away (estimate: every 15s from ${since})`;
	}

	const old =
		snapshot.patches.some((p) => p.hasSignal) || /^(?:[0-4]|5\.0)\./.test(snapshot.kernel.release ?? '');
	return old
		? 'no automatic fake signals on this kernel (before 5.1)'
		: 'next kernel fake-signal round unknown (start not seen)';
}

/**
What can still move a blocker, in plain words, built from its `remedies` (most useful first),
without naming the thread: blockers in the same situation share the sentence.
`nextSignalS` dates the kernel's fake signal when the kernel sends one.
*/
export function remedySentence(b: Blocker, nextSignalS: number | null): string {
	const who = b.kthread ? 'kernel thread' : 'user task';
	const state: Record<Blocker['class'], string> = {
		running: `running ${who}`,
		interruptible: `${who} in interruptible sleep`,
		uninterruptible: `${who} in uninterruptible sleep (D)`,
		stopped: `stopped ${who}`,
		zombie: 'zombie (exited, not yet reaped)',
		unknown: `${who} in an unknown state`,
	};
	const options: string[] = [];
	for (const remedy of b.remedies) {
		switch (remedy) {
			case 'nudge': {
				options.push('nudge it (SIGSTOP then SIGCONT) to switch it now');
				break;
			}

			case 'wait': {
				if (b.class === 'running') {
					options.push(
						b.kthread
							? 'wait: it switches when it sleeps outside the patched function'
							: 'wait: it switches at its next return to user space',
					);
				} else if (b.class === 'stopped') {
					options.push('wait: a stopped task switches on its way out');
				} else {
					const when = nextSignalS === null ? '' : ` (next in ~${Math.ceil(nextSignalS)}s)`;
					options.push(
						b.kthread
							? `wait: the kernel wakes interruptible kernel threads every 15s${when}`
							: `wait: the kernel's fake signal every 15s should free it${when}`,
					);
				}

				break;
			}

			case 'reverse': {
				options.push('reverse the transition (write the opposite value to enabled)');
				break;
			}

			case 'kill': {
				options.push('kill it (SIGKILL ends a killable sleep, and the process dies)');
				break;
			}

			case 'force': {
				options.push('force it (last resort: skips the consistency check)');
				break;
			}
		}
	}

	let why = '';
	if (b.class === 'uninterruptible') {
		why =
			b.killable === true
				? ' Of the signals only SIGKILL reaches a killable sleep.'
				: b.state === 'D' && !b.kthread
					? ' No signal but SIGKILL reaches it, and SIGKILL only if the sleep is killable (/proc shows D for both).'
					: ' No signal reaches it: it must leave the function by itself.';
	} else if (b.class === 'interruptible' && b.kthread) {
		why = ' Kernel threads cannot be nudged with signals.';
	}

	const list = options.length === 0 ? 'nothing known helps' : options.join('; or ');
	return `${state[b.class]}: ${list}.${why}`;
}

/** The remedy of one blocker, naming it: `182 cat, user task in interruptible sleep: ...`. */
export function remedyWords(b: Blocker, nextSignalS: number | null): string {
	return `${b.tid} ${clean(b.comm)}, ${remedySentence(b, nextSignalS)}`;
}

/**
The message for a system without `/sys/kernel/livepatch`: kernel built without CONFIG_LIVEPATCH,
or not Linux at all. Points to the emulator.
*/
export function noLivepatchMessage(snapshot: Snapshot, options: {width?: number} = {}): string {
	const width = Math.max(minWidth, options.width ?? 80);
	const where =
		snapshot.source.kind === 'tree'
			? `${clean(snapshot.source.root ?? '?')}/sys/kernel/livepatch`
			: '/sys/kernel/livepatch';
	const release = snapshot.kernel.release === null ? '' : ` (kernel ${clean(snapshot.kernel.release)})`;
	const text = [
		`klptop: ${where} does not exist${release}: this kernel was built without CONFIG_LIVEPATCH, or this is not Linux. There is nothing to watch here.`,
		'To see what klptop shows, run the built-in emulator:',
	];
	// The command stays on a line of its own so that it can be copied whole.
	return [...text.flatMap((t) => wrap(t, width, '  ')), '  klptop --emulate stuck-interruptible'].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The snapshot

const ansi = {
	bold: '\u001b[1m',
	red: '\u001b[31m',
	yellow: '\u001b[33m',
	green: '\u001b[32m',
	reset: '\u001b[0m',
};

/** The `--once` text for the history's latest snapshot. */
export function toText(history: History, options: TextOptions = {}): string {
	const width = Math.max(minWidth, Math.floor(options.width ?? 80));
	const color = options.color ?? false;
	const paint = (text: string, ...codes: string[]) =>
		color && codes.length > 0 ? codes.join('') + text + ansi.reset : text;
	const s = history.snapshot;
	const t = history.transition;
	const out: string[] = [];
	const para = (text: string, indent = '  ') => {
		out.push(...wrap(text, width, indent));
	};

	const heading = (text: string) => {
		out.push(paint(cut(text, width), ansi.bold));
	};

	para(
		s.source.capturedAt === undefined
			? `${describeSource(s)}, ${new Date(s.time).toISOString()}`
			: describeSource(s),
	);
	const kernel = s.kernel.release === null ? 'unknown release' : clean(s.kernel.release);
	const who = s.privileges.root
		? s.privileges.stacksReadable
			? 'root, stacks readable'
			: 'root, stacks unreadable'
		: 'not root: stacks unreadable, functions from wchan only, threads of other users may be hidden';
	para(`Kernel: ${kernel}; livepatch ${s.kernel.livepatch ? 'present' : 'absent'}; ${who}`);

	if (!s.kernel.livepatch) {
		out.push('');
		out.push(noLivepatchMessage(s, {width}));
		return finish(out, width, s, (text) => paint(text, ansi.bold));
	}

	out.push('');
	// "None loaded" only when /proc/modules says so: a disabled patch's module outlives its directory.
	const leftover = s.patches.length === 0 ? (s.leftoverModules ?? null) : null;
	heading(
		s.patches.length > 0
			? `Patches (${s.patches.length})`
			: leftover === null
				? 'Patches: none listed'
				: leftover.length === 0
					? 'Patches: none loaded'
					: 'Patches: none active',
	);
	if (leftover !== null && leftover.length > 0) {
		const names = leftover.map((name) => clean(name)).join(' ');
		para(
			`  livepatch module ${names} is still loaded (disabled, unpatched); unload it with: rmmod ${names}`,
			'    ',
		);
	}
	if (s.patches.length > 0) {
		// NAME  STATE  ENABLED TRANS REPLACE ORDER OBJ FUNC; the name takes what is left.
		const cols = [10, 7, 5, 7, 5, 3, 4];
		const nameWidth = Math.max(8, width - 2 - cols.reduce((a, b) => a + b + 1, 0) - 1);
		const patchRow = (name: string, values: string[], stateCode = '') => {
			const [state, ...rest] = values as [string, ...string[]];
			const tail = rest.map((v, i) => pad(v, cols[i + 1]!, 'right')).join(' ');
			const plain = ['  ' + pad(name, nameWidth), pad(state, cols[0]!), tail].join(' ');
			if (stateCode === '' || !color || cellWidth(plain) > width) {
				return cut(plain, width);
			}

			// Colour only the state word, after the line is measured.
			const word = cut(state, cols[0]!);
			return [
				'  ' + pad(name, nameWidth),
				paint(word, stateCode) + ' '.repeat(cols[0]! - cellWidth(word)),
				tail,
			].join(' ');
		};

		out.push(patchRow('NAME', ['STATE', 'ENABLED', 'TRANS', 'REPLACE', 'ORDER', 'OBJ', 'FUNC']));
		for (const p of s.patches) {
			const funcs = p.objects.reduce((n, o) => n + o.functions.length, 0);
			const word = patchState(p);
			out.push(
				patchRow(
					clean(p.name),
					[
						word,
						yesNo(p.enabled),
						yesNo(p.transition),
						yesNo(p.replace),
						p.stackOrder === null ? '-' : String(p.stackOrder),
						String(p.objects.length),
						String(funcs),
					],
					p.transition ? ansi.yellow : p.enabled ? ansi.green : '',
				),
			);
		}
	}

	out.push('');
	if (t) {
		heading(
			`Transition: ${clean(t.patch)} ${t.direction}${t.initializing ? ', initialising (insmod running)' : ''} (target patch_state ${t.target})`,
		);
		para(`  ${elapsedWords(t)}${t.reversals > 0 ? `, reversed ${t.reversals}x` : ''}`, '    ');
		const unknown =
			(t.unknown ?? 0) > 0 ? `, ${t.unknown} unknown (patch_state unreadable: they may be pending too)` : '';
		para(`  ${t.pending} of ${t.total} threads still to switch${unknown}; ${rate(t.ratePerS)}`, '    ');
		para(`  ${signalWords(t, s)}`, '    ');
	} else {
		heading('Transition: none running');
		const last = history.lastTransition;
		if (last) {
			const took = last.elapsedS === null ? '' : ` after ${formatDuration(last.elapsedS)}`;
			para(
				`  last: ${clean(last.patch)} ${last.direction} ${last.outcome}${took}, ended ${new Date(last.endedAt).toISOString()}`,
				'    ',
			);
		}
	}

	if (t || s.blockers.length > 0) {
		out.push('');
		blockersTable(history, width, paint, out, options.only ?? null);
	}

	if (t && s.blockers.length === 0) {
		out.push('');
		if (history.hiddenBlocker) {
			heading('Hidden blocker');
			para(
				`  No visible thread has held this transition for ${history.invisiblePolls} polls in a row. Something /proc does not show holds it: an idle task (one per CPU, never listed in /proc; it usually switches within a second or two)${
					s.privileges.root
						? ''
						: ', or threads this user cannot see (not root, or /proc mounted with hidepid)'
				}.`,
				'  ',
			);
		} else {
			para(
				'  No visible blocker: an idle task, which /proc does not list, often holds a transition for a second or two.',
				'  ',
			);
		}
	}

	return finish(out, width, s, (text) => paint(text, ansi.bold));
}

function blockersTable(
	history: History,
	width: number,
	paint: (text: string, ...codes: string[]) => string,
	out: string[],
	only: IdFilter | null,
): void {
	const s = history.snapshot;
	const blockers = selectBlockers(s.blockers, only);
	const count = isFiltering(only)
		? `${blockers.length} of ${s.blockers.length}, only ${describeFilter(only)}`
		: String(blockers.length);
	out.push(paint(cut(`Blockers (${count})`, width), ansi.bold));
	if (blockers.length === 0) {
		return;
	}

	// TID TGID S K CLASS STUCK FUNCTION [object] COMM
	const fixed = [7, 7, 1, 1, 15, 6];
	const fixedWidth = fixed.reduce((a, b) => a + b + 1, 0);
	const flexible = Math.max(0, width - fixedWidth);
	const commWidth = Math.min(15, Math.floor(flexible / 2));
	const functionWidth = Math.max(0, flexible - commWidth - 1);
	const row = (cols: string[], classColor = '') => {
		const [tid, tgid, st, k, cls, stuck, fn, comm] = cols as [
			string,
			string,
			string,
			string,
			string,
			string,
			string,
			string,
		];
		const parts = [
			pad(tid, fixed[0]!, 'right'),
			pad(tgid, fixed[1]!, 'right'),
			pad(st, fixed[2]!),
			pad(k, fixed[3]!),
			pad(cls, fixed[4]!),
			pad(stuck, fixed[5]!, 'right'),
			pad(fn, functionWidth),
			pad(comm, commWidth),
		];
		const line = cut(parts.join(' ').trimEnd(), width);
		return classColor === '' ? line : paint(line, classColor);
	};

	out.push(row(['TID', 'TGID', 'S', 'K', 'CLASS', 'STUCK', 'FUNCTION [object]', 'COMM']));
	for (const b of blockers) {
		const stuck = formatDuration(stuckSeconds(history, blockerKey(b)));
		const fn =
			b.function === null
				? b.wchan === null
					? '?'
					: `(wchan ${clean(b.wchan)})`
				: functionLabel(b.function, frameObject(b));
		const classColor =
			b.class === 'uninterruptible' ? ansi.red : b.class === 'interruptible' ? ansi.yellow : '';
		out.push(
			row(
				[
					String(b.tid),
					String(b.tgid),
					clean(b.state),
					b.kthread ? 'k' : '-',
					b.class,
					stuck,
					fn,
					clean(b.comm),
				],
				classColor,
			),
		);
	}

	out.push('');
	out.push(paint(cut('What can move them', width), ansi.bold));
	// A capture counts down to nothing: no "next in ~Ns" for a picture taken earlier.
	const next = s.source.capturedAt === undefined ? (history.transition?.nextSignalS ?? null) : null;
	if (blockers.length <= maxRemedyLines) {
		for (const b of blockers) {
			out.push(...wrap(`  ${remedyWords(b, next)}`, width, '    '));
		}

		return;
	}

	// Many blockers: one sentence per situation, with the threads in it.
	const groups = new Map<string, number[]>();
	for (const b of blockers) {
		const sentence = remedySentence(b, next);
		const tids = groups.get(sentence) ?? [];
		tids.push(b.tid);
		groups.set(sentence, tids);
	}

	for (const [sentence, tids] of groups) {
		const shown = tids.slice(0, 8).join(', ');
		const more = tids.length > 8 ? ` and ${tids.length - 8} more` : '';
		out.push(...wrap(`  ${tids.length} threads (${shown}${more}), ${sentence}`, width, '    '));
	}
}

function finish(out: string[], width: number, s: Snapshot, bold: (text: string) => string): string {
	if (s.warnings.length > 0) {
		out.push('');
		out.push(bold(cut(`Warnings (${s.warnings.length})`, width)));
		for (const w of s.warnings) {
			out.push(...wrap(`  - ${clean(w)}`, width, '    '));
		}
	}

	return out.join('\n');
}
