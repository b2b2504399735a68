/**
`klptop -b [-n N] [-d SECONDS] [--json]`: frames like `top -b`.

Every frame is one scan folded into the history of the run, so history-derived fields (`stuck_s`,
`elapsed_s`, `rate_per_s`, `next_signal_s`) grow from frame to frame. Text frames are the `--once`
text, separated by a blank line; `--json` writes NDJSON: one schema_version 1 document per line.
stdout carries data only; diagnostics go to stderr. Without `-n` it runs until interrupted (the
signal passed in) or until stdout goes away (EPIPE: `klptop -b | head`).

With the emulator the delay is virtual time (see `common.ts`): fast and deterministic.
*/
import {foldSnapshot} from '../model/history.js';
import type {History} from '../model/types.js';
import {toJsonLine} from '../output/json.js';
import type {IdFilter} from '../output/only.js';
import {noLivepatchMessage, toText} from '../output/text.js';
import {createReader} from '../sources/reader.js';
import type {ScriptClock, ScriptIo, ScriptSource} from './common.js';
import {clockFor, linkedController, watchBrokenPipe} from './common.js';

export type BatchOptions = {
	readonly opened: ScriptSource;
	/** Frames to print; null or undefined: until interrupted. */
	readonly n?: number | null;
	/** Seconds between frames. */
	readonly delayS: number;
	readonly json: boolean;
	/** Text width in columns. @default 80 */
	readonly width?: number;
	/** `--pid`/`--tid`: only these blockers are listed. */
	readonly only?: IdFilter | null;
	/** Aborts the run after the current frame. */
	readonly signal?: AbortSignal;
	/** Tests only: the clock (default: virtual for the emulator, real otherwise). */
	readonly clock?: ScriptClock;
};

/** One frame of output, without the trailing newline. */
export function batchFrame(
	history: History,
	json: boolean,
	width: number,
	only: IdFilter | null = null,
): string {
	return json ? toJsonLine(history, {only}) : toText(history, {width, color: false, only});
}

/**
Run batch mode. Returns the exit code: 0, or 2 on bad options or a world without livepatch (the
reason on stderr after the first frame, which `--json` still prints; text prints no frame).
*/
export async function runBatch(options: BatchOptions, io: ScriptIo): Promise<number> {
	const {opened, json} = options;
	const n = options.n ?? null;
	if (n !== null && !(Number.isInteger(n) && n >= 1)) {
		io.stderr.write('klptop: -n takes a whole number of frames, at least 1\n');
		return 2;
	}

	if (!(Number.isFinite(options.delayS) && options.delayS >= 0)) {
		io.stderr.write('klptop: -d takes a number of seconds\n');
		return 2;
	}

	const width = Math.max(20, Math.floor(options.width ?? 80));
	const clock = options.clock ?? clockFor(opened);
	const controller = linkedController(options.signal);
	const detach = watchBrokenPipe(io.stdout, controller);
	const reader = createReader(opened.port, opened.source);
	let history: History | null = null;
	try {
		for (let frame = 0; n === null || frame < n; frame++) {
			if (frame > 0) {
				await clock.sleep(options.delayS * 1000, controller.signal);
			}

			if (controller.signal.aborted) {
				break;
			}

			history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: clock.now}));
			if (!history.snapshot.kernel.livepatch) {
				if (json) {
					io.stdout.write(toJsonLine(history, {only: options.only}) + '\n');
				}

				io.stderr.write(noLivepatchMessage(history.snapshot, {width: io.stderr.columns ?? 80}) + '\n');
				return 2;
			}

			const text = batchFrame(history, json, width, options.only ?? null);
			io.stdout.write(json || frame === 0 ? text + '\n' : '\n' + text + '\n');
		}
	} finally {
		detach();
	}

	return 0;
}
