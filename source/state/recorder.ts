/**
Where a running `klptop record` announces itself (`<state dir>/recorder-<pid>.json`) so that
`klptop capture` can find its file; a file left by a killed recorder (PID gone or reused) is ignored.
*/
import fs from 'node:fs';
import path from 'node:path';
import {parseStat} from '../sources/parse.js';
import {ensureStateDir} from './paths.js';

export type RecorderAnnouncement = {
	readonly pid: number;
	/** `stat` starttime of the recorder process (PID reuse check), null when unknown. */
	readonly starttime: number | null;
	/** The recording, absolute. */
	readonly file: string;
	/** ms since the epoch. */
	readonly started: number;
	/** What it records: `host` (root `/`) or a `tree` root; capture embeds a recording of its own source only. */
	readonly source: {readonly kind: string; readonly root: string | null};
};

const prefix = 'recorder-';

/** Start time of a process from `/proc/<pid>/stat` (field 22), null when it is gone or unreadable. */
export function processStarttime(pid: number): number | null {
	try {
		return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.starttime ?? null;
	} catch {
		return null;
	}
}

/** Write this process's announcement; returns the function that removes it. Never throws. */
export function announceRecorder(
	stateDir: string,
	file: string,
	started: number,
	source: RecorderAnnouncement['source'],
): () => void {
	const pid = process.pid;
	const target = path.join(stateDir, `${prefix}${pid}.json`);
	const entry: RecorderAnnouncement = {
		pid,
		starttime: processStarttime(pid),
		file: path.resolve(file),
		started,
		source: {kind: source.kind, root: source.root === null ? null : path.resolve(source.root)},
	};
	try {
		ensureStateDir(stateDir);
		fs.writeFileSync(target, JSON.stringify(entry) + '\n', {mode: 0o600});
	} catch {
		// Capture then simply finds no recorder: recording goes on.
		return () => {};
	}

	return () => {
		fs.rmSync(target, {force: true});
	};
}

/** The recorders running now, newest first; with `source`, only those recording it (same kind and root). */
export function findRecorders(
	stateDir: string,
	source?: {readonly kind: string; readonly root: string | null},
): RecorderAnnouncement[] {
	let names: string[];
	try {
		names = fs.readdirSync(stateDir);
	} catch {
		return [];
	}

	const found: RecorderAnnouncement[] = [];
	for (const name of names) {
		if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
		try {
			const entry = JSON.parse(fs.readFileSync(path.join(stateDir, name), 'utf8')) as RecorderAnnouncement;
			const alive = processStarttime(entry.pid);
			const same =
				source === undefined ||
				(entry.source?.kind === source.kind &&
					entry.source.root === (source.root === null ? null : path.resolve(source.root)));
			if (same && alive !== null && (entry.starttime === null || alive === entry.starttime))
				found.push(entry);
		} catch {
			// Half written or not ours: ignored.
		}
	}

	return found.sort((a, b) => b.started - a.started);
}
