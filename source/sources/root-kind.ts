/**
What a `--root` argument names, decided without loading the capture code (gzip, tar): `--once` on a
directory, the common case, never pays for it. `capture.ts` re-exports both.
*/

/** Whether a `--root` argument names an archive rather than a directory. */
export function isArchivePath(path: string): boolean {
	return /\.(?:tar\.gz|tgz|tar)$/i.test(path);
}

/** A capture archive that cannot be opened; the message says which file and why. */
export class CaptureOpenError extends Error {}
