/**
The audit log: one JSON line per action (dashboard key or subcommand), appended to
`<state dir>/audit.log`: when, who, what, on what, and how it ended.

Appending never throws: the action has already happened when its result is logged, so a full disk
must not turn a successful reverse into a crash. The returned entry says whether it was stored, and
the caller shows it in the event log either way.
*/
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {HistoryEvent} from '../model/types.js';
import {describe, ensureStateDir} from './paths.js';

export type AuditAction = 'nudge' | 'reverse' | 'force' | 'disable' | 'enable' | 'recover';

export type AuditResult = 'ok' | 'refused' | 'failed' | 'partial';

export type AuditEntry = {
	/** ms since the epoch. */
	readonly time: number;
	/** Who acted: the login name, with the sudo user when run through sudo. */
	readonly user: string;
	readonly action: AuditAction;
	/** A patch name, or `tid 123 (comm)` lists. Raw: sanitise at display. */
	readonly target: string;
	readonly result: AuditResult;
	/** The outcome or refusal in plain words. */
	readonly detail: string;
	/** Which world was acted on: `host`, `tree:<dir>`, `emulator:<scenario>`. */
	readonly world: string;
};

export type AuditRecord = {
	readonly entry: AuditEntry;
	/** False when the line could not be written; `error` says why. */
	readonly stored: boolean;
	readonly error: string | null;
};

export type AuditLog = {
	/** The log file, null for an in-memory log. */
	readonly location: string | null;
	append(entry: Omit<AuditEntry, 'time' | 'user'>): AuditRecord;
	/** Entries written through this handle, oldest first (the in-memory view for tests and the UI). */
	entries(): readonly AuditEntry[];
};

export type AuditOptions = {
	readonly now?: () => number;
	readonly user?: string;
};

export function openAuditLog(stateDir: string, options: AuditOptions = {}): AuditLog {
	const file = path.join(stateDir, 'audit.log');
	return makeLog(file, options, (line) => {
		ensureStateDir(stateDir);
		const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
		try {
			fs.writeSync(fd, line);
			fs.fsyncSync(fd);
		} finally {
			fs.closeSync(fd);
		}
	});
}

/** Read the audit log back (for tests and `klptop` help output); unparsable lines are skipped. */
export function readAuditLog(stateDir: string): AuditEntry[] {
	let text: string;
	try {
		text = fs.readFileSync(path.join(stateDir, 'audit.log'), 'utf8');
	} catch {
		return [];
	}

	const entries: AuditEntry[] = [];
	for (const line of text.split('\n')) {
		if (line.trim() === '') {
			continue;
		}

		try {
			entries.push(JSON.parse(line) as AuditEntry);
		} catch {
			// A torn last line after a crash: skip it.
		}
	}

	return entries;
}

export function createMemoryAuditLog(options: AuditOptions = {}): AuditLog {
	return makeLog(null, options, () => {});
}

function makeLog(file: string | null, options: AuditOptions, write: (line: string) => void): AuditLog {
	const now = options.now ?? Date.now;
	const user = options.user ?? currentUser();
	const written: AuditEntry[] = [];
	return {
		location: file,
		append(partial) {
			const entry: AuditEntry = {time: now(), user, ...partial};
			written.push(entry);
			try {
				write(JSON.stringify(entry) + '\n');
				return {entry, stored: true, error: null};
			} catch (error) {
				return {entry, stored: false, error: `audit log ${file ?? ''} not written: ${describe(error)}`};
			}
		},
		entries: () => written,
	};
}

/** `root`, or `root (sudo from alice)`. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
	let name: string;
	try {
		name = os.userInfo().username;
	} catch {
		name = typeof process.geteuid === 'function' ? `uid ${process.geteuid()}` : 'unknown';
	}

	const sudo = env['SUDO_USER'];
	return sudo !== undefined && sudo !== '' && sudo !== name ? `${name} (sudo from ${sudo})` : name;
}

/** The entry as an event-log line for the dashboard. */
export function auditEvent(
	entry: AuditEntry,
	patch: string | null = null,
	tid: number | null = null,
): HistoryEvent {
	return {
		time: entry.time,
		kind: 'action',
		patch,
		tid,
		text: `${entry.action} ${entry.target}: ${entry.result}${entry.detail === '' ? '' : `, ${entry.detail}`}`,
	};
}

/**
Follow the audit log as other klptops append to it (the recorder marks our actions on its
timeline): `next()` returns the entries appended since the last call, complete lines only. Starts
at the current end; a log that shrank (rotated, truncated) is read again from its start.
*/
export function tailAuditLog(stateDir: string): {next(): AuditEntry[]} {
	const file = path.join(stateDir, 'audit.log');
	const size = () => {
		try {
			return fs.statSync(file).size;
		} catch {
			return 0;
		}
	};

	let offset = size();
	return {
		next() {
			const end = size();
			if (end < offset) offset = 0;
			if (end === offset) return [];
			let text: string;
			try {
				const fd = fs.openSync(file, 'r');
				try {
					const buffer = Buffer.alloc(end - offset);
					const n = fs.readSync(fd, buffer, 0, buffer.length, offset);
					text = buffer.subarray(0, n).toString('utf8');
				} finally {
					fs.closeSync(fd);
				}
			} catch {
				return [];
			}

			const complete = text.lastIndexOf('\n') + 1;
			offset += Buffer.byteLength(text.slice(0, complete));
			const entries: AuditEntry[] = [];
			for (const line of text.slice(0, complete).split('\n')) {
				if (line.trim() === '') continue;
				try {
					entries.push(JSON.parse(line) as AuditEntry);
				} catch {
					// Not a line of ours: skipped.
				}
			}

			return entries;
		},
	};
}
