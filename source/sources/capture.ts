/**
Capture and replay of a livepatch world: `captureWorld()` walks any `FsPort` and yields, as files
of a tree klptop's own reader reads back, what a bug report needs; `openArchivePort()` serves a
`.tar.gz` (or `.tar`) capture from memory as an `FsPort`, so `--root capture.tar.gz` goes through
the same reader as the live host. What is kept and how permissions replay: ARCHITECTURE.md
(Captures).
*/
import {readFileSync, statSync} from 'node:fs';
import {gunzipSync} from 'node:zlib';
import {errorCode, fsError} from './fs-port.js';
import type {FsPort} from './fs-port.js';
import {createHostPort} from './host-port.js';
import {isNumericName, parseKmsgRecord} from './parse.js';
import {LIVEPATCH_DIR} from './reader.js';
import {CaptureOpenError, isArchivePath, manifestName} from './root-kind.js';
import {parseTar, TarError} from './tar.js';
import type {TarEntry} from './tar.js';

export {CaptureOpenError, isArchivePath} from './root-kind.js';

export type CaptureEntry =
	| {readonly kind: 'directory'; readonly path: string; readonly mode: number; readonly uid: number | null}
	| {
			readonly kind: 'file';
			readonly path: string;
			readonly data: string;
			readonly mode: number;
			readonly uid: number | null;
	  };

export type CaptureOptions = {
	/** Threads whose `wchan` and `stack` are captured, as `tgid/tid`. */
	readonly blockers: ReadonlySet<string>;
	/** Raw kernel log records to keep (already read by the caller), or undefined when unreadable. */
	readonly kmsg: readonly string[] | undefined;
	/** Texts of the livepatch-relevant log lines (the reader's filter); records whose text is not here are dropped. */
	readonly kmsgKeep: ReadonlySet<string>;
};

export type CaptureStats = {
	threads: number;
	files: number;
	/** `what (CODE)` -> count, for the manifest. */
	readonly errors: Map<string, number>;
};

/** Kernel modes of the livepatch attributes (core.c; test-sysfs.sh). */
const sysfsModes: Record<string, number> = {
	enabled: 0o644,
	transition: 0o444,
	force: 0o200,
	signal: 0o200,
	replace: 0o444,
	stack_order: 0o444,
	patched: 0o444,
};

/** Write-only attributes: never read (reading fails even for root), kept as placeholders. */
const writeOnly = new Set(['force', 'signal']);

/** procfs modes of the per-task files klptop reads (fs/proc/base.c). */
const taskFiles: ReadonlyArray<readonly [string, number]> = [
	['stat', 0o444],
	['status', 0o444],
	['patch_state', 0o400],
];
const blockerFiles: ReadonlyArray<readonly [string, number]> = [
	['wchan', 0o444],
	['stack', 0o400],
];

/** Bound on the livepatch tree walk (patch/object/function is depth 3). */
const maxDepth = 6;

function count(stats: CaptureStats, what: string, error: unknown): void {
	const key = `${what} (${errorCode(error)})`;
	stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
}

function isGone(code: string): boolean {
	return code === 'ENOENT' || code === 'ESRCH';
}

function* walkLivepatch(
	port: FsPort,
	dir: string,
	depth: number,
	stats: CaptureStats,
): Generator<CaptureEntry> {
	let names: string[];
	try {
		names = port.readdir(dir);
	} catch (error) {
		if (!isGone(errorCode(error))) {
			count(stats, `${dir} unreadable`, error);
		}

		return;
	}

	for (const name of names.sort()) {
		const path = `${dir}/${name}`;
		if (depth > 0 && writeOnly.has(name)) {
			stats.files++;
			yield {kind: 'file', path, data: '', mode: sysfsModes[name]!, uid: 0};
			continue;
		}

		let children: boolean;
		try {
			port.readdir(path);
			children = true;
		} catch (error) {
			const code = errorCode(error);
			if (isGone(code)) {
				continue;
			}

			children = false;
		}

		if (children) {
			if (depth >= maxDepth) {
				continue;
			}

			yield {kind: 'directory', path, mode: 0o755, uid: 0};
			yield* walkLivepatch(port, path, depth + 1, stats);
			continue;
		}

		let data: string;
		try {
			data = port.readFile(path);
		} catch (error) {
			const code = errorCode(error);
			if (!isGone(code)) {
				count(stats, 'livepatch file unreadable', error);
				if (code === 'EACCES' || code === 'EPERM') {
					stats.files++;
					yield {kind: 'file', path, data: '', mode: 0, uid: 0};
				}
			}

			continue;
		}

		stats.files++;
		yield {kind: 'file', path, data, mode: sysfsModes[name] ?? 0o444, uid: 0};
	}
}

function* walkTasks(port: FsPort, options: CaptureOptions, stats: CaptureStats): Generator<CaptureEntry> {
	let pids: string[];
	try {
		pids = port.readdir('/proc');
	} catch (error) {
		count(stats, '/proc unreadable', error);
		return;
	}

	const numeric = pids.filter((pid) => isNumericName(pid)).sort((a, b) => Number(a) - Number(b));
	for (const pid of numeric) {
		let tids: string[];
		try {
			tids = port.readdir(`/proc/${pid}/task`);
		} catch (error) {
			if (!isGone(errorCode(error))) {
				count(stats, 'task list unreadable', error);
			}

			continue;
		}

		const ownerOf = (path: string) => port.ownerUid(path) ?? null;
		const processUid = ownerOf(`/proc/${pid}`);
		let opened = false;
		for (const tid of tids.filter((name) => isNumericName(name)).sort((a, b) => Number(a) - Number(b))) {
			const dir = `/proc/${pid}/task/${tid}`;
			const files: CaptureEntry[] = [];
			const uid = ownerOf(dir);
			const wanted = options.blockers.has(`${pid}/${tid}`) ? [...taskFiles, ...blockerFiles] : taskFiles;
			let gone = false;
			for (const [name, mode] of wanted) {
				try {
					files.push({
						kind: 'file',
						path: `${dir}/${name}`,
						data: port.readFile(`${dir}/${name}`),
						mode,
						uid,
					});
				} catch (error) {
					const code = errorCode(error);
					if (isGone(code)) {
						gone = name === 'stat';
						if (gone) {
							break;
						}

						continue;
					}

					count(stats, `${name} unreadable`, error);
					if (code === 'EACCES' || code === 'EPERM') {
						// Kept as a placeholder with no read permission: a replay meets the same EACCES.
						files.push({kind: 'file', path: `${dir}/${name}`, data: '', mode: 0, uid});
					}
				}
			}

			if (gone) {
				continue; // Exited while we read it.
			}

			if (!opened) {
				yield {kind: 'directory', path: `/proc/${pid}`, mode: 0o555, uid: processUid};
				yield {kind: 'directory', path: `/proc/${pid}/task`, mode: 0o555, uid: processUid};
				opened = true;
			}

			stats.threads++;
			stats.files += files.length;
			yield {kind: 'directory', path: dir, mode: 0o555, uid};
			yield* files;
		}
	}
}

function readOptional(port: FsPort, path: string): string | null {
	try {
		return port.readFile(path);
	} catch {
		return null;
	}
}

/** Every file of the capture, directories before their contents. `stats` is filled as it goes. */
export function* captureWorld(
	port: FsPort,
	options: CaptureOptions,
	stats: CaptureStats,
): Generator<CaptureEntry> {
	yield {kind: 'directory', path: '/proc', mode: 0o555, uid: 0};
	const release = readOptional(port, '/proc/sys/kernel/osrelease');
	if (release !== null) {
		yield {kind: 'directory', path: '/proc/sys', mode: 0o555, uid: 0};
		yield {kind: 'directory', path: '/proc/sys/kernel', mode: 0o555, uid: 0};
		yield {kind: 'file', path: '/proc/sys/kernel/osrelease', data: release, mode: 0o444, uid: 0};
		stats.files++;
	}

	const procStat = readOptional(port, '/proc/stat');
	const btime = procStat?.split('\n').find((line) => line.startsWith('btime '));
	if (btime !== undefined) {
		yield {kind: 'file', path: '/proc/stat', data: `${btime}\n`, mode: 0o444, uid: 0};
		stats.files++;
	}

	if (port.exists(LIVEPATCH_DIR)) {
		yield {kind: 'directory', path: '/sys', mode: 0o555, uid: 0};
		yield {kind: 'directory', path: '/sys/kernel', mode: 0o755, uid: 0};
		yield {kind: 'directory', path: LIVEPATCH_DIR, mode: 0o755, uid: 0};
		yield* walkLivepatch(port, LIVEPATCH_DIR, 1, stats);
	}

	yield* walkTasks(port, options, stats);

	if (options.kmsg !== undefined) {
		const lines = options.kmsg
			.map((record) => record.split('\n')[0]!)
			.filter((record) => {
				const line = parseKmsgRecord(record);
				return line !== null && options.kmsgKeep.has(line.text);
			});
		yield {kind: 'directory', path: '/dev', mode: 0o755, uid: 0};
		yield {
			kind: 'file',
			path: '/dev/kmsg',
			data: lines.map((line) => `${line}\n`).join(''),
			mode: 0o644,
			uid: 0,
		};
		stats.files++;
	}
}

// ---------------------------------------------------------------------------------------------------
// Replay

/** Capture metadata kept next to the tree (`capture.json`). */
export type CaptureManifest = {
	readonly format: 'klptop-capture';
	readonly format_version: 1;
	readonly klptop_version: string;
	readonly created: string;
	/** The uid the capturing reader had: replays see the world as it did (stack readability). */
	readonly reader_uid: number;
	readonly source: {readonly kind: string; readonly root: string | null; readonly scenario: string | null};
	readonly threads: number;
	readonly files: number;
	readonly errors: readonly string[];
	/**
	The running recorder's last minutes embedded as `recording.klptop` (replay with `klptop --replay
	<archive>`): which file they came from, or absent when no recorder ran. Additive.
	*/
	readonly recording?: {readonly file: string; readonly bytes: number};
};

export {manifestName} from './root-kind.js';
export const jsonViewName = 'klptop.json';

export type ArchivePort = FsPort & {
	/** The capture's manifest, null when the archive has none (a tree tarred by hand). */
	readonly manifest: CaptureManifest | null;
	/** The top-level directory every member was under (stripped), '' when none. */
	readonly prefix: string;
};

type Node = {readonly entry: TarEntry | null; readonly children: Set<string> | null};

/** Gzip member magic. */
function isGzip(buffer: Buffer): boolean {
	return buffer.length >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
}

/** Largest uncompressed capture we agree to hold in memory. */
const maxArchiveBytes = 4 * 1024 * 1024 * 1024 - 1;

/** Parse an archive buffer (gzip or plain tar) into a port. Throws `TarError` (or a zlib error) on bad input. */
export function archivePortFrom(buffer: Buffer, readerUidFallback = 0): ArchivePort {
	const tar = isGzip(buffer) ? gunzipSync(buffer, {maxOutputLength: maxArchiveBytes}) : buffer;
	const entries = parseTar(tar);
	if (entries.length === 0) {
		throw new TarError('empty archive');
	}

	// Strip one top-level directory shared by every member (`klptop-capture-.../sys/...`).
	const topOf = (name: string) => {
		const slash = name.indexOf('/');
		return slash < 0 ? name : name.slice(0, slash);
	};

	const first = topOf(entries[0]!.name);
	let prefix = '';
	if (
		first !== 'sys' &&
		first !== 'proc' &&
		first !== 'dev' &&
		entries.every((entry) => entry.name === first || entry.name.startsWith(`${first}/`)) &&
		entries.some((entry) => entry.name !== first)
	) {
		prefix = first;
	}

	const nodes = new Map<string, Node>();
	nodes.set('/', {entry: null, children: new Set()});
	const ensureDir = (path: string): Set<string> => {
		const node = nodes.get(path);
		if (node?.children) {
			return node.children;
		}

		const children = new Set<string>();
		nodes.set(path, {entry: node?.entry ?? null, children});
		if (path !== '/') {
			const cut = path.lastIndexOf('/');
			ensureDir(cut === 0 ? '/' : path.slice(0, cut)).add(path.slice(cut + 1));
		}

		return children;
	};

	for (const entry of entries) {
		if (entry.type === 'other') {
			continue; // Links, devices: never followed.
		}

		let name = entry.name;
		if (prefix !== '') {
			if (name === prefix) {
				continue;
			}

			name = name.slice(prefix.length + 1);
		}

		const path = `/${name}`;
		const cut = path.lastIndexOf('/');
		const parent = cut === 0 ? '/' : path.slice(0, cut);
		// Directories come before their contents in klptop's archives: the parent usually exists.
		(nodes.get(parent)?.children ?? ensureDir(parent)).add(path.slice(cut + 1));
		if (entry.type === 'directory') {
			const children = ensureDir(path);
			nodes.set(path, {entry, children});
		} else if (!nodes.get(path)?.children) {
			nodes.set(path, {entry, children: null});
		}
	}

	let manifest: CaptureManifest | null = null;
	const manifestNode = nodes.get(`/${manifestName}`);
	if (manifestNode?.entry && manifestNode.children === null) {
		try {
			const parsed = JSON.parse(manifestNode.entry.data.toString('utf8')) as Partial<CaptureManifest>;
			if (parsed.format === 'klptop-capture') {
				manifest = parsed as CaptureManifest;
			}
		} catch {
			manifest = null;
		}
	}

	const readerUid =
		manifest !== null && Number.isInteger(manifest.reader_uid) ? manifest.reader_uid : readerUidFallback;
	let kmsgRead = false;

	const lookup = (path: string): Node | undefined => {
		const normal = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
		return nodes.get(normal);
	};

	return {
		manifest,
		prefix,
		readFile(path) {
			const node = lookup(path);
			if (node === undefined) {
				throw fsError('ENOENT', `${path}: no such file in the capture`);
			}

			if (node.children !== null) {
				throw fsError('EISDIR', `${path}: is a directory`);
			}

			const entry = node.entry!;
			if ((entry.mode & 0o444) === 0) {
				throw fsError('EACCES', `${path}: permission denied (write-only)`);
			}

			return entry.data.toString('utf8');
		},
		readdir(path) {
			const node = lookup(path);
			if (node === undefined) {
				throw fsError('ENOENT', `${path}: no such directory in the capture`);
			}

			if (node.children === null) {
				throw fsError('ENOTDIR', `${path}: not a directory`);
			}

			return [...node.children];
		},
		exists(path) {
			return lookup(path) !== undefined;
		},
		ownerUid(path) {
			return lookup(path)?.entry?.uid;
		},
		readKmsg() {
			const node = lookup('/dev/kmsg');
			if (node?.entry === undefined || node.entry === null || node.children !== null) {
				return undefined;
			}

			if (kmsgRead) {
				return [];
			}

			kmsgRead = true;
			return node.entry.data
				.toString('utf8')
				.split('\n')
				.filter((line) => line !== '');
		},
		readerUid() {
			return readerUid;
		},
	};
}

/** Open a capture archive file (`.tar.gz`, `.tgz` or `.tar`) as an `FsPort`. */
export function openArchivePort(path: string): ArchivePort {
	return archivePortFrom(readFileSync(path));
}

/**
The port for a `--root` argument: a capture archive (`.tar.gz`, `.tgz`, `.tar` naming a regular
file) is served from memory, anything else is a directory tree read through the host port.
Throws `CaptureOpenError` for an archive that cannot be read (damaged, traversal, too big).
*/
export function openRootPort(root: string): FsPort {
	let isFile = false;
	if (root !== '/' && isArchivePath(root)) {
		try {
			isFile = statSync(root).isFile();
		} catch {
			isFile = false;
		}
	}

	if (!isFile) {
		return createHostPort(root);
	}

	try {
		return openArchivePort(root);
	} catch (error) {
		const code = errorCode(error);
		const message = error instanceof Error ? error.message : String(error);
		throw new CaptureOpenError(
			`cannot read the capture ${root}: ${error instanceof TarError || message.includes(code) ? message : `${code}: ${message}`}`,
		);
	}
}
