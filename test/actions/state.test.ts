/*
The XDG state files: where they go, who may own them, the durable stop journal and the audit log.
*/
import {chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {auditEvent, currentUser, openAuditLog, readAuditLog} from '../../source/state/audit.js';
import {createMemoryJournal, openStopJournal, type StopRecord} from '../../source/state/journal.js';
import {ensureStateDir, resolveStateDir, StateDirError} from '../../source/state/paths.js';
import {removeTempDirs, tempStateDir} from './helpers.js';

afterEach(() => {
	removeTempDirs();
});

const sample: StopRecord = {
	world: 'host',
	tid: 182,
	tgid: 182,
	starttime: 4321,
	tgidStarttime: 4321,
	time: 1_700_000_000_000,
	owner: {pid: 77, starttime: 12},
};

describe('state directory', () => {
	it('KLPTOP_STATE_DIR, then $XDG_STATE_HOME/klptop, then ~/.local/state/klptop', () => {
		expect(resolveStateDir({KLPTOP_STATE_DIR: '/x/y', XDG_STATE_HOME: '/s', HOME: '/h'})).toBe('/x/y');
		expect(resolveStateDir({XDG_STATE_HOME: '/s', HOME: '/h'})).toBe('/s/klptop');
		// A relative XDG_STATE_HOME is invalid (XDG Base Directory spec) and ignored.
		expect(resolveStateDir({XDG_STATE_HOME: 'rel', HOME: '/h'})).toBe('/h/.local/state/klptop');
		expect(resolveStateDir({HOME: '/h'})).toBe('/h/.local/state/klptop');
	});

	it('is created 0700 and refused when others can write it', () => {
		const base = tempStateDir();
		const dir = path.join(base, 'a', 'klptop');
		ensureStateDir(dir);
		expect(statSync(dir).mode & 0o777).toBe(0o700);
		chmodSync(dir, 0o777);
		expect(() => ensureStateDir(dir)).toThrow(StateDirError);
		expect(() => ensureStateDir(dir)).toThrow(/writable by others.*chmod 700/);
	});

	it('is refused when it is not a directory', () => {
		const file = path.join(tempStateDir(), 'file');
		writeFileSync(file, '');
		expect(() => ensureStateDir(file)).toThrow(StateDirError);
	});
});

describe('stop journal', () => {
	it('one fsync\u2019d file per pending stop, listed back, cleared by id', () => {
		const dir = tempStateDir();
		const journal = openStopJournal(dir);
		const id = journal.record(sample);
		const second = journal.record({...sample, tid: 183, tgid: 183});
		expect(readdirSync(path.join(dir, 'stopped')).sort()).toEqual([`${id}.json`, `${second}.json`].sort());
		expect(statSync(path.join(dir, 'stopped')).mode & 0o777).toBe(0o700);
		expect(statSync(path.join(dir, 'stopped', `${id}.json`)).mode & 0o777).toBe(0o600);
		// A fresh handle (the next run) sees the same records.
		expect(
			openStopJournal(dir)
				.list()
				.entries.map((entry) => entry.record)
				.sort((a, b) => a.tid - b.tid),
		).toEqual([sample, {...sample, tid: 183, tgid: 183}]);
		journal.clear(id);
		journal.clear(id);
		expect(
			openStopJournal(dir)
				.list()
				.entries.map((entry) => entry.id),
		).toEqual([second]);
	});

	it('reports a damaged record and never acts on it; ignores a half-written temporary file', () => {
		const dir = tempStateDir();
		const journal = openStopJournal(dir);
		journal.record(sample);
		writeFileSync(path.join(dir, 'stopped', 'bad.json'), '{"world":"host","tid":-1}');
		writeFileSync(path.join(dir, 'stopped', '.tmp-1-2-3-abcd'), '{"wor');
		const {entries, problems} = journal.list();
		expect(entries).toHaveLength(1);
		expect(problems).toEqual([expect.stringContaining('bad.json')]);
	});

	it('refuses to record into a directory others can write (then nothing may be stopped)', () => {
		const dir = tempStateDir();
		chmodSync(dir, 0o777);
		expect(() => openStopJournal(dir).record(sample)).toThrow(StateDirError);
	});

	it('has an in-memory variant for the in-process emulator', () => {
		const journal = createMemoryJournal();
		const id = journal.record(sample);
		expect(journal.list().entries).toEqual([{id, record: sample}]);
		journal.clear(id);
		expect(journal.list().entries).toEqual([]);
	});
});

describe('audit log', () => {
	it('appends one JSON line per action with time, user, action, target, result', () => {
		const dir = tempStateDir();
		const log = openAuditLog(dir, {now: () => 1_700_000_000_000, user: 'alice'});
		const first = log.append({
			action: 'reverse',
			target: 'klp_p',
			result: 'ok',
			detail: 'wrote 0',
			world: 'host',
		});
		log.append({
			action: 'force',
			target: 'klp_p',
			result: 'refused',
			detail: 'no confirmation',
			world: 'host',
		});
		expect(first.stored).toBe(true);
		expect(first.entry).toEqual({
			time: 1_700_000_000_000,
			user: 'alice',
			action: 'reverse',
			target: 'klp_p',
			result: 'ok',
			detail: 'wrote 0',
			world: 'host',
		});
		const lines = readFileSync(path.join(dir, 'audit.log'), 'utf8').trimEnd().split('\n');
		expect(lines).toHaveLength(2);
		expect(readAuditLog(dir).map((entry) => entry.action)).toEqual(['reverse', 'force']);
		expect(statSync(path.join(dir, 'audit.log')).mode & 0o777).toBe(0o600);
	});

	it('never throws when it cannot write; says why', () => {
		const dir = path.join(tempStateDir(), 'blocked');
		mkdirSync(dir);
		writeFileSync(path.join(dir, 'audit.log'), '');
		chmodSync(dir, 0o777);
		const record = openAuditLog(dir).append({
			action: 'enable',
			target: 'p',
			result: 'failed',
			detail: 'x',
			world: 'host',
		});
		expect(record.stored).toBe(false);
		expect(record.error).toMatch(/audit log .* not written/);
	});

	it('names the sudo user and becomes an event-log line', () => {
		expect(currentUser({SUDO_USER: 'bob'})).toMatch(/\(sudo from bob\)$/);
		expect(
			auditEvent(
				{
					time: 5,
					user: 'u',
					action: 'disable',
					target: 'p',
					result: 'ok',
					detail: 'unpatching',
					world: 'host',
				},
				'p',
			),
		).toEqual({time: 5, kind: 'action', patch: 'p', tid: null, text: 'disable p: ok, unpatching'});
	});
});
