/**
`klptop record`: poll the source headless and append what changed to FILE until a signal or `-n`
polls, with the end marker written and the file closed either way. It also picks our actions from
the audit log and announces itself so that `klptop capture` can embed its last minutes.
*/
import type {ScriptClock, ScriptIo, ScriptSource} from '../script/common.js';
import {clockFor, describeError, linkedController} from '../script/common.js';
import {clean} from '../model/sanitize.js';
import {createReader} from '../sources/reader.js';
import {tailAuditLog} from '../state/audit.js';
import {resolveStateDir} from '../state/paths.js';
import {announceRecorder} from '../state/recorder.js';
import {RecordingError} from './format.js';
import {createWriter} from './writer.js';
import type {RecordingWriter} from './writer.js';

export type RecordOptions = {
	readonly opened: ScriptSource;
	readonly file: string;
	readonly delayS: number;
	/** Rotate at this many MB. @default 64 */
	readonly maxSizeMb?: number | null;
	/** Polls to record; null: until a signal. */
	readonly n?: number | null;
	/** The recorded host's name for the header. */
	readonly host: string;
	readonly version: string;
	readonly signal?: AbortSignal;
	/** Where the audit log and the announcement live. @default resolveStateDir() */
	readonly stateDir?: string;
	/** Tests only. */
	readonly clock?: ScriptClock;
};

export const defaultMaxSizeMb = 64;

/** Returns the exit code: 0 after a clean stop, 1 when the file could not be written, 2 on bad options. */
export async function runRecord(options: RecordOptions, io: ScriptIo): Promise<number> {
	const {opened, file} = options;
	const n = options.n ?? null;
	const maxSizeMb = options.maxSizeMb ?? defaultMaxSizeMb;
	if (file === '' || file.endsWith('/')) {
		io.stderr.write('klptop record: -o takes a file name, e.g. -o /var/log/klptop/transitions.rec\n');
		return 2;
	}

	if (!(options.delayS >= 0.1 && options.delayS <= 3600)) {
		io.stderr.write('klptop record: -d takes seconds between 0.1 and 3600\n');
		return 2;
	}

	if (!(maxSizeMb >= 0.001 && maxSizeMb <= 1_000_000)) {
		io.stderr.write('klptop record: --max-size takes megabytes (at least 0.001)\n');
		return 2;
	}

	if (n !== null && !(Number.isInteger(n) && n >= 1)) {
		io.stderr.write('klptop record: -n takes a whole number of polls, at least 1\n');
		return 2;
	}

	const clock = options.clock ?? clockFor(opened);
	const controller = linkedController(options.signal);
	const stateDir = options.stateDir ?? resolveStateDir();
	const audit = tailAuditLog(stateDir);
	const reader = createReader(opened.port, opened.source);
	let writer: RecordingWriter | null = null;
	let unannounce = () => {};
	let polls = 0;
	let code = 0;
	let reason = 'stopped by a signal';
	try {
		for (; n === null || polls < n; polls++) {
			if (polls > 0) await clock.sleep(options.delayS * 1000, controller.signal);
			if (controller.signal.aborted) break;
			const snapshot = reader.scan({threads: 'blockers', clock: clock.now});
			if (writer === null) {
				writer = createWriter({
					file,
					maxBytes: maxSizeMb * 1024 * 1024,
					host: options.host,
					intervalS: options.delayS,
					source: opened.source,
					klptopVersion: options.version,
					start: snapshot.time,
				});
				writer.poll(snapshot);
				unannounce = announceRecorder(stateDir, file, snapshot.time, opened.source);
				io.stderr.write(
					`klptop record: recording ${clean(options.host)} to ${clean(file)} every ${options.delayS}s ` +
						`(rotated at ${maxSizeMb} MB); SIGTERM or Ctrl-C stops\n`,
				);
				continue;
			}

			for (const entry of audit.next()) writer.action(entry);
			writer.poll(snapshot);
		}

		if (n !== null && polls >= n) reason = `${n} polls done`;
	} catch (error) {
		io.stderr.write(
			`klptop record: ${error instanceof RecordingError ? clean(error.message) : `cannot write ${clean(file)}: ${describeError(error)}`}\n`,
		);
		code = 1;
		reason = 'write failed';
	} finally {
		unannounce();
		if (writer !== null) {
			try {
				writer.close(reason, clock.now());
			} catch (error) {
				io.stderr.write(`klptop record: cannot close ${clean(file)}: ${describeError(error)}\n`);
				code = 1;
			}
		}
	}

	if (writer !== null) {
		const {bytes, frames, skipped, rotations} = writer.stats;
		io.stderr.write(
			`klptop record: ${reason}: ${polls} polls, ${frames} frames written (${skipped} idle polls with nothing new), ` +
				`${Math.max(1, Math.round(bytes / 1024))} KiB${rotations > 0 ? `, ${rotations} rotations` : ''}\n`,
		);
	}

	return code;
}
