/**
Where klptop keeps its own files: the audit log and the journal of pending SIGSTOPs.

`$KLPTOP_STATE_DIR` wins (tests, and operators who want the files elsewhere), then
`$XDG_STATE_HOME/klptop`, then `~/.local/state/klptop` (XDG Base Directory spec: a relative
`XDG_STATE_HOME` is invalid and must be ignored).

The directory drives what root does at start (it resumes the tasks the journal names), so it must
belong to the user running klptop and be writable by nobody else.
*/
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function resolveStateDir(env: NodeJS.ProcessEnv = process.env): string {
	const override = env['KLPTOP_STATE_DIR'];
	if (override !== undefined && override !== '') {
		return path.resolve(override);
	}

	const xdg = env['XDG_STATE_HOME'];
	if (xdg !== undefined && path.isAbsolute(xdg)) {
		return path.join(xdg, 'klptop');
	}

	const home = env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : os.homedir();
	return path.join(home, '.local', 'state', 'klptop');
}

/** Thrown when the state directory cannot be used; the message says why in plain words. */
export class StateDirError extends Error {}

/**
Create `dir` (and its parents) with mode 0700 if needed, then check it is a directory of ours that
no one else can write. Returns the directory. Throws `StateDirError`.
*/
export function ensureStateDir(dir: string): string {
	try {
		fs.mkdirSync(dir, {recursive: true, mode: 0o700});
	} catch (error) {
		throw new StateDirError(`cannot create the state directory ${dir}: ${describe(error)}`);
	}

	let stat: fs.Stats;
	try {
		stat = fs.lstatSync(dir);
	} catch (error) {
		throw new StateDirError(`cannot read the state directory ${dir}: ${describe(error)}`);
	}

	if (!stat.isDirectory()) {
		throw new StateDirError(`the state path ${dir} is not a directory`);
	}

	const euid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
	if (euid !== undefined && stat.uid !== euid) {
		throw new StateDirError(
			`the state directory ${dir} belongs to uid ${stat.uid}, not to you (uid ${euid})`,
		);
	}

	if ((stat.mode & 0o022) !== 0) {
		throw new StateDirError(
			`the state directory ${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)}); ` +
				`run chmod 700 on it`,
		);
	}

	return dir;
}

export function describe(error: unknown): string {
	if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
		return error.code;
	}

	return error instanceof Error ? error.message : String(error);
}
