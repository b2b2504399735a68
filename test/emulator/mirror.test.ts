/**
The disk mirror and its control socket: the on-disk tree is the port's tree file for file, a
write made into the tree by someone else reaches the kernel (which reverses, refuses, ...), and
the socket returns the kernel's errors to a remote actor.
*/
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {
	createEmulation,
	MirrorDirError,
	mirrorToDisk,
	writeTreeOnce,
	type DiskMirror,
} from '../../source/emulator/index.js';
import {markerFileName} from '../../source/emulator/mirror.js';
import {connectTreeControl, requestEmulator} from '../../source/emulator/tree-client.js';
import type {FsPort} from '../../source/sources/fs-port.js';
import {asyncCodeOf, attr, histogram} from './helpers.js';

const made: string[] = [];
const mirrors: DiskMirror[] = [];

function tempDir(): string {
	const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
	const dir = fs.mkdtempSync(path.join(base, 'klpemu-'));
	made.push(dir);
	return dir;
}

afterEach(async () => {
	for (const mirror of mirrors.splice(0)) {
		await mirror.close();
	}

	for (const dir of made.splice(0)) {
		fs.rmSync(dir, {recursive: true, force: true});
	}
});

/** Every file under `/proc/<pid>` and `/sys/kernel/livepatch` of the port, compared with the disk. */
function expectSameTree(port: FsPort, dir: string): void {
	const read = (relative: string) => fs.readFileSync(path.join(dir, relative), 'utf8');
	const pids = port.readdir('/proc').filter((name) => /^\d+$/.test(name));
	expect(
		fs
			.readdirSync(path.join(dir, 'proc'))
			.filter((name) => /^\d+$/.test(name))
			.sort(),
	).toEqual([...pids].sort());
	for (const pid of pids) {
		for (const file of ['stat', 'status', 'cmdline', 'wchan', 'stack', 'patch_state']) {
			expect(read(`proc/${pid}/${file}`)).toBe(port.readFile(`/proc/${pid}/${file}`));
		}

		const tids = port.readdir(`/proc/${pid}/task`);
		expect(fs.readdirSync(path.join(dir, `proc/${pid}/task`)).sort()).toEqual([...tids].sort());
		for (const tid of tids) {
			for (const file of ['stat', 'status', 'cmdline', 'wchan', 'stack', 'patch_state']) {
				expect(read(`proc/${pid}/task/${tid}/${file}`)).toBe(
					port.readFile(`/proc/${pid}/task/${tid}/${file}`),
				);
			}
		}
	}

	const walk = (world: string): void => {
		for (const name of port.readdir(world)) {
			const child = `${world}/${name}`;
			const local = path.join(dir, child);
			if (fs.statSync(local).isDirectory()) {
				expect(fs.readdirSync(local).sort()).toEqual(port.readdir(child).sort());
				walk(child);
			} else if (name !== 'force' && name !== 'signal') {
				expect(read(child)).toBe(port.readFile(child));
			}
		}
	};

	walk('/sys/kernel/livepatch');
	for (const file of ['proc/sys/kernel/osrelease', 'proc/uptime', 'proc/modules']) {
		expect(read(file)).toBe(port.readFile(`/${file}`));
	}
}

describe('writeTreeOnce', () => {
	it('writes the same tree the port shows', async () => {
		const emulation = createEmulation('stuck-interruptible', {seed: 3});
		const dir = tempDir();
		await writeTreeOnce(emulation, dir);
		expectSameTree(emulation.port, dir);
		const kmsg = fs.readFileSync(path.join(dir, 'dev/kmsg'), 'utf8').trim().split('\n');
		expect(kmsg.at(-1)).toMatch(/^7,\d+,\d+,-;livepatch: klp_try_switch_task: swapper\/0:0 is running$/);
		expect(fs.readFileSync(path.join(dir, 'proc/stat'), 'utf8')).toMatch(/^btime 1767225570$/m);
	});

	it('writes a multi-threaded world with worker threads and keeps it identical', async () => {
		const emulation = createEmulation('many', {threads: 1500, seed: 2});
		const dir = tempDir();
		await writeTreeOnce(emulation, dir, {workers: 2});
		expectSameTree(emulation.port, dir);
	});
});

describe('mirrorToDisk', () => {
	it('refuses a non-empty directory it did not prepare, and leaves what is there', async () => {
		const dir = tempDir();
		fs.mkdirSync(path.join(dir, 'proc/mine'), {recursive: true});
		fs.mkdirSync(path.join(dir, 'dev'));
		fs.writeFileSync(path.join(dir, 'dev/null-ish'), 'a device node, say');
		await expect(mirrorToDisk(createEmulation('demo'), dir)).rejects.toBeInstanceOf(MirrorDirError);
		await expect(writeTreeOnce(createEmulation('demo'), dir)).rejects.toThrow(/not empty/);
		expect(fs.readdirSync(dir).sort()).toEqual(['dev', 'proc']);
		expect(fs.readdirSync(path.join(dir, 'proc'))).toEqual(['mine']);
		expect(fs.readFileSync(path.join(dir, 'dev/null-ish'), 'utf8')).toBe('a device node, say');
	});

	it('writes into a new directory, and reuses one it prepared before', async () => {
		const dir = path.join(tempDir(), 'new/tree');
		const first = await mirrorToDisk(createEmulation('demo'), dir);
		await first.close();
		expect(fs.existsSync(path.join(dir, markerFileName))).toBe(true);
		fs.mkdirSync(path.join(dir, 'proc/stale-from-last-run'));
		const emulation = createEmulation('stuck-interruptible');
		const again = await mirrorToDisk(emulation, dir);
		mirrors.push(again);
		expect(fs.existsSync(path.join(dir, 'proc/stale-from-last-run'))).toBe(false);
		expectSameTree(emulation.port, dir);
	});

	it('follows the kernel: changed files, vanished tasks and patch directories', async () => {
		const emulation = createEmulation('release', {seed: 4});
		const dir = tempDir();
		const mirror = await mirrorToDisk(emulation, dir);
		mirrors.push(mirror);
		expectSameTree(emulation.port, dir);
		emulation.kernel.release();
		emulation.advance(1500);
		mirror.sync();
		expect(fs.existsSync(path.join(dir, 'proc/182'))).toBe(false);
		expect(fs.readFileSync(path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch/transition'), 'utf8')).toBe(
			'0\n',
		);
		expectSameTree(emulation.port, dir);
		const before = fs.readFileSync(path.join(dir, 'dev/kmsg'), 'utf8');
		expect(before).toContain("livepatch: 'klp_sleeper_patch': patching complete");
	});

	it('applies a write made into the tree by someone else: echo 0 > enabled reverses the transition', async () => {
		const emulation = createEmulation('stuck-killable', {seed: 5});
		const dir = tempDir();
		const mirror = await mirrorToDisk(emulation, dir);
		mirrors.push(mirror);
		const enabled = path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch/enabled');
		expect(fs.readFileSync(enabled, 'utf8')).toBe('1\n');
		fs.writeFileSync(enabled, '0\n');
		mirror.sync();
		expect(attr(emulation.port, 'klp_sleeper_patch', 'enabled')).toBe('0');
		expect(emulation.kernel.logSince(0).map((record) => record.text)).toContain(
			"livepatch: 'klp_sleeper_patch': reversing transition from patching to unpatching",
		);
		expect(fs.readFileSync(enabled, 'utf8')).toBe('0\n');
		emulation.advance(2500);
		mirror.sync();
		expect(fs.existsSync(path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch'))).toBe(false);
		expect(fs.readdirSync(path.join(dir, 'sys/kernel/livepatch'))).toEqual([]);
	});

	it('logs a refused foreign write and restores the file', async () => {
		const emulation = createEmulation('stuck-interruptible', {seed: 6});
		const dir = tempDir();
		const mirror = await mirrorToDisk(emulation, dir);
		mirrors.push(mirror);
		const enabled = path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch/enabled');
		fs.writeFileSync(enabled, 'bogus\n');
		mirror.sync();
		await new Promise((resolve) => setImmediate(resolve));
		expect(fs.readFileSync(enabled, 'utf8')).toBe('1\n');
		expect(fs.readFileSync(path.join(dir, '.klptop-emulator.log'), 'utf8')).toMatch(
			/write \/sys\/kernel\/livepatch\/klp_sleeper_patch\/enabled "bogus\\n": EINVAL/,
		);
		// force written into the tree reaches the kernel too.
		fs.writeFileSync(path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch/force'), '1');
		mirror.sync();
		expect(histogram(emulation.port)).toEqual({'-1': 0, '0': 0, '1': 53});
	});

	it('serves a control socket: kernel errors come back to the actor', async () => {
		const emulation = createEmulation('replace', {seed: 7, kernel: '6.11'});
		const dir = tempDir();
		const mirror = await mirrorToDisk(emulation, dir);
		mirrors.push(mirror);
		const state = JSON.parse(fs.readFileSync(path.join(dir, '.klptop-emulator.json'), 'utf8')) as Record<
			string,
			unknown
		>;
		expect(state).toMatchObject({scenario: 'replace', pid: process.pid, kernel: '6.11'});
		const control = await connectTreeControl(dir);
		expect(control).not.toBeNull();
		// The older patch cannot be disabled while the replacing one is in transition.
		expect(await asyncCodeOf(control!.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0'))).toBe(
			'EBUSY',
		);
		const busy = await requestEmulator(state['socket'] as string, {op: 'insmod', patch: 'klp_vmlinux_patch'});
		expect(busy).toMatchObject({ok: false, code: 'EBUSY'});
		expect(await asyncCodeOf(control!.kill(99_999, 'SIGSTOP'))).toBe('ESRCH');
		expect(await asyncCodeOf(control!.write('/sys/kernel/livepatch/klp_sleeper_patch_v2/enabled', '1'))).toBe(
			'EINVAL',
		);
		// A successful signal is visible on disk right after the answer.
		await control!.kill(182, 'SIGSTOP');
		emulation.advance(10);
		mirror.sync();
		expect(fs.readFileSync(path.join(dir, 'proc/182/status'), 'utf8')).toMatch(/^State:\tT \(stopped\)$/m);
		// The mirror's own absolute paths are accepted as well.
		await control!.write(path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch_v2/enabled'), '0');
		expect(fs.readFileSync(path.join(dir, 'sys/kernel/livepatch/klp_sleeper_patch_v2/enabled'), 'utf8')).toBe(
			'0\n',
		);
		await mirror.close();
		expect(await connectTreeControl(dir)).toBeNull();
	});

	it('gives no control port for a tree without an emulator', async () => {
		expect(await connectTreeControl(tempDir())).toBeNull();
	});
});
