/*
Crash safety with real processes: a klptop-like process (fixtures/stop-and-wait.ts, klptop's own
nudge code) stops a real child and is then killed: by SIGKILL (nothing runs; the journal and the
next start's recovery must resume the child), by SIGTERM/SIGINT/SIGHUP (its handlers must), or it
calls process.exit (its `exit` handler must).
*/
import {spawn, type ChildProcess} from 'node:child_process';
import {rmSync} from 'node:fs';
import {createInterface} from 'node:readline';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {createActionContext} from '../../source/actions/context.js';
import {recoverStopped} from '../../source/actions/nudge.js';
import {openStopJournal} from '../../source/state/journal.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {compileFixture, repo} from './compile-fixture.js';
import {killChildren, procState, removeTempDirs, spawnSleeper, tempStateDir, waitFor} from './helpers.js';

const host = createHostPort('/');
let fixture: {file: string; dir: string};

beforeAll(() => {
	fixture = compileFixture('test/actions/fixtures/stop-and-wait.ts');
}, 120_000);

afterAll(() => {
	rmSync(fixture.dir, {recursive: true, force: true});
});

const fixtures = new Set<ChildProcess>();

afterEach(() => {
	for (const proc of fixtures) {
		proc.kill('SIGKILL');
	}

	fixtures.clear();
	killChildren();
	removeTempDirs();
});

type Run = {
	readonly proc: ChildProcess;
	/** Resolves when the fixture printed `marker`. */
	until(marker: string): Promise<void>;
	readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
};

function runFixture(pid: number, stateDir: string, mode = 'wait'): Run {
	const proc = spawn(process.execPath, [fixture.file, String(pid), stateDir, mode], {
		stdio: ['ignore', 'pipe', 'pipe'],
		env: {...process.env, KLPTOP_REPO: repo},
	});
	fixtures.add(proc);
	proc.on('exit', () => fixtures.delete(proc));
	const seen = new Set<string>();
	const waiters = new Map<string, () => void>();
	let stderr = '';
	proc.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	createInterface({input: proc.stdout!}).on('line', (line) => {
		seen.add(line);
		waiters.get(line)?.();
	});
	const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
		proc.on('exit', (code, signal) => resolve({code, signal}));
	});
	return {
		proc,
		exited,
		until: (marker) =>
			seen.has(marker)
				? Promise.resolve()
				: new Promise<void>((resolve, reject) => {
						waiters.set(marker, resolve);
						void exited.then(({code, signal}) =>
							reject(new Error(`fixture exited (${code ?? signal}) before ${marker}: ${stderr}`)),
						);
					}),
	};
}

function recoveryContext(stateDir: string) {
	return createActionContext({source: {kind: 'host', root: '/', scenario: null}, port: host, stateDir});
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIGKILL between SIGSTOP and SIGCONT', () => {
	it('leaves no child stopped after recovery, in a loop of 240 kills (200 while stopped)', async () => {
		const children = await Promise.all([1, 2, 3, 4].map(async () => spawnSleeper()));
		const stateDir = tempStateDir();
		const ctx = recoveryContext(stateDir);
		const journal = openStopJournal(stateDir);
		const counts = {killedWhileStopped: 0, killedAnywhere: 0, resumed: 0, notStopped: 0, leftStopped: 0};
		let recoveryMs = 0;
		const started = Date.now();
		const iterations = 240;
		for (let i = 0; i < iterations; i++) {
			const child = children[i % children.length]!;
			const run = runFixture(child.pid, stateDir);
			const whileStopped = i % 6 !== 5;
			if (whileStopped) {
				// The fixture printed STOPPED right after its SIGSTOP; kill at once or a moment later.
				await run.until('STOPPED');
				await sleep(i % 2);
				counts.killedWhileStopped++;
			} else {
				// Anywhere from planning through journalling to just after the SIGSTOP.
				await run.until('READY');
				await sleep(i % 7);
				counts.killedAnywhere++;
			}

			run.proc.kill('SIGKILL');
			expect((await run.exited).signal).toBe('SIGKILL');

			const before = performance.now();
			const report = await recoverStopped(ctx);
			recoveryMs += performance.now() - before;
			for (const item of report.items) {
				if (item.outcome === 'resumed') {
					counts.resumed++;
				} else if (item.outcome === 'not-stopped') {
					counts.notStopped++;
				} else {
					throw new Error(`unexpected recovery outcome: ${item.outcome} ${item.text}`);
				}
			}

			expect(report.problems).toEqual([]);
			expect(journal.list().entries).toEqual([]);
			await waitFor(
				() => children.every((sleeper) => procState(sleeper.pid) === 'S'),
				2000,
				`every child sleeping after iteration ${i}`,
			);
		}

		// A stop that was still pending would show up now.
		await sleep(100);
		counts.leftStopped = children.filter((sleeper) => procState(sleeper.pid) !== 'S').length;
		const elapsed = Date.now() - started;
		console.log(
			`crash loop: ${iterations} SIGKILLs (${counts.killedWhileStopped} between SIGSTOP and SIGCONT, ` +
				`${counts.killedAnywhere} at random points); recovery resumed ${counts.resumed}, found ${counts.notStopped} ` +
				`not stopped; left stopped: ${counts.leftStopped}; ${elapsed} ms total, ` +
				`${(elapsed / iterations).toFixed(1)} ms per iteration, recovery ${(recoveryMs / iterations).toFixed(2)} ms on average`,
		);
		expect(counts.killedWhileStopped).toBeGreaterThanOrEqual(200);
		expect(counts.resumed).toBeGreaterThanOrEqual(counts.killedWhileStopped);
		expect(counts.leftStopped).toBe(0);
	}, 600_000);
});

describe('exit paths of a nudging process', () => {
	for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
		it(`${signal} while stopped: the handler sends SIGCONT, clears the journal, and the signal still ends it`, async () => {
			const child = await spawnSleeper();
			const stateDir = tempStateDir();
			const run = runFixture(child.pid, stateDir);
			await run.until('STOPPED');
			await waitFor(() => procState(child.pid) === 'T', 2000, 'the child to stop');
			run.proc.kill(signal);
			expect(await run.exited).toEqual({code: null, signal});
			await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
			expect(openStopJournal(stateDir).list().entries).toEqual([]);
		});
	}

	it('SIGTERM while stopped, with Ink’s signal-exit handler installed: resumed, cleaned up, and still ends', async () => {
		const child = await spawnSleeper();
		const stateDir = tempStateDir();
		const run = runFixture(child.pid, stateDir, 'signal-exit');
		await run.until('STOPPED');
		run.proc.kill('SIGTERM');
		await run.until('CLEANUP SIGTERM');
		expect(await run.exited).toEqual({code: null, signal: 'SIGTERM'});
		await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
		expect(openStopJournal(stateDir).list().entries).toEqual([]);
	});

	it('process.exit while stopped: the exit handler sends SIGCONT; recovery drops the stale record', async () => {
		const child = await spawnSleeper();
		const stateDir = tempStateDir();
		const run = runFixture(child.pid, stateDir, 'exit');
		await run.until('STOPPED');
		expect(await run.exited).toEqual({code: 0, signal: null});
		await waitFor(() => procState(child.pid) === 'S', 2000, 'the child to sleep again');
		expect(openStopJournal(stateDir).list().entries).toHaveLength(1);
		const report = await recoverStopped(recoveryContext(stateDir));
		expect(report.items.map((item) => item.outcome)).toEqual(['not-stopped']);
		expect(openStopJournal(stateDir).list().entries).toEqual([]);
		expect(procState(child.pid)).toBe('S');
	});
});
