/**
The journal of pending SIGSTOPs: the one thing that lets a crashed klptop's stopped tasks be
resumed by the next run.

A nudge records the task here, durably (written, fsync'd, renamed into place, directory fsync'd)
*before* it sends SIGSTOP, and clears the record only after SIGCONT was sent. A SIGKILL, an OOM
kill or a power cut between the two leaves the record behind; `recoverStopped()` in
`source/actions/nudge.ts` reads it at the next start and resumes the task (after checking that the
PID still names the same task).

One file per pending stop in `<state dir>/stopped/`, so concurrent klptops never rewrite each
other's records and clearing one is a single `unlink`.
*/
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {describe, ensureStateDir} from './paths.js';

export type StopRecord = {
	/** Which world the task lives in: `host`, `tree:<dir>`, `emulator:<scenario>`. Recovery acts on its own world only. */
	readonly world: string;
	readonly tid: number;
	/** The thread group that received SIGSTOP. */
	readonly tgid: number;
	/** `stat` starttime of `tid`. */
	readonly starttime: number;
	/** `stat` starttime of `tgid`: recovery resumes the group only if it still matches (PID reuse). */
	readonly tgidStarttime: number;
	/** When the stop was journalled, ms since the epoch. */
	readonly time: number;
	/** The klptop process that sent the stop, so a second klptop does not resume a stop still in progress. */
	readonly owner: {readonly pid: number; readonly starttime: number | null};
};

export type JournalEntry = {readonly id: string; readonly record: StopRecord};

export type StopJournal = {
	/** Where the records live, null for an in-memory journal. */
	readonly location: string | null;
	/** Store a record durably and return its id. Throws when it cannot: then nothing may be stopped. */
	record(record: StopRecord): string;
	/** Forget a record (after SIGCONT). Never throws for a record that is already gone. */
	clear(id: string): void;
	/** Every record left, plus the files that could not be understood (reported, never acted on). */
	list(): {readonly entries: readonly JournalEntry[]; readonly problems: readonly string[]};
};

const tmpPrefix = '.tmp-';
const staleTmpMs = 60_000;

/** The journal under `<stateDir>/stopped/`. Creates the directory (0700) on first use. */
export function openStopJournal(stateDir: string): StopJournal {
	const dir = path.join(stateDir, 'stopped');
	let ready = false;
	const ensure = () => {
		if (!ready) {
			ensureStateDir(stateDir);
			ensureStateDir(dir);
			ready = true;
		}
	};

	return {
		location: dir,
		record(record) {
			ensure();
			const id = `${record.tgid}-${record.tgidStarttime}-${record.owner.pid}-${crypto.randomBytes(4).toString('hex')}`;
			const tmp = path.join(dir, `${tmpPrefix}${id}`);
			const fd = fs.openSync(tmp, 'wx', 0o600);
			try {
				fs.writeSync(fd, JSON.stringify(record) + '\n');
				fs.fsyncSync(fd);
			} finally {
				fs.closeSync(fd);
			}

			fs.renameSync(tmp, path.join(dir, `${id}.json`));
			syncDir(dir);
			return id;
		},
		clear(id) {
			if (!/^[\w-]+$/.test(id)) {
				return;
			}

			try {
				fs.unlinkSync(path.join(dir, `${id}.json`));
			} catch (error) {
				if (describe(error) !== 'ENOENT') {
					throw error;
				}

				return;
			}

			syncDir(dir);
		},
		list() {
			let names: string[];
			try {
				names = fs.readdirSync(dir);
			} catch (error) {
				if (describe(error) === 'ENOENT') {
					return {entries: [], problems: []};
				}

				return {entries: [], problems: [`cannot read the stop journal ${dir}: ${describe(error)}`]};
			}

			const entries: JournalEntry[] = [];
			const problems: string[] = [];
			for (const name of names.sort()) {
				const file = path.join(dir, name);
				if (name.startsWith(tmpPrefix)) {
					// A record that was never renamed into place: its SIGSTOP was never sent.
					removeStaleTmp(file);
					continue;
				}

				if (!name.endsWith('.json')) {
					continue;
				}

				const id = name.slice(0, -'.json'.length);
				try {
					const record = parseRecord(fs.readFileSync(file, 'utf8'));
					if (record === null) {
						problems.push(`unreadable stop record ${file}: left in place`);
						continue;
					}

					entries.push({id, record});
				} catch (error) {
					if (describe(error) !== 'ENOENT') {
						problems.push(`cannot read stop record ${file}: ${describe(error)}`);
					}
				}
			}

			return {entries, problems};
		},
	};
}

/** A journal that lives as long as the process: for the in-process emulator, whose tasks die with us. */
export function createMemoryJournal(): StopJournal {
	const records = new Map<string, StopRecord>();
	let next = 1;
	return {
		location: null,
		record(record) {
			const id = `m${next++}`;
			records.set(id, record);
			return id;
		},
		clear(id) {
			records.delete(id);
		},
		list() {
			return {entries: [...records].map(([id, record]) => ({id, record})), problems: []};
		},
	};
}

function parseRecord(text: string): StopRecord | null {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return null;
	}

	if (typeof value !== 'object' || value === null) {
		return null;
	}

	const v = value as Record<string, unknown>;
	const owner = v['owner'] as Record<string, unknown> | undefined;
	const ownerStart = owner?.['starttime'];
	if (
		typeof v['world'] !== 'string' ||
		!isId(v['tid']) ||
		!isId(v['tgid']) ||
		!isCount(v['starttime']) ||
		!isCount(v['tgidStarttime']) ||
		!isCount(v['time']) ||
		typeof owner !== 'object' ||
		owner === null ||
		!isId(owner['pid']) ||
		!(ownerStart === null || isCount(ownerStart))
	) {
		return null;
	}

	return {
		world: v['world'],
		tid: v['tid'],
		tgid: v['tgid'],
		starttime: v['starttime'],
		tgidStarttime: v['tgidStarttime'],
		time: v['time'],
		owner: {pid: owner['pid'], starttime: ownerStart},
	};
}

function isId(value: unknown): value is number {
	return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isCount(value: unknown): value is number {
	return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function syncDir(dir: string): void {
	const fd = fs.openSync(dir, 'r');
	try {
		fs.fsyncSync(fd);
	} finally {
		fs.closeSync(fd);
	}
}

function removeStaleTmp(file: string): void {
	try {
		if (Date.now() - fs.statSync(file).mtimeMs > staleTmpMs) {
			fs.unlinkSync(file);
		}
	} catch {
		// Another klptop finished or removed it meanwhile.
	}
}
