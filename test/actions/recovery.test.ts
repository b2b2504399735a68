/*
Recovery at start, against real children: what a previous run left stopped is resumed only when the
PID still names the same task, only in the same world, and never while its nudging klptop still runs.
*/
import {afterEach, describe, expect, it} from 'vitest';
import {createActionContext} from '../../source/actions/context.js';
import {recoverStopped} from '../../source/actions/nudge.js';
import {recoveryLines} from '../../source/actions/commands.js';
import {parseProcStatus, stopPending} from '../../source/actions/proc.js';
import {readAuditLog} from '../../source/state/audit.js';
import {openStopJournal, type StopRecord} from '../../source/state/journal.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {
	killChildren,
	procStarttime,
	procState,
	removeTempDirs,
	spawnSleeper,
	tempStateDir,
	waitFor,
} from './helpers.js';

const host = createHostPort('/');

afterEach(() => {
	killChildren();
	removeTempDirs();
});

function context(stateDir: string) {
	return createActionContext({source: {kind: 'host', root: '/', scenario: null}, port: host, stateDir});
}

/** A record as a crashed klptop (pid 4194000, long gone) would have left it. */
function record(pid: number, overrides: Partial<StopRecord> = {}): StopRecord {
	const starttime = procStarttime(pid);
	return {
		world: 'host',
		tid: pid,
		tgid: pid,
		starttime,
		tgidStarttime: starttime,
		time: Date.now() - 5000,
		owner: {pid: 4_194_000, starttime: 1},
		...overrides,
	};
}

async function stoppedSleeper() {
	const child = await spawnSleeper();
	process.kill(child.pid, 'SIGSTOP');
	await waitFor(() => procState(child.pid) === 'T');
	return child;
}

describe('recoverStopped', () => {
	it('resumes a task a crashed run left stopped, says so, and audits it', async () => {
		const child = await stoppedSleeper();
		const stateDir = tempStateDir();
		openStopJournal(stateDir).record(record(child.pid));
		const {lines, report} = await recoveryLines(context(stateDir));
		expect(report.items.map((item) => item.outcome)).toEqual(['resumed']);
		expect(lines).toHaveLength(1);
		expect(lines[0]).toMatch(
			new RegExp(`^klptop: ${child.pid} sleep: left stopped by a previous run .*resumed`),
		);
		await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
		expect(openStopJournal(stateDir).list().entries).toEqual([]);
		expect(readAuditLog(stateDir)).toMatchObject([
			{action: 'recover', result: 'ok', target: `tid ${child.pid}`},
		]);
	});

	it('does not signal a task whose PID was reused (start time differs); drops the record', async () => {
		const child = await stoppedSleeper();
		const stateDir = tempStateDir();
		const starttime = procStarttime(child.pid);
		openStopJournal(stateDir).record(
			record(child.pid, {tgidStarttime: starttime - 5, starttime: starttime - 5}),
		);
		const report = await recoverStopped(context(stateDir));
		expect(report.items.map((item) => item.outcome)).toEqual(['reused']);
		expect(procState(child.pid)).toBe('T');
		expect(openStopJournal(stateDir).list().entries).toEqual([]);
	});

	it('does not resume a stop whose klptop is still running (a nudge in progress)', async () => {
		const child = await stoppedSleeper();
		const stateDir = tempStateDir();
		const ctx = context(stateDir);
		openStopJournal(stateDir).record(record(child.pid, {owner: ctx.owner}));
		const report = await recoverStopped(ctx);
		expect(report.items.map((item) => item.outcome)).toEqual(['in-progress']);
		expect(procState(child.pid)).toBe('T');
		expect(openStopJournal(stateDir).list().entries).toHaveLength(1);
	});

	it('ignores records of another world (an emulator-served tree), and drops records of exited tasks', async () => {
		const child = await stoppedSleeper();
		const gone = await spawnSleeper();
		const goneStart = procStarttime(gone.pid);
		gone.kill('SIGKILL');
		await waitFor(() => procState(gone.pid) === null);
		const stateDir = tempStateDir();
		const journal = openStopJournal(stateDir);
		journal.record(record(child.pid, {world: 'tree:/tmp/elsewhere'}));
		journal.record({
			...record(child.pid),
			tid: gone.pid,
			tgid: gone.pid,
			starttime: goneStart,
			tgidStarttime: goneStart,
		});
		const report = await recoverStopped(context(stateDir));
		expect(report.items.map((item) => item.outcome)).toEqual(['gone']);
		expect(procState(child.pid)).toBe('T');
		expect(journal.list().entries.map((entry) => entry.record.world)).toEqual(['tree:/tmp/elsewhere']);
	});

	it('drops a record whose task is running (SIGCONT already went out before the crash)', async () => {
		const child = await spawnSleeper();
		const stateDir = tempStateDir();
		openStopJournal(stateDir).record(record(child.pid));
		const report = await recoverStopped(context(stateDir));
		expect(report.items.map((item) => item.outcome)).toEqual(['not-stopped']);
		expect(openStopJournal(stateDir).list().entries).toEqual([]);
	});

	it('counts a queued, not yet taken SIGSTOP as stopped (SigPnd/ShdPnd bit 19)', () => {
		const status = (sig: string, shd: string) =>
			parseProcStatus(`Name:\tsleep\nTgid:\t5\nTracerPid:\t0\nSigPnd:\t${sig}\nShdPnd:\t${shd}\n`);
		expect(stopPending(status('0000000000000000', '0000000000040000'))).toBe(true);
		expect(stopPending(status('0000000000040000', '0000000000000000'))).toBe(true);
		// SIGTSTP (20) and SIGCONT (18) are not SIGSTOP.
		expect(stopPending(status('0000000000080000', '0000000000020000'))).toBe(false);
	});
});
