/**
Reading a recording back, with the older files of the same run: anything that is not a readable
recording is a `RecordingError` with a one-line message; a torn last record is a warning.
*/
import fs from 'node:fs';
import {gunzipSync} from 'node:zlib';
import {isArchivePath} from '../sources/root-kind.js';
import {parseTar} from '../sources/tar.js';
import type {TarEntry} from '../sources/tar.js';
import type {AuditEntry} from '../state/audit.js';
import {decodeRecords, readMagic, RecordingError} from './format.js';
import type {FramePayload, RecordingHeader} from './format.js';
import {segmentPath} from './writer.js';

/** What a capture archive calls its embedded recording (`excerpt.ts` writes it). */
export const embeddedRecordingName = 'recording.klptop';
const embeddedName = embeddedRecordingName;

/** Older files looked at for the same run (FILE.1 ... FILE.9). */
const maxSegments = 9;

export type RecordedAction = {readonly time: number; readonly entry: AuditEntry};

export type Recording = {
	/** The file asked for (as given). */
	readonly name: string;
	/** The header of the oldest file read (host, kernel, start, interval). */
	readonly header: RecordingHeader;
	/** Frames in order; each `t` counts from `header.start`. */
	readonly frames: readonly FramePayload[];
	readonly actions: readonly RecordedAction[];
	/** When and why the recorder stopped cleanly, null when it did not (still running, or killed). */
	readonly end: {readonly time: number; readonly reason: string} | null;
	readonly warnings: readonly string[];
	/** Files read, oldest first. */
	readonly files: readonly string[];
};

type Segment = {
	readonly file: string;
	readonly header: RecordingHeader;
	readonly frames: FramePayload[];
	readonly actions: RecordedAction[];
	readonly end: Recording['end'];
	readonly tornBytes: number;
};

/** The usual reasons in the words `cat` would use (as `--root` says them). */
const errnoWords: Readonly<Record<string, string>> = {
	ENOENT: 'no such file or directory',
	ENOTDIR: 'not a directory',
	EISDIR: 'is a directory (give a recording file)',
	EACCES: 'permission denied',
};

function readBytes(file: string): Buffer {
	try {
		return fs.readFileSync(file);
	} catch (error) {
		const code = (error as {code?: string}).code;
		const why = code === undefined ? (error as Error).message : (errnoWords[code] ?? code);
		throw new RecordingError(`cannot read ${file}: ${why}`);
	}
}

/** One file's records. */
export function decodeSegment(bytes: Buffer, file: string): Segment {
	const {offset} = readMagic(bytes, file);
	const {records, tornBytes} = decodeRecords(bytes, offset, file);
	const first = records[0];
	if (first?.k !== 'header') {
		throw new RecordingError(
			records.length === 0 && tornBytes > 0
				? `${file}: truncated recording (its header is cut short)`
				: `${file}: corrupt recording (no header record)`,
		);
	}

	const header = first;
	if (header.schema > 1 || typeof header.start !== 'number' || !Number.isFinite(header.start)) {
		throw new RecordingError(`${file}: corrupt recording (bad header)`);
	}

	const frames: FramePayload[] = [];
	const actions: RecordedAction[] = [];
	let end: Recording['end'] = null;
	for (const record of records.slice(1)) {
		if (typeof (record as {t?: unknown}).t !== 'number') {
			throw new RecordingError(`${file}: corrupt recording (a record without a time)`);
		}

		switch (record.k) {
			case 'f':
			case 'd': {
				if (frames.length === 0 && record.k !== 'f') {
					throw new RecordingError(`${file}: corrupt recording (the first frame is not a full snapshot)`);
				}

				frames.push(record);
				break;
			}

			case 'a': {
				actions.push({time: header.start + record.t, entry: record.entry});
				break;
			}

			case 'end': {
				end = {time: header.start + record.t, reason: record.reason};
				break;
			}

			default: {
				// A record kind of a later klptop with the same schema: skipped.
				break;
			}
		}
	}

	return {file, header, frames, actions, end, tornBytes};
}

function headerOf(file: string): RecordingHeader | null {
	try {
		return decodeSegment(readBytes(file), file).header;
	} catch {
		return null;
	}
}

/**
The recording a capture archive embeds (`recording.klptop`, see `excerpt.ts`). Throws
`RecordingError` when the archive cannot be read or holds none.
*/
function loadFromCapture(file: string): Recording {
	let entries: TarEntry[];
	try {
		const bytes = readBytes(file);
		entries = parseTar(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
	} catch (error) {
		if (error instanceof RecordingError) throw error;
		throw new RecordingError(`${file}: not a readable capture archive (${(error as Error).message})`);
	}

	const member = entries.find(
		(entry) =>
			entry.type === 'file' && (entry.name === embeddedName || entry.name.endsWith(`/${embeddedName}`)),
	);
	if (member === undefined) {
		throw new RecordingError(
			`${file}: this capture holds no recording (no klptop record was running when it was taken)`,
		);
	}

	return decodeRecording(member.data, `${file}:${embeddedName}`);
}

/** Read FILE and the older files of its run, or the recording a capture archive embeds. Throws `RecordingError`. */
export function loadRecording(file: string): Recording {
	if (isArchivePath(file)) return loadFromCapture(file);
	const newest = decodeSegment(readBytes(file), file);
	const segments: Segment[] = [newest];
	for (let n = 1; n <= maxSegments && segments[0]!.header.segment > 0; n++) {
		const older = segmentPath(file, n);
		if (!fs.existsSync(older) || headerOf(older)?.id !== newest.header.id) break;
		segments.unshift(decodeSegment(readBytes(older), older));
	}

	return joinSegments(file, segments);
}

/** Decode a recording held in memory (e.g. embedded in a capture archive). Throws `RecordingError`. */
export function decodeRecording(bytes: Buffer, name: string): Recording {
	return joinSegments(name, [decodeSegment(bytes, name)]);
}

function joinSegments(name: string, segments: readonly Segment[]): Recording {
	const warnings: string[] = [];
	const frames: FramePayload[] = [];
	const actions: RecordedAction[] = [];
	const start = segments[0]!.header.start;
	for (const segment of segments) {
		if (segment.tornBytes > 0) {
			warnings.push(
				`${segment.file}: the last record is torn (${segment.tornBytes} bytes: the recorder was stopped mid-write); read up to it`,
			);
		}

		// Frames count from the oldest header's start (a run's files share it; shift if they ever do not).
		const shift = segment.header.start - start;
		for (const frame of segment.frames) frames.push(shift === 0 ? frame : {...frame, t: frame.t + shift});
		actions.push(...segment.actions);
	}

	if (frames.length === 0) {
		throw new RecordingError(`${name}: truncated recording (no poll was recorded)`);
	}

	for (let i = 1; i < frames.length; i++) {
		if (frames[i]!.t < frames[i - 1]!.t) {
			throw new RecordingError(`${name}: corrupt recording (frame ${i} goes back in time)`);
		}
	}

	return {
		name,
		header: segments[0]!.header,
		frames,
		actions: actions.sort((a, b) => a.time - b.time),
		end: segments.at(-1)!.end,
		warnings,
		files: segments.map((segment) => segment.file),
	};
}
