/** Shared helpers of the recording tests: record an emulated scenario into a private directory. */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {foldSnapshot} from '../../source/model/history.js';
import type {History} from '../../source/model/types.js';
import {runRecord} from '../../source/record/recorder.js';
import {createReader} from '../../source/sources/reader.js';
import {openAuditLog} from '../../source/state/audit.js';
import type {RecordOptions} from '../../source/record/recorder.js';
import type {ScriptClock} from '../../source/script/common.js';
import {emulated, memoryIo} from '../script/helpers.js';
import type {EmulatedSource} from '../script/helpers.js';

export function tempDir(prefix = 'klptop-rec-'): string {
	return mkdtempSync(path.join(tmpdir(), prefix));
}

export type Recorded = {
	readonly file: string;
	readonly dir: string;
	readonly stateDir: string;
	readonly opened: EmulatedSource;
	readonly code: number;
	readonly stderr: string;
};

/**
Record `polls` polls of an emulated scenario, `delayS` of virtual time apart (milliseconds of real
time). `atSecond` runs at the given virtual seconds (after the sleep that reaches them), before
that poll: the place to act on the emulated world and write the audit log, as another klptop would.
*/
export async function recordScenario(
	scenario: string,
	polls: number,
	options: {
		readonly delayS?: number;
		readonly threads?: number;
		readonly maxSizeMb?: number;
		readonly atSecond?: Readonly<
			Record<number, (opened: EmulatedSource, stateDir: string) => Promise<void> | void>
		>;
		readonly extra?: Partial<RecordOptions>;
	} = {},
): Promise<Recorded> {
	const dir = tempDir();
	const stateDir = path.join(dir, 'state');
	const opened = emulated(scenario, options.threads === undefined ? {} : {threads: options.threads});
	const start = opened.emulation.now();
	const due = new Map(Object.entries(options.atSecond ?? {}).map(([s, run]) => [Number(s), run]));
	const clock: ScriptClock = {
		now: () => opened.emulation.now(),
		async sleep(ms) {
			opened.emulation.advance(ms);
			const second = Math.round((opened.emulation.now() - start) / 1000);
			const run = due.get(second);
			if (run !== undefined) {
				due.delete(second);
				await run(opened, stateDir);
			}
		},
	};
	const io = memoryIo();
	const file = path.join(dir, 'transitions.rec');
	const code = await runRecord(
		{
			opened,
			file,
			delayS: options.delayS ?? 1,
			n: polls,
			host: 'testhost',
			version: '0.0.0-test',
			stateDir,
			clock,
			...(options.maxSizeMb === undefined ? {} : {maxSizeMb: options.maxSizeMb}),
			...options.extra,
		},
		io,
	);
	return {file, dir, stateDir, opened, code, stderr: io.stderr.text()};
}

/**
For `atSecond`: reverse the transition of `patch` in the emulated world and audit it in the state
directory, as a klptop in another process would (the recorder picks it up from the audit log).
*/
export function reverseAs(user: string, patch = 'klp_sleeper_patch') {
	return async (opened: EmulatedSource, stateDir: string): Promise<void> => {
		await opened.emulation.control.write(`/sys/kernel/livepatch/${patch}/enabled`, '0');
		openAuditLog(stateDir, {now: opened.emulation.now, user}).append({
			action: 'reverse',
			target: patch,
			result: 'ok',
			detail: 'now unpatching',
			world: `emulator:${opened.source.scenario ?? '?'}`,
		});
	};
}

/** The histories the dashboard folds live from an emulated scenario, one poll a virtual second. */
export function liveHistories(scenario: string, polls: number): History[] {
	const opened = emulated(scenario);
	const reader = createReader(opened.port, opened.source);
	const out: History[] = [];
	let history: History | null = null;
	for (let i = 0; i < polls; i++) {
		if (i > 0) opened.emulation.advance(1000);
		history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: opened.emulation.now}));
		out.push(history);
	}

	return out;
}
