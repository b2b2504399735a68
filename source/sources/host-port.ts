/**
The FsPort over a real directory tree: the host itself (`root` = `/`) or a captured/emulated tree
on disk (`--root DIR`).

Everything is synchronous and allocation-light: a scan of 100,000 threads issues a few hundred
thousand open/read/close calls, and Node's synchronous fs calls are the cheapest it has (no
thread-pool round trip). One buffer is reused for every read.
*/
import * as fs from 'node:fs';
import {
	closeSync,
	constants,
	existsSync,
	fstatSync,
	openSync,
	readSync,
	readdirSync,
	statSync,
} from 'node:fs';
import {availableParallelism} from 'node:os';
import {MessageChannel, receiveMessageOnPort, Worker} from 'node:worker_threads';
import {errorCode, fsError, type FsPort, type TaskWalk, type TaskWalkOptions} from './fs-port.js';
import {makeFsWalkIo, mergeWalks, walkTasks, type WalkIo} from './walk.js';

export type HostPort = FsPort & {
	/** The root this port reads, as given. */
	readonly root: string;
	/** How often the helper thread walked part of /proc, and how often it failed (its share then walked here). */
	readonly stats: {helperRuns: number; helperFailures: number};
	/** Close the kept `/dev/kmsg` descriptor (the port stays usable; a later readKmsg reopens it). */
	close(): void;
};

const INITIAL_BUFFER = 64 * 1024;
/** No sysfs/procfs file the reader wants is this big; a tree could link to /dev/zero. */
const MAX_FILE = 16 * 1024 * 1024;

/** Below this many /proc entries a second thread costs more (its start, ~30 ms) than it saves. */
const PARALLEL_MIN_PIDS = 2000;
/** How long to wait for the helper thread to start, then to finish, before walking its half here. */
const WORKER_START_MS = 5000;
const WORKER_FINISH_MS = 120_000;

/**
The helper thread's program: the self-contained walk functions of `walk.ts`, by source text, so
it needs no module file (works from `dist/` and under the test runner alike).
*/
const WORKER_SOURCE = `
const {workerData} = require('node:worker_threads');
const fs = require('node:fs');
const flag = new Int32Array(workerData.flag);
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
let result;
try {
	const walkTasks = (${walkTasks.toString()});
	const makeFsWalkIo = (${makeFsWalkIo.toString()});
	result = {ok: true, walk: walkTasks(makeFsWalkIo(fs, workerData.prefix), workerData.pids, workerData.options)};
} catch (error) {
	result = {ok: false, error: String(error)};
}
workerData.port.postMessage(result);
workerData.port.close();
Atomics.store(flag, 0, 2);
Atomics.notify(flag, 0);
`;

/**
Walk `pids` in a helper thread while the caller walks its own share; \`finish()\` blocks until the
helper is done and returns its result, or null when it failed (the caller then walks that share).
*/
function startHelper(
	prefix: string,
	pids: readonly string[],
	options: TaskWalkOptions,
): {finish(): TaskWalk | null} | null {
	const flag = new Int32Array(new SharedArrayBuffer(4));
	const {port1, port2} = new MessageChannel();
	let worker: Worker;
	try {
		worker = new Worker(WORKER_SOURCE, {
			eval: true,
			workerData: {prefix, pids, options, flag: flag.buffer, port: port2},
			transferList: [port2],
			stdout: true,
			stderr: true,
		});
	} catch {
		port1.close();
		return null;
	}

	worker.unref();
	worker.on('error', () => {
		// Reported through the flag and the fallback walk.
	});
	return {
		finish() {
			let result: TaskWalk | null = null;
			if (Atomics.wait(flag, 0, 0, WORKER_START_MS) !== 'timed-out') {
				Atomics.wait(flag, 0, 1, WORKER_FINISH_MS);
				if (Atomics.load(flag, 0) === 2) {
					const received = receiveMessageOnPort(port1) as
						{message: {ok: boolean; walk?: TaskWalk}} | undefined;
					if (received?.message.ok && received.message.walk) {
						result = received.message.walk;
					}
				}
			}

			port1.close();
			void worker.terminate().catch(() => undefined);
			return result;
		},
	};
}

/**
Create a port reading `<root>/...`. Paths passed to the port are absolute inside the world
(`/proc/1/stat`); they are joined to `root` by plain concatenation.
*/
export type HostPortOptions = {
	/**
	Walk /proc with a helper thread from this many entries on (default 2000); \`Infinity\` never.
	The environment variable \`KLPTOP_WORKERS=0\` also turns the helper off.
	*/
	readonly parallelMinPids?: number;
};

export function createHostPort(root: string, options: HostPortOptions = {}): HostPort {
	const parallelMinPids = options.parallelMinPids ?? PARALLEL_MIN_PIDS;
	let prefix = root;
	while (prefix.endsWith('/')) {
		prefix = prefix.slice(0, -1);
	}

	let buffer = Buffer.allocUnsafe(INITIAL_BUFFER);
	let walkIo: WalkIo | undefined;
	const stats = {helperRuns: 0, helperFailures: 0};

	/** Read a whole file through the shared buffer. procfs files report size 0: read until EOF (or a short read). */
	function readFile(path: string): string {
		// Numeric flags skip Node's flag-string parsing; no try/finally in this hot path.
		const fd = openSync(prefix + path, constants.O_RDONLY);
		let length = 0;
		try {
			for (;;) {
				if (length === buffer.length) {
					if (length >= MAX_FILE) {
						throw fsError('EFBIG', `${path}: larger than ${MAX_FILE} bytes`);
					}

					const bigger = Buffer.allocUnsafe(buffer.length * 2);
					buffer.copy(bigger, 0, 0, length);
					buffer = bigger;
				}

				const wanted = buffer.length - length;
				const n = readSync(fd, buffer, length, wanted, null);
				length += n;
				// A short read is the end: regular files return less only at EOF, and the kernel's
				// seq_file/sysfs attributes hand over their whole (small) content in one read. This
				// saves the second read() that would return 0: 100,000 syscalls on a big scan.
				if (n === 0 || n < wanted) {
					break;
				}
			}
		} catch (error) {
			closeSync(fd);
			throw error;
		}

		closeSync(fd);
		return buffer.toString('utf8', 0, length);
	}

	// `/dev/kmsg` state: the kept descriptor, and for a regular file the offset already consumed.
	let kmsgFd: number | undefined;
	let kmsgIsDevice = false;
	let kmsgOffset = 0;

	function closeKmsgFd(): void {
		if (kmsgFd !== undefined) {
			try {
				closeSync(kmsgFd);
			} catch {
				// Already closed.
			}

			kmsgFd = undefined;
		}
	}

	function openKmsg(): boolean {
		if (kmsgFd !== undefined) {
			return true;
		}

		try {
			kmsgFd = openSync(`${prefix}/dev/kmsg`, constants.O_RDONLY | constants.O_NONBLOCK);
		} catch {
			return false;
		}

		try {
			kmsgIsDevice = fstatSync(kmsgFd).isCharacterDevice();
		} catch {
			kmsgIsDevice = false;
		}

		return true;
	}

	/** The real /dev/kmsg: one record per read(), EAGAIN at the end, EPIPE when records were overwritten. */
	function readKmsgDevice(fd: number): string[] | undefined {
		const records: string[] = [];
		for (;;) {
			let n: number;
			try {
				n = readSync(fd, buffer, 0, buffer.length, null);
			} catch (error) {
				const code = errorCode(error);
				if (code === 'EPIPE') {
					continue;
				}

				if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
					break;
				}

				if (code === 'EACCES' || code === 'EPERM') {
					return records.length > 0 ? records : undefined;
				}

				break;
			}

			if (n === 0) {
				break;
			}

			records.push(buffer.toString('utf8', 0, n));
		}

		return records;
	}

	/** A regular file standing in for /dev/kmsg: return the complete lines appended since the last call. */
	function readKmsgFile(fd: number): string[] {
		let size: number;
		try {
			size = fstatSync(fd).size;
		} catch {
			return [];
		}

		if (size < kmsgOffset) {
			// Truncated or rewritten: start over.
			kmsgOffset = 0;
		}

		if (size === kmsgOffset) {
			return [];
		}

		const chunk = Buffer.allocUnsafe(size - kmsgOffset);
		let length = 0;
		while (length < chunk.length) {
			const n = readSync(fd, chunk, length, chunk.length - length, kmsgOffset + length);
			if (n === 0) {
				break;
			}

			length += n;
		}

		// Consume complete lines only; a half-written last line is read next time.
		const lastNewline = chunk.lastIndexOf(0x0a, length - 1);
		if (lastNewline < 0) {
			return [];
		}

		kmsgOffset += lastNewline + 1;
		const lines = chunk.toString('utf8', 0, lastNewline).split('\n');
		return lines.filter((line) => line !== '');
	}

	return {
		root,
		stats,
		readFile,
		readdir(path) {
			return readdirSync(prefix + path);
		},
		walkTasks(pids, options) {
			walkIo ??= makeFsWalkIo(fs as Parameters<typeof makeFsWalkIo>[0], prefix);
			if (
				pids.length < parallelMinPids ||
				process.env['KLPTOP_WORKERS'] === '0' ||
				availableParallelism() < 2
			) {
				return walkTasks(walkIo, pids, options);
			}

			// Two cores: the helper thread walks the second half while this thread walks the first.
			const split = Math.floor(pids.length / 2);
			const helper = startHelper(prefix, pids.slice(split), options);
			const own = walkTasks(walkIo, pids.slice(0, split), options);
			const helped = helper?.finish() ?? null;
			stats.helperRuns++;
			if (helped === null) {
				stats.helperFailures++;
			}

			const other = helped ?? walkTasks(walkIo, pids.slice(split), options);
			return mergeWalks(own, other);
		},
		exists(path) {
			return existsSync(prefix + path);
		},
		ownerUid(path) {
			try {
				return statSync(prefix + path).uid;
			} catch {
				return undefined;
			}
		},
		readKmsg() {
			if (!openKmsg() || kmsgFd === undefined) {
				return undefined;
			}

			try {
				return kmsgIsDevice ? readKmsgDevice(kmsgFd) : readKmsgFile(kmsgFd);
			} catch {
				return undefined;
			} finally {
				if (!kmsgIsDevice) {
					// A file may be replaced (written elsewhere and renamed into place): reopen it every
					// time and keep only the offset, so a rewritten log continues where it was.
					closeKmsgFd();
				}
			}
		},
		readerUid() {
			return typeof process.geteuid === 'function' ? process.geteuid() : -1;
		},
		close: closeKmsgFd,
	};
}
