/**
What a `--root` argument names, decided without loading the capture code (gzip, tar): `--once` on a
directory, the common case, never pays for it. `capture.ts` re-exports both.
*/
import {statSync} from 'node:fs';

/** Whether a `--root` argument names an archive rather than a directory. */
export function isArchivePath(path: string): boolean {
	return /\.(?:tar\.gz|tgz|tar)$/i.test(path);
}

/** A capture archive that cannot be opened; the message says which file and why. */
export class CaptureOpenError extends Error {}

/** A `--root` that names nothing klptop can read; the message says which and why. */
export class RootError extends Error {}

/**
A `--root` that names nothing to read is the operator's mistake, not a kernel without livepatch: it
must be a directory (a tree, an extracted capture) or a capture archive file. Throws `RootError`.
*/
export function checkRoot(root: string): void {
	let isDirectory: boolean;
	try {
		isDirectory = statSync(root).isDirectory();
	} catch (error) {
		const code = (error as {code?: unknown}).code;
		const why =
			code === 'ENOENT'
				? 'no such file or directory'
				: code === 'ENOTDIR'
					? 'not a directory'
					: `cannot read it (${String(code)})`;
		throw new RootError(`--root ${root}: ${why}`);
	}

	if (!isDirectory && !isArchivePath(root)) {
		throw new RootError(
			`--root ${root}: not a directory (give a tree directory or a capture archive .tar.gz)`,
		);
	}
}
