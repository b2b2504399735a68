// `klptop record` as operators run it: a real process (the built CLI) recording a tree served by a
// real-time emulator (`klptop emulate X --root DIR`), with no terminal. Another klptop reverses the
// transition (audited in the shared state directory) and takes a capture while it records; SIGTERM
// and SIGHUP end it with exit 0 and the file intact, ready for `report` and `--replay`.
import {spawn, spawnSync} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {existsSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {repoRoot, sleep} from '../e2e/tmux.js';
import {loadRecording} from '../../source/record/load.js';
import {tempDir} from './helpers.js';

const cli = path.join(repoRoot, 'dist/cli.js');
const children: ChildProcess[] = [];

afterEach(() => {
	for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

type Started = {child: ChildProcess; stderr: () => string; exited: Promise<number | null>};

function start(args: string[], env: NodeJS.ProcessEnv): Started {
	// No terminal at all: stdin is /dev/null, the outputs are pipes.
	const child = spawn(process.execPath, [cli, ...args], {
		env: {...process.env, ...env},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	children.push(child);
	let err = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		err += chunk.toString();
	});
	const exited = new Promise<number | null>((resolve) => {
		child.on('exit', (code) => resolve(code));
	});
	return {child, stderr: () => err, exited};
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(50);
	}
}

function klptop(args: string[], env: NodeJS.ProcessEnv) {
	return spawnSync(process.execPath, [cli, ...args], {
		env: {...process.env, ...env},
		encoding: 'utf8',
		timeout: 30_000,
	});
}

describe('klptop record, headless', () => {
	it('records our reverse, feeds a capture, and ends cleanly on SIGTERM and on SIGHUP', async () => {
		const dir = tempDir();
		const tree = path.join(dir, 'tree');
		const env = {KLPTOP_STATE_DIR: path.join(dir, 'state')};
		const world = start(['emulate', 'stuck-killable', '--root', tree], env);
		await until(
			() => existsSync(path.join(tree, 'sys/kernel/livepatch/klp_sleeper_patch/transition')),
			'the tree',
		);
		const file = path.join(dir, 'transitions.rec');
		const recorder = start(['record', '--root', tree, '-o', file, '-d', '0.2'], env);
		await until(() => recorder.stderr().includes('klptop record: recording'), 'the recorder');
		await until(
			() => readdirSync(env.KLPTOP_STATE_DIR).some((name) => name.startsWith('recorder-')),
			'its announcement',
		);
		await sleep(600);

		const reversed = klptop(['reverse', 'klp_sleeper_patch', '--root', tree], env);
		expect(reversed.status, reversed.stderr).toBe(0);
		// The reversal completes 1-2 s later and the patch goes away; the recorder polls 5 times a second.
		await until(
			() => !existsSync(path.join(tree, 'sys/kernel/livepatch/klp_sleeper_patch')),
			'the unpatched patch to go',
		);
		await sleep(1000);
		const archive = path.join(dir, 'cap.tar.gz');
		const captured = klptop(['capture', '--root', tree, '-o', archive], env);
		expect(captured.status, captured.stderr).toBe(0);
		expect(captured.stderr).toContain(`embedded the last minutes of the recording ${file}`);

		recorder.child.kill('SIGTERM');
		expect(await recorder.exited).toBe(0);
		expect(recorder.stderr()).toMatch(/klptop record: stopped by a signal: \d+ polls/);
		expect(readdirSync(env.KLPTOP_STATE_DIR).filter((name) => name.startsWith('recorder-'))).toEqual([]);

		const recording = loadRecording(file);
		expect(recording.warnings).toEqual([]);
		expect(recording.end?.reason).toBe('stopped by a signal');
		expect(recording.actions.map(({entry}) => [entry.action, entry.target, entry.result])).toEqual([
			['reverse', 'klp_sleeper_patch', 'ok'],
		]);
		const report = JSON.parse(klptop(['report', file, '--json'], env).stdout) as {
			transitions: Array<{
				outcome: string;
				actions: Array<{action: string}>;
				blockers: Array<{tid: number; ended: string}>;
			}>;
		};
		expect(report.transitions[0]).toMatchObject({
			outcome: 'reversed-completed',
			actions: [{action: 'reverse'}],
		});
		expect(report.transitions[0]!.blockers[0]).toMatchObject({tid: 539, ended: 'reversal'});

		// The capture's embedded minutes replay like the file itself.
		const fromCapture = klptop(['--replay', archive, '--once', '--json', '--at', '+0s'], env);
		expect(fromCapture.status, fromCapture.stderr).toBe(0);
		expect(JSON.parse(fromCapture.stdout)).toMatchObject({replay: {host: `tree:${tree}`, poll: 1}});

		const again = start(['record', '--root', tree, '-o', file, '-d', '0.2'], env);
		await until(() => again.stderr().includes('klptop record: recording'), 'the second recorder');
		again.child.kill('SIGHUP');
		expect(await again.exited).toBe(0);
		expect(loadRecording(file).end?.reason).toBe('stopped by a signal');
		// The first run moved aside, whole.
		expect(loadRecording(`${file}.1`).actions).toHaveLength(1);
		world.child.kill('SIGTERM');
		await world.exited;
	}, 90_000);
});
