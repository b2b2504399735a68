/**
`klptop capture -o FILE.tar.gz`: what a bug report needs, in one archive that klptop replays with
`klptop --root FILE.tar.gz` (or `--root <extracted dir>`), in the dashboard and in `--once`.

Layout (one top-level directory named after the file):

    klptop-capture-.../sys/kernel/livepatch/...     the livepatch tree (see sources/capture.ts)
    klptop-capture-.../proc/<pid>/task/<tid>/...    stat, status, patch_state (+ wchan, stack of blockers)
    klptop-capture-.../proc/sys/kernel/osrelease, proc/stat (btime), dev/kmsg (livepatch lines)
    klptop-capture-.../klptop.json                  klptop's own view (schema_version 1)
    klptop-capture-.../recording.klptop             a running recorder's last 10 minutes, if one runs
    klptop-capture-.../capture.json                 manifest: version, time, reader uid, counts, errors

The tar stream is gzip-compressed as it is produced and written to a temporary file next to the
target, renamed into place at the end (no half archive under the final name), mode 0600: it holds
every process name and the blockers' kernel stacks.
*/
import {statSync, createWriteStream} from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createGzip} from 'node:zlib';
import {foldSnapshot} from '../model/history.js';
import {clean} from '../model/sanitize.js';
import {toJsonDocument} from '../output/json.js';
import {captureWorld, jsonViewName, manifestName} from '../sources/capture.js';
import type {CaptureManifest, CaptureStats} from '../sources/capture.js';
import type {FsPort} from '../sources/fs-port.js';
import {createReader} from '../sources/reader.js';
import {createTarWriter} from '../sources/tar.js';
import type {ScriptIo, ScriptSource} from './common.js';
import {resolveStateDir} from '../state/paths.js';
import {describeError, replaceFile} from './common.js';

export type CaptureRunOptions = {
	readonly opened: ScriptSource;
	/** Output archive path (`.tar.gz`). */
	readonly output: string;
	/** klptop's version, for the manifest. */
	readonly version: string;
	/**
	Where a running `klptop record` announces itself (its last minutes are embedded); null: embed
	none. @default resolveStateDir()
	*/
	readonly stateDir?: string | null;
};

/** `klptop-capture-20260101T000000Z.tar.gz` for a time. */
export function defaultCaptureName(now: number = Date.now()): string {
	const stamp = new Date(now)
		.toISOString()
		.replaceAll(/[-:]/g, '')
		.replace(/\.\d+Z$/, 'Z');
	return `klptop-capture-${stamp}.tar.gz`;
}

/** The archive's top-level directory: the file name without `.tar.gz`/`.tgz`. */
export function captureTopDir(output: string): string {
	const base = path.basename(output).replace(/\.(?:tar\.gz|tgz|tar)$/i, '');
	const safe = base.replaceAll(/[^\w.+-]/g, '_').replace(/^\.+/, '');
	return safe === '' ? 'klptop-capture' : safe;
}

/** The port, with its kernel log replaced by records already read (so they can be kept raw too). */
function withKmsg(port: FsPort, records: string[] | undefined): FsPort {
	let served = false;
	return {
		readFile: (p) => port.readFile(p),
		readdir: (p) => port.readdir(p),
		exists: (p) => port.exists(p),
		ownerUid: (p) => port.ownerUid(p),
		readerUid: () => port.readerUid(),
		readKmsg() {
			if (records === undefined) {
				return undefined;
			}

			if (served) {
				return [];
			}

			served = true;
			return records;
		},
	};
}

export type CaptureResult = {
	readonly output: string;
	readonly bytes: number;
	readonly threads: number;
	readonly files: number;
	readonly errors: readonly string[];
	/** The recording whose last minutes were embedded, null when none. */
	readonly recording: string | null;
};

/** Write the capture archive. Throws on I/O errors (the temporary file is removed). */
export async function writeCapture(options: CaptureRunOptions): Promise<CaptureResult> {
	const {opened, output} = options;
	const {port, source, emulation} = opened;
	let kmsg: string[] | undefined;
	try {
		kmsg = port.readKmsg();
	} catch {
		kmsg = undefined;
	}

	const clock = emulation ? () => emulation.now() : Date.now;
	const reader = createReader(withKmsg(port, kmsg), source, {clock});
	const snapshot = reader.scan({threads: 'blockers'});
	const history = foldSnapshot(null, snapshot);
	const json = JSON.stringify(toJsonDocument(history), null, 2) + '\n';
	const stats: CaptureStats = {threads: 0, files: 0, errors: new Map()};
	const stateDir = options.stateDir === undefined ? resolveStateDir() : options.stateDir;
	const {embeddedRecordingName, runningRecorderExcerpt} = await import('../record/excerpt.js');
	const recording = stateDir === null ? null : runningRecorderExcerpt(stateDir, source, Date.now());
	const top = captureTopDir(output);
	const created = clock();
	const tar = createTarWriter({mtime: Math.floor(created / 1000)});
	const world = captureWorld(
		port,
		{
			blockers: new Set(snapshot.blockers.map((b) => `${b.tgid}/${b.tid}`)),
			kmsg,
			kmsgKeep: new Set(snapshot.kernelLog.map((line) => line.text)),
		},
		stats,
	);

	const manifest = (): CaptureManifest => ({
		format: 'klptop-capture',
		format_version: 1,
		klptop_version: options.version,
		created: new Date(created).toISOString(),
		reader_uid: port.readerUid(),
		source: {kind: source.kind, root: source.root, scenario: source.scenario},
		threads: stats.threads,
		files: stats.files,
		errors: [...stats.errors].map(([what, n]) => `${what}: ${n}`),
		...(recording === null ? {} : {recording: {file: recording.file, bytes: recording.bytes.length}}),
	});

	async function* chunks(): AsyncGenerator<Buffer> {
		let batch: Buffer[] = [];
		let size = 0;
		const push = function* (parts: Buffer[]): Generator<Buffer> {
			for (const part of parts) {
				batch.push(part);
				size += part.length;
			}

			if (size >= 1 << 20) {
				yield Buffer.concat(batch);
				batch = [];
				size = 0;
			}
		};

		yield* push(tar.directory(top, {mode: 0o755}));
		for (const entry of world) {
			const name = `${top}${entry.path}`;
			const owner = entry.uid === null ? {} : {uid: entry.uid};
			yield* push(
				entry.kind === 'directory'
					? tar.directory(name, {mode: entry.mode, ...owner})
					: tar.file(name, entry.data, {mode: entry.mode, ...owner}),
			);
		}

		yield* push(tar.file(`${top}/${jsonViewName}`, json, {mode: 0o644}));
		if (recording !== null) {
			yield* push(tar.file(`${top}/${embeddedRecordingName}`, recording.bytes, {mode: 0o600}));
		}

		yield* push(
			tar.file(`${top}/${manifestName}`, JSON.stringify(manifest(), null, 2) + '\n', {mode: 0o644}),
		);
		yield* push(tar.end());
		if (size > 0) {
			yield Buffer.concat(batch);
		}
	}

	await replaceFile(output, async (temp) =>
		pipeline(
			Readable.from(chunks()),
			createGzip({level: 6}),
			createWriteStream(temp, {flags: 'wx', mode: 0o600}),
		),
	);

	return {
		output,
		bytes: statSync(output).size,
		threads: stats.threads,
		files: stats.files,
		errors: manifest().errors,
		recording: recording?.file ?? null,
	};
}

/** Run `capture`. Returns 0, or 2 when the archive could not be written. */
export async function runCapture(options: CaptureRunOptions, io: ScriptIo): Promise<number> {
	if (options.output === '' || options.output.endsWith('/')) {
		io.stderr.write('klptop capture: -o takes a file name, e.g. -o capture.tar.gz\n');
		return 2;
	}

	let result: CaptureResult;
	try {
		result = await writeCapture(options);
	} catch (error) {
		io.stderr.write(`klptop capture: cannot write ${clean(options.output)}: ${describeError(error)}\n`);
		return 2;
	}

	const kib = Math.max(1, Math.round(result.bytes / 1024));
	io.stderr.write(
		`klptop capture: wrote ${clean(result.output)} (${result.threads} threads, ${result.files} files, ${kib} KiB); ` +
			`replay with: klptop --root ${clean(result.output)}\n`,
	);
	if (result.recording !== null) {
		io.stderr.write(
			`klptop capture: embedded the last minutes of the recording ${clean(result.recording)} (klptop --replay ${clean(result.output)})\n`,
		);
	}

	for (const error of result.errors) {
		io.stderr.write(`klptop capture: note: ${clean(error)}\n`);
	}

	return 0;
}
