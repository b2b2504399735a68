/**
Appending a recording: frames of what changed, our actions, the end marker, rotation at the size
cap. Writes nothing for an idle poll and only the deltas in a transition, so a recorder can run for
months (ARCHITECTURE.md, Recordings).
*/
import crypto from 'node:crypto';
import fs from 'node:fs';
import type {Snapshot} from '../model/types.js';
import type {AuditEntry} from '../state/audit.js';
import {encodeFrame, isEmptyFrame, recordedSnapshot} from './delta.js';
import type {RecordingHeader, RecordPayload} from './format.js';
import {encodeRecord, magicLine, readMagic, RecordingError, recordingSchema} from './format.js';

/** @default 10 minutes */
export const keyframeEveryMs = 10 * 60_000;
/** @default 1 minute */
export const idleTickMs = 60_000;

export type WriterOptions = {
	readonly file: string;
	/** Rotate when the file reaches this many bytes. */
	readonly maxBytes: number;
	/** Old files kept (FILE.1 ... FILE.keep). @default 3 */
	readonly keep?: number;
	readonly host: string;
	readonly intervalS: number;
	readonly source: RecordingHeader['source'];
	readonly klptopVersion: string;
	/** Recording start, ms since the epoch. */
	readonly start: number;
};

export type RecordingWriter = {
	readonly header: RecordingHeader;
	/** Record one poll (or nothing, when an idle poll changed nothing worth a frame). */
	poll(snapshot: Snapshot): void;
	/** Record one of our actions (from the audit log). */
	action(entry: AuditEntry): void;
	/** Write the end marker (at `time`, ms since the epoch), flush and close. */
	close(reason: string, time: number): void;
	/** Bytes written by this writer over all its files. */
	readonly stats: {bytes: number; frames: number; skipped: number; rotations: number};
};

/** FILE.n for n >= 1, FILE for 0. */
export function segmentPath(file: string, n: number): string {
	return n === 0 ? file : `${file}.${n}`;
}

/** FILE -> FILE.1 -> ... -> FILE.keep (the oldest dropped). */
function rotate(file: string, keep: number): void {
	fs.rmSync(segmentPath(file, keep), {force: true});
	for (let n = keep - 1; n >= 0; n--) {
		const from = segmentPath(file, n);
		if (fs.existsSync(from)) fs.renameSync(from, segmentPath(file, n + 1));
	}
}

/** Refuse to rotate away a file that is not a recording (a typo in -o must not eat /etc/passwd). */
function checkExisting(file: string): boolean {
	let fd: number;
	try {
		fd = fs.openSync(file, 'r');
	} catch (error) {
		if ((error as {code?: string}).code === 'ENOENT') return false;
		throw error;
	}

	try {
		const probe = Buffer.alloc(64);
		const n = fs.readSync(fd, probe, 0, 64, 0);
		if (n === 0) return true;
		readMagic(probe.subarray(0, n), file);
		return true;
	} catch (error) {
		if (error instanceof RecordingError) {
			throw new RecordingError(`${file} exists and is not a klptop recording: not touching it`);
		}

		throw error;
	} finally {
		fs.closeSync(fd);
	}
}

export function createWriter(options: WriterOptions): RecordingWriter {
	const keep = options.keep ?? 3;
	const {file, start} = options;
	const id = crypto.randomBytes(6).toString('hex');
	let segment = 0;
	let fd: number | null = null;
	let size = 0;
	/** The snapshot as a reader will rebuild it from what was written so far. */
	let recorded: Snapshot | null = null;
	let lastWrittenT = -Infinity;
	let lastKeyT = -Infinity;
	const stats = {bytes: 0, frames: 0, skipped: 0, rotations: 0};
	let header: RecordingHeader = {
		k: 'header',
		format: 'klptop-recording',
		schema: recordingSchema,
		id,
		segment,
		host: options.host,
		kernel: null,
		start,
		intervalS: options.intervalS,
		source: options.source,
		klptopVersion: options.klptopVersion,
	};

	const write = (buffer: Buffer) => {
		fs.writeSync(fd!, buffer);
		size += buffer.length;
		stats.bytes += buffer.length;
	};

	const open = (kernel: string | null) => {
		if (checkExisting(file)) rotate(file, keep);
		fd = fs.openSync(
			file,
			fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_APPEND,
			0o600,
		);
		size = 0;
		header = {...header, segment, kernel};
		write(magicLine());
		write(encodeRecord(header));
		recorded = null;
	};

	const append = (payload: RecordPayload) => {
		write(encodeRecord(payload));
	};

	const closeFile = () => {
		if (fd === null) return;
		try {
			fs.fsyncSync(fd);
		} finally {
			fs.closeSync(fd);
			fd = null;
		}
	};

	return {
		get header() {
			return header;
		},
		stats,
		poll(snapshot) {
			if (fd === null) open(snapshot.kernel.release);
			const t = Math.max(0, snapshot.time - start);
			const busy = snapshot.transition !== null || (recorded?.transition ?? null) !== null;
			const tick = t - lastWrittenT >= idleTickMs;
			const full = recorded === null || t - lastKeyT >= keyframeEveryMs;
			const frame = encodeFrame(recorded, snapshot, {t, full, skipMinor: !busy && !tick});
			if (!busy && !tick && isEmptyFrame(frame)) {
				stats.skipped++;
				return;
			}

			append(frame);
			stats.frames++;
			recorded = recordedSnapshot(recorded, snapshot, frame);
			lastWrittenT = t;
			if (frame.k === 'f') lastKeyT = t;
			if (size >= options.maxBytes) {
				closeFile();
				rotate(file, keep);
				stats.rotations++;
				segment++;
				lastKeyT = -Infinity;
				open(snapshot.kernel.release);
			}
		},
		action(entry) {
			if (fd === null) return;
			append({k: 'a', t: Math.max(0, entry.time - start), entry});
		},
		close(reason, time) {
			if (fd === null) return;
			append({k: 'end', t: Math.max(0, lastWrittenT, time - start), reason});
			closeFile();
		},
	};
}
