/**
What a `--root` argument names, decided without loading the capture code (gzip, tar): `--once` on a
directory, the common case, never pays for it. `capture.ts` re-exports both.
*/
import {statSync} from 'node:fs';
import type {FsPort} from './fs-port.js';

/** A capture's manifest, at the top of its tree (`capture.ts` writes it). */
export const manifestName = 'capture.json';

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

/**
When the capture served by `port` was taken (its manifest's `created`, ms since the epoch), or null
when the tree is no klptop capture (no manifest, or an unreadable one). One read of one small file.
*/
export function captureTime(port: FsPort): number | null {
	let text: string;
	try {
		text = port.readFile(`/${manifestName}`);
	} catch {
		return null;
	}

	try {
		const manifest = JSON.parse(text) as {format?: unknown; created?: unknown};
		const created = typeof manifest.created === 'string' ? Date.parse(manifest.created) : Number.NaN;
		return manifest.format === 'klptop-capture' && Number.isFinite(created) ? created : null;
	} catch {
		return null;
	}
}
