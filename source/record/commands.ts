/**
The command-line side of recordings, for `source/cli/main.ts`: where to start a replay (`--at`),
and `--replay FILE` as `--once` (text or `--json`) or as `-b` frames. The dashboard on a recording
and `klptop report` start from here too; `klptop record` is `recorder.ts`.
*/
import {parseAt, UsageError} from '../cli/flags.js';
import type {AtTime} from '../cli/flags.js';
import {clean} from '../model/sanitize.js';
import type {History} from '../model/types.js';
import {toJsonDocument} from '../output/json.js';
import type {ScriptIo} from '../script/common.js';
import {describeError, watchBrokenPipe} from '../script/common.js';
import type {Feed} from '../ui/feed.js';
import {RecordingError} from './format.js';
import {loadRecording} from './load.js';
import type {Recording} from './load.js';
import {createReplay} from './replay.js';
import {buildReport} from './report.js';
import {reportJson, reportText} from './report-text.js';
import type {Replay} from './replay.js';

/** Open a recording for replay; warnings (a torn last record) go to stderr. Throws `RecordingError`. */
export function openReplay(file: string, io: ScriptIo): Replay {
	const recording = loadRecording(file);
	for (const warning of recording.warnings) io.stderr.write(`klptop: warning: ${clean(warning)}\n`);
	return createReplay(recording);
}

/** The time `--at` names in this recording, ms since the epoch. */
export function resolveAt(at: AtTime, recording: Recording): number {
	const start = recording.header.start;
	switch (at.kind) {
		case 'offset':
			return start + at.seconds * 1000;
		case 'time':
			return at.ms;
		case 'clock': {
			// That clock time on the recording's first (local) day, or the day after when it is earlier.
			const day = new Date(start);
			day.setHours(0, 0, 0, 0);
			const time = day.getTime() + at.seconds * 1000;
			return time < start - 1000 ? time + 86_400_000 : time;
		}
	}
}

/**
The poll to start at: the one `--at` names (the last poll at or before it; a time outside the
recording is an error), else the first poll that shows a transition, else the last poll.
*/
export function startIndex(replay: Replay, at: string | undefined): number {
	if (at === undefined) {
		for (let i = 0; i < replay.count; i++) {
			if (replay.snapshotAt(i).transition !== null) return i;
		}

		return replay.count - 1;
	}

	const time = resolveAt(parseAt(at), replay.recording);
	const first = replay.timeAt(0);
	const last = replay.timeAt(replay.count - 1);
	if (time < first - 1000 || time > last + 60_000) {
		throw new UsageError(
			`--at ${at} is outside the recording (${new Date(first).toISOString()} to ${new Date(last).toISOString()})`,
		);
	}

	return replay.indexAt(time);
}

/** What a replayed document adds to the `--json` document (additive field `replay`). */
function replayJson(replay: Replay, index: number, history: History) {
	const {header} = replay.recording;
	return {
		...toJsonDocument(history),
		replay: {
			file: clean(replay.recording.name),
			host: clean(header.host),
			recorded_kernel: header.kernel === null ? null : clean(header.kernel),
			poll: index + 1,
			polls: replay.count,
		},
	};
}

/** The line a replayed text frame starts with: which recording, which poll, when. */
function replayTitle(replay: Replay, index: number): string {
	return (
		`Replay of ${clean(replay.recording.name)}: host ${clean(replay.recording.header.host)}, ` +
		`recorded poll ${index + 1}/${replay.count} at ${new Date(replay.timeAt(index)).toISOString()}`
	);
}

export type ReplayPrintOptions = {
	readonly replay: Replay;
	readonly start: number;
	readonly json: boolean;
	readonly width: number;
	/** -b: frames from `start` on; null: one frame (`--once`). */
	readonly batch: {readonly n: number | null; readonly everyS: number | null} | null;
	readonly signal?: AbortSignal;
};

/**
`--once` / `-b` on a recording. `-b` prints one frame per recorded poll from the start position on
(or one per `-d` seconds of recorded time: the last poll at or before each step), without waiting,
until the end of the recording or `-n` frames.
*/
export async function printReplay(options: ReplayPrintOptions, io: ScriptIo): Promise<number> {
	const {replay, start, json, width, batch} = options;
	const {toText} = await import('../output/text.js');
	const frame = (index: number) => {
		const history = replay.historyAt(index);
		return json
			? JSON.stringify(replayJson(replay, index, history), null, batch === null ? 2 : undefined)
			: `${replayTitle(replay, index)}\n${toText(history, {width, color: false})}`;
	};

	if (batch === null) {
		io.stdout.write(frame(start) + '\n');
		return 0;
	}

	const controller = new AbortController();
	options.signal?.addEventListener('abort', () => controller.abort(), {once: true});
	const detach = watchBrokenPipe(io.stdout, controller);
	try {
		const t0 = replay.timeAt(start);
		const last = replay.timeAt(replay.count - 1);
		for (let printed = 0; batch.n === null || printed < batch.n; printed++) {
			let index: number;
			if (batch.everyS === null) {
				index = start + printed;
				if (index >= replay.count) break;
			} else {
				const target = t0 + printed * batch.everyS * 1000;
				if (target > last) break;
				index = replay.indexAt(target);
			}

			io.stdout.write(json || printed === 0 ? frame(index) + '\n' : '\n' + frame(index) + '\n');
			// Let an EPIPE (`| head`) or a signal arrive between frames.
			await new Promise<void>((resolve) => {
				setImmediate(resolve);
			});
			if (controller.signal.aborted) break;
		}
	} finally {
		detach();
	}

	return 0;
}

/** Run `body`; a recording that cannot be read is one line on stderr and status 2, never a trace. */
export async function withRecordingErrors(io: ScriptIo, body: () => Promise<number>): Promise<number> {
	try {
		return await body();
	} catch (error) {
		if (error instanceof RecordingError) {
			io.stderr.write(`klptop: ${clean(error.message)}\n`);
			return 2;
		}

		throw error;
	}
}

export type ReplayRunOptions = {
	readonly file: string;
	readonly at: string | undefined;
	readonly json: boolean;
	/** `--once`, or stdout is no terminal. */
	readonly once: boolean;
	readonly batch: {readonly n: number | null; readonly everyS: number | null} | null;
	readonly width: number;
	readonly signal?: AbortSignal;
	/** Start the dashboard on this feed (main.ts: the same runDashboard as live). */
	readonly dashboard: (feed: Feed) => Promise<number>;
};

/** `klptop --replay FILE [--at TIME]`: the dashboard, `--once` or `-b` on a recording. */
export async function runReplay(options: ReplayRunOptions, io: ScriptIo): Promise<number> {
	return withRecordingErrors(io, async () => {
		const replay = openReplay(options.file, io);
		const start = startIndex(replay, options.at);
		if (options.batch !== null || options.once) {
			return printReplay(
				{
					replay,
					start,
					json: options.json,
					width: options.width,
					batch: options.batch,
					signal: options.signal,
				},
				io,
			);
		}

		const {createReplayFeed} = await import('../ui/replay-feed.js');
		return options.dashboard(createReplayFeed(replay, start));
	});
}

export type ReportRunOptions = {
	readonly file: string;
	readonly json: boolean;
	/** Also write the timeline chart here (self-contained SVG). */
	readonly svg: string | null;
};

/** `klptop report FILE [--json] [--svg OUT.svg]`: the post-mortem of every transition recorded. */
export async function runReport(options: ReportRunOptions, io: ScriptIo): Promise<number> {
	return withRecordingErrors(io, async () => {
		const recording = loadRecording(options.file);
		for (const warning of recording.warnings) io.stderr.write(`klptop: warning: ${clean(warning)}\n`);
		const report = buildReport(recording);
		if (options.svg !== null) {
			const {writeTextFile} = await import('./output-file.js');
			const {reportSvg} = await import('./svg.js');
			try {
				writeTextFile(options.svg, reportSvg(report));
			} catch (error) {
				io.stderr.write(`klptop report: cannot write ${clean(options.svg)}: ${describeError(error)}\n`);
				return 2;
			}

			io.stderr.write(`klptop report: wrote ${clean(options.svg)} (open it in a browser)\n`);
		}

		io.stdout.write(options.json ? JSON.stringify(reportJson(report), null, 2) + '\n' : reportText(report));
		return 0;
	});
}
