/**
The recording file format, schema 1: a `klptop-recording 1` text line, then length-prefixed,
CRC-checked records, each zlib-compressed on its own so that a killed recorder loses its last
record only (ARCHITECTURE.md, Recordings).
*/
import {crc32, deflateRawSync, inflateRawSync} from 'node:zlib';
import type {AuditEntry} from '../state/audit.js';
import type {
	Blocker,
	KernelLogLine,
	PatchInfo,
	SourceInfo,
	TaskCounts,
	TransitionInfo,
} from '../model/types.js';

/** The schema this klptop writes and the newest it reads. */
export const recordingSchema = 1;

export const magicWord = 'klptop-recording';

/** Bytes of the per-record prefix: length and CRC. */
export const recordPrefixBytes = 8;

/** A record larger than this is damage, not data (a 100,000-blocker keyframe compresses far below). */
export const maxRecordBytes = 256 * 1024 * 1024;

/** A file that cannot be read as a recording: the message is one line for the operator. */
export class RecordingError extends Error {}

export type RecordingHeader = {
	readonly k: 'header';
	readonly format: 'klptop-recording';
	readonly schema: number;
	/** Random id shared by the segments of one recorder run (FILE, FILE.1, ...). */
	readonly id: string;
	/** 0 for the first file of a run, +1 at each rotation. */
	readonly segment: number;
	readonly host: string;
	readonly kernel: string | null;
	/** Recording start, ms since the epoch: every frame's `t` counts from here. */
	readonly start: number;
	readonly intervalS: number;
	readonly source: SourceInfo;
	readonly klptopVersion: string;
};

/** A blocker as stored: its stack is an index into the record's `stacks` table (or null). */
export type StoredBlocker = Omit<Blocker, 'stack'> & {readonly stack: number | null};

/**
One poll. `f` (full): every field present. `d` (delta): only the fields that changed since the
previous frame; `blockers` then holds the added or changed ones and `gone` the keys of those that
stopped blocking. A delta with only `t` says "polled, nothing changed".
*/
export type FramePayload = {
	readonly k: 'f' | 'd';
	/** ms since the header's `start`. */
	readonly t: number;
	readonly source?: SourceInfo;
	readonly kernel?: {
		readonly release: string | null;
		readonly livepatch: boolean;
		readonly bootTime: number | null;
	};
	readonly privileges?: {readonly root: boolean; readonly stacksReadable: boolean};
	readonly patches?: readonly PatchInfo[];
	readonly transition?: TransitionInfo | null;
	/** Livepatch modules left loaded with no patch listed (Snapshot.leftoverModules); null: none. */
	readonly leftoverModules?: readonly string[] | null;
	readonly tasks?: TaskCounts;
	/** Raw stack lines, shared by the blockers of this record that sleep in the same place. */
	readonly stacks?: ReadonlyArray<readonly string[]>;
	readonly blockers?: readonly StoredBlocker[];
	readonly gone?: readonly string[];
	/** The kernel log lines this poll read (livepatch lines; the per-task ones are left out). */
	readonly log?: readonly KernelLogLine[];
	readonly warnings?: readonly string[];
};

/** One of our own actions, from the audit log (`source/state/audit.ts`). */
export type ActionPayload = {readonly k: 'a'; readonly t: number; readonly entry: AuditEntry};

/** The recorder stopped cleanly (a signal, -n polls done). */
export type EndPayload = {readonly k: 'end'; readonly t: number; readonly reason: string};

export type RecordPayload = RecordingHeader | FramePayload | ActionPayload | EndPayload;

/*
The preset dictionary: JSON this format writes over and over. Deflate finds matches in it, so a
small delta record costs a few bytes instead of spelling its keys out. Part of schema 1, forever.
*/
const dictionary = Buffer.from(
	[
		'"wchan":null,"stack":null,"matchedFrame":null,"matchedBy":null,"remedies":["reverse","force"]',
		'"remedies":["nudge","wait","reverse","force"]},{"tid":',
		'"class":"interruptible","function":"',
		'"class":"uninterruptible","function":"',
		'"class":"running","function":null,"object":null',
		'"patchState":0,"uid":0,"kthread":false,"starttime":',
		'"comm":"kworker/',
		'"state":"S","ppid":1,"flags":4194560,',
		'"object":"vmlinux","wchan":"',
		'"matchedBy":"stack","remedies":["wait","reverse","force"]',
		'"objects":[{"name":"vmlinux","patched":true,"functions":[{"name":"',
		'","sympos":1}]}]},{"name":"',
		'"enabled":true,"transition":false,"replace":null,"stackOrder":null,"hasForce":true,"hasSignal":false,',
		'"transition":{"patch":"',
		'","direction":"patching","target":1},"tasks":{"total":',
		',"byPatchState":{"-1":0,"0":',
		',"1":0}},"blockers":[{"tid":',
		'"gone":["',
		'"log":[{"bootSeconds":',
		',"text":"livepatch: signaling remaining tasks"}',
		',"text":"livepatch: \'',
		'\': starting patching transition"}',
		'"stacks":[["[<0>] ',
		'"k":"d","t":',
		'{"k":"f","t":',
	].join(''),
	'utf8',
);

/** The file's first line for a schema. */
export function magicLine(schema: number = recordingSchema): Buffer {
	return Buffer.from(`${magicWord} ${schema}\n`, 'ascii');
}

/** One record, framed and compressed, ready to append. */
export function encodeRecord(payload: RecordPayload): Buffer {
	const compressed = deflateRawSync(Buffer.from(JSON.stringify(payload), 'utf8'), {level: 6, dictionary});
	const prefix = Buffer.allocUnsafe(recordPrefixBytes);
	prefix.writeUInt32BE(compressed.length, 0);
	prefix.writeUInt32BE(crc32(compressed), 4);
	return Buffer.concat([prefix, compressed]);
}

/**
The schema a file's first line names. Throws `RecordingError` for anything that is not a
recording, or a newer schema than this klptop reads. Returns the offset of the first record.
*/
export function readMagic(bytes: Buffer, name: string): {readonly schema: number; readonly offset: number} {
	const probe = bytes.subarray(0, 64).toString('latin1');
	const newline = probe.indexOf('\n');
	const m = /^klptop-recording (\d{1,6})$/.exec(newline < 0 ? '' : probe.slice(0, newline));
	if (m === null) {
		if (bytes.length < magicWord.length && magicWord.startsWith(probe)) {
			throw new RecordingError(`${name}: truncated recording (${bytes.length} bytes, no header)`);
		}

		throw new RecordingError(`${name}: not a klptop recording (it does not start with '${magicWord}')`);
	}

	const schema = Number(m[1]);
	if (schema > recordingSchema) {
		throw new RecordingError(
			`${name}: recording schema ${schema} is newer than this klptop reads (${recordingSchema}): use a newer klptop`,
		);
	}

	return {schema, offset: newline + 1};
}

export type DecodedRecords = {
	readonly records: RecordPayload[];
	/** A torn last record (the recorder died mid-write): bytes left unread at the end. */
	readonly tornBytes: number;
};

/**
Every record after the magic line. A torn last record is left out (`tornBytes`); a damaged one
(bad CRC, bad deflate data, bad JSON) anywhere throws `RecordingError` with its offset.
*/
export function decodeRecords(bytes: Buffer, offset: number, name: string): DecodedRecords {
	const records: RecordPayload[] = [];
	let at = offset;
	while (at < bytes.length) {
		if (bytes.length - at < recordPrefixBytes) {
			return {records, tornBytes: bytes.length - at};
		}

		const length = bytes.readUInt32BE(at);
		const crc = bytes.readUInt32BE(at + 4);
		if (length === 0 || length > maxRecordBytes) {
			throw new RecordingError(`${name}: corrupt record at byte ${at} (length ${length})`);
		}

		const end = at + recordPrefixBytes + length;
		if (end > bytes.length) {
			return {records, tornBytes: bytes.length - at};
		}

		const data = bytes.subarray(at + recordPrefixBytes, end);
		if (crc32(data) !== crc) {
			throw new RecordingError(`${name}: corrupt record at byte ${at} (checksum mismatch)`);
		}

		let payload: unknown;
		try {
			payload = JSON.parse(inflateRawSync(data, {dictionary}).toString('utf8'));
		} catch {
			throw new RecordingError(`${name}: corrupt record at byte ${at} (undecodable)`);
		}

		if (typeof payload !== 'object' || payload === null || typeof (payload as {k?: unknown}).k !== 'string') {
			throw new RecordingError(`${name}: corrupt record at byte ${at} (not a record)`);
		}

		records.push(payload as RecordPayload);
		at = end;
	}

	return {records, tornBytes: 0};
}
