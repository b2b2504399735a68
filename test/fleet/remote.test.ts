/*
The remote stream command (remote.ts) run by a real POSIX shell, as sshd runs it without a tty: it
ends when its stdin closes (the ssh channel went away) however rarely klptop writes, and otherwise
passes klptop's output, stderr and status through untouched, ending with it.
*/
import {spawn} from 'node:child_process';
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {streamCommand} from '../../source/fleet/remote.js';

const dir = mkdtempSync(path.join(tmpdir(), 'klptop-remote-test-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

/** A stand-in for the host's klptop: a script with `body`, which writes its pid to `pidFile`. */
function fakeKlptop(name: string, body: string): {command: string; pidFile: string} {
	const file = path.join(dir, name);
	const pidFile = `${file}.pid`;
	writeFileSync(file, `#!/bin/sh\necho $$ > ${pidFile}\n${body}\n`);
	chmodSync(file, 0o755);
	return {command: file, pidFile};
}

function alive(pid: number): boolean {
	try {
		// Signal 0 checks existence only.
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** The command as sshd runs it (`sh -c`), stdin a pipe the test holds. */
function runRemote(command: string) {
	const child = spawn('/bin/sh', ['-c', command], {stdio: ['pipe', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const exit = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => {
		child.once('close', (code) => resolve({code, stdout, stderr}));
	});
	return {child, exit, output: () => stdout};
}

async function until(check: () => boolean, ms: number): Promise<void> {
	const deadline = Date.now() + ms;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('timed out');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('the remote stream command', () => {
	it('ends klptop when its stdin closes, though klptop writes nothing more', async () => {
		const klptop = fakeKlptop('quiet', `echo '{"doc":1}'\nexec sleep 300`);
		const remote = runRemote(streamCommand({command: klptop.command, sudo: false}, null, 30));
		await until(() => remote.output().includes('{"doc":1}'), 10_000);
		const pid = Number(readFileSync(klptop.pidFile, 'utf8'));
		expect(alive(pid)).toBe(true);
		remote.child.stdin.end();
		const result = await remote.exit;
		// SIGTERM's status (128 + 15), from klptop, passed on by the shell.
		expect(result.code).toBe(143);
		expect(alive(pid)).toBe(false);
	});

	it("passes klptop's arguments, output, stderr and status through and ends with it while stdin is open", async () => {
		const klptop = fakeKlptop('fails', `echo "args: $*"\necho "klptop: cannot read /proc" >&2\nexit 3`);
		const remote = runRemote(streamCommand({command: klptop.command, sudo: false}, null, 2));
		const result = await remote.exit;
		expect(result).toEqual({
			code: 3,
			stdout: 'args: -b --json -d 2\n',
			stderr: 'klptop: cannot read /proc\n',
		});
		expect(remote.child.stdin.writableEnded).toBe(false);
	});

	it('says what the shell says when there is no klptop (status 127)', async () => {
		const remote = runRemote(streamCommand({command: path.join(dir, 'nowhere'), sudo: false}, null, 1));
		const result = await remote.exit;
		expect(result.code).toBe(127);
		expect(result.stderr).toMatch(/nowhere: not found/);
	});
});
