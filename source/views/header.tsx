/**
The summary lines at the top, like top's: where the data comes from, the transition and its
progress (or the last one), and the thread counts. Three lines, each cut to the width.

Times are relative to the snapshot's own time, never the wall clock, so the view stays a pure
function of its props.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {History, SourceInfo} from '../model/types.js';
import {
	formatAgo,
	formatClock,
	formatDuration,
	formatRate,
	percent,
	progressBar,
	switchedCount,
} from './format.js';
import {Line} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';
import {glyphs} from './theme.js';
import {sourceWords} from './source-words.js';

export {sourceWords} from './source-words.js';

export type HeaderProps = {
	readonly history: History | null;
	readonly source: SourceInfo | null;
	readonly hostname: string;
	readonly delayS: number;
	/**
	The time from one scan to the next when slow scans stretch the interval (the poller keeps
	scanning to at most half a core), in seconds; null while scans fit the interval.
	*/
	readonly periodS?: number | null;
	readonly paused: boolean;
	readonly scanError: string | null;
	/** All threads were asked for and have not arrived yet. */
	readonly loadingAll: boolean;
	readonly width: number;
	readonly theme: Theme;
	/** Replaying a recording (`--replay`): where and when it was recorded, and the playback. */
	readonly replay?: ReplayHeader | null;
};

export type ReplayHeader = {
	/** The recorded host, as the recorder named it. */
	readonly host: string;
	/** Time of the recorded poll on screen, ms since the epoch. */
	readonly time: number;
	readonly index: number;
	readonly count: number;
	readonly playing: boolean;
	readonly speed: number;
};

/** `2026-01-01 03:00:15` in local time. */
export function formatDateTime(time: number): string {
	const date = new Date(time);
	const two = (n: number) => String(n).padStart(2, '0');
	return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${formatClock(time)}`;
}

/**
The first line while replaying: REPLAY and the playback, the recorded poll's time, the recorded host
and kernel (what must survive a narrow terminal first).
*/
function replayLine(props: HeaderProps, replay: ReplayHeader): Segment[] {
	const {history, theme} = props;
	const g = glyphs(theme);
	const release = history?.snapshot.kernel.release;
	return [
		{text: 'klptop', bold: true},
		{text: ' '},
		{text: 'REPLAY', inverse: true, bold: true},
		{text: replay.playing ? ` playing ${replay.speed}x` : ' paused', bold: replay.playing},
		{text: ` ${g.dot} `},
		{text: formatDateTime(replay.time), bold: true},
		{text: ` (${replay.index + 1}/${replay.count})`},
		{text: ` ${g.dot} `},
		{text: `host ${clean(replay.host)}`, bold: true, color: 'cyan'},
		{text: ` ${g.dot} kernel ${release === null || release === undefined ? '?' : clean(release)}`},
	];
}

function sourceLine(props: HeaderProps): Segment[] {
	if (props.replay) return replayLine(props, props.replay);
	const {history, source, hostname, delayS, periodS = null, paused, theme, width} = props;
	const g = glyphs(theme);
	const release = history?.snapshot.kernel.release;
	const segments: Segment[] = [{text: 'klptop', bold: true}];
	// Paused goes first: it must survive any width.
	if (paused) {
		segments.push({text: ' '}, {text: 'PAUSED', inverse: true, bold: true});
	}

	segments.push(
		{text: ` ${g.dot} `},
		{
			text: sourceWords(source, hostname),
			bold: true,
			color: source?.kind === 'emulator' ? 'yellow' : source?.kind === 'tree' ? 'cyan' : undefined,
		},
		{text: ` ${g.dot} kernel ${release === null || release === undefined ? '?' : clean(release)}`},
		{text: ` ${g.dot} every ${delayS}s`},
	);
	if (periodS !== null) {
		// Scans take longer than half the interval: say how often the picture really changes.
		segments.push({text: ` ${g.arrow} ${periodS.toFixed(1)}s`, color: 'yellow'});
	}

	if (source?.kind === 'emulator' && width >= 110) {
		segments.push({text: ` ${g.dot} `}, {text: 'emulated data, not this machine', color: 'yellow'});
	}

	if (source?.capturedAt !== undefined && width >= 110) {
		segments.push({text: ` ${g.dot} `}, {text: 'saved picture: nothing here moves', color: 'cyan'});
	}

	return segments;
}

/**
The last transition as the header says it while none runs, or null: `patching p was FORCED 5m ago after 1s`.
Its age is the only word of an idle header that moves with time (`samePicture` compares it).
*/
export function lastTransitionWords(history: History): string | null {
	const last = history.lastTransition;
	if (last === null) return null;
	const ago = (history.snapshot.time - last.endedAt) / 1000;
	const outcome = {
		completed: 'completed',
		forced: 'was FORCED',
		'reversed-completed': 'was reversed and completed',
		vanished: 'ended (patch gone)',
	}[last.outcome];
	return `${last.direction} ${clean(last.patch)} ${outcome} ${formatAgo(ago)} ago${
		last.elapsedS === null ? '' : ` after ${formatDuration(last.elapsedS)}`
	}`;
}

function transitionLine(props: HeaderProps): Segment[] {
	const {history, theme, width} = props;
	const g = glyphs(theme);
	if (history === null) {
		return [{text: 'scanning /proc and /sys/kernel/livepatch...', dim: true}];
	}

	const progress = history.transition;
	if (progress === null) {
		const last = history.lastTransition;
		const segments: Segment[] = [{text: 'no transition', bold: true}];
		if (last === null) {
			segments.push({text: ' running (none seen since klptop started)', dim: true});
			return segments;
		}

		segments.push({text: `; last: ${lastTransitionWords(history)}`});
		return segments;
	}

	const done = switchedCount(progress);
	const unknown = progress.unknown ?? 0;
	const elapsed =
		progress.elapsedS === null
			? '?'
			: `${progress.startedFrom === 'first-seen' ? '≥' : ''}${formatDuration(progress.elapsedS)}`;
	const segments: Segment[] = [
		{text: `${g.pointer} `, color: 'yellow'},
		{text: progress.direction, bold: true, color: progress.direction === 'patching' ? 'green' : 'magenta'},
		{text: ' '},
		{text: clean(progress.patch), bold: true},
		{text: `  ${theme.ascii ? elapsed.replace('≥', '>=') : elapsed}`},
		{text: `  ${progress.pending}/${progress.total} pending `},
		// Unreadable patch_state (not root): counted neither pending nor switched.
		...(unknown > 0 ? [{text: `${unknown} unknown `, color: 'yellow'}] : []),
	];
	// The bar gets what is left of a fixed budget so the rest of the line survives at 80 columns.
	const barWidth = width >= 120 ? 20 : width >= 90 ? 12 : 8;
	segments.push(
		{text: progressBar(done, progress.total, barWidth, theme.ascii), color: 'green'},
		{text: ` ${percent(done, progress.total)}%`},
		{text: `  ${formatRate(progress.ratePerS)}`},
	);
	// A capture is a still picture: no countdown to a round that happened long ago.
	if (progress.nextSignalS !== null && props.source?.capturedAt === undefined) {
		segments.push({text: `  fake signal in ${formatDuration(progress.nextSignalS)}`});
	}

	if (progress.reversals > 0) {
		segments.push({text: `  reversed ${progress.reversals}x`, color: 'magenta'});
	}

	return segments;
}

function countsLine(props: HeaderProps): Segment[] {
	const {history, scanError, loadingAll} = props;
	if (scanError !== null) {
		return [{text: `scan failed: ${clean(scanError)}`, color: 'red', bold: true}];
	}

	if (history === null) {
		return [{text: ' '}];
	}

	const {snapshot} = history;
	const counts = snapshot.tasks.byPatchState;
	const segments: Segment[] = [{text: `threads ${snapshot.tasks.total}`}];
	if (snapshot.transition !== null) {
		const unknown = snapshot.tasks.unknown ?? 0;
		segments.push({
			text: ` (${counts['1']} patched, ${counts['0']} unpatched${unknown > 0 ? `, ${unknown} unknown: patch_state unreadable` : ''})`,
		});
	}

	const blockers = snapshot.blockers.length;
	segments.push({
		text: `  blockers ${blockers}`,
		bold: blockers > 0,
		color: blockers > 0 ? 'red' : undefined,
	});
	if (blockers > 0) {
		const byClass = new Map<string, number>();
		for (const blocker of snapshot.blockers) {
			byClass.set(blocker.class, (byClass.get(blocker.class) ?? 0) + 1);
		}

		segments.push({text: `: ${[...byClass].map(([name, count]) => `${count} ${name}`).join(', ')}`});
	}

	if (history.hiddenBlocker) {
		segments.push({
			text: '  the transition waits for a thread not visible here (idle task, hidepid, not root)',
			color: 'yellow',
		});
	}

	if (!snapshot.privileges.stacksReadable && blockers > 0) {
		segments.push({text: '  stacks unreadable (not root)', dim: true});
	}

	if (loadingAll) {
		segments.push({text: '  loading all threads...', dim: true});
	}

	return segments;
}

export function Header(props: HeaderProps) {
	const {width, theme} = props;
	return (
		<Box flexDirection="column" width={width}>
			<Line segments={sourceLine(props)} width={width} theme={theme} />
			<Line segments={transitionLine(props)} width={width} theme={theme} />
			<Line segments={countsLine(props)} width={width} theme={theme} />
		</Box>
	);
}
