/**
The FsPort over a real directory tree: the host itself (`root` = `/`) or a captured/emulated tree
on disk (`--root DIR`).

Everything is synchronous and allocation-light: a scan of 100,000 threads issues a few hundred
thousand open/read/close calls, and Node's synchronous fs calls are the cheapest it has (no
thread-pool round trip). One buffer is reused for every read.
*/
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
import {errorCode, fsError, type FsPort} from './fs-port.js';

export type HostPort = FsPort & {
	/** The root this port reads, as given. */
	readonly root: string;
	/** Close the kept `/dev/kmsg` descriptor (the port stays usable; a later readKmsg reopens it). */
	close(): void;
};

const INITIAL_BUFFER = 64 * 1024;
/** No sysfs/procfs file the reader wants is this big; a tree could link to /dev/zero. */
const MAX_FILE = 16 * 1024 * 1024;

/**
Create a port reading `<root>/...`. Paths passed to the port are absolute inside the world
(`/proc/1/stat`); they are joined to `root` by plain concatenation.
*/
export function createHostPort(root: string): HostPort {
	let prefix = root;
	while (prefix.endsWith('/')) {
		prefix = prefix.slice(0, -1);
	}

	let buffer = Buffer.allocUnsafe(INITIAL_BUFFER);

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
		readFile,
		readdir(path) {
			return readdirSync(prefix + path);
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
