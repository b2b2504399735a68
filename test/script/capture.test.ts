import {execFileSync} from 'node:child_process';
import {
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {gzipSync} from 'node:zlib';
import {afterEach, describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import type {Snapshot} from '../../source/model/types.js';
import {toJsonDocument} from '../../source/output/json.js';
import {toText} from '../../source/output/text.js';
import {openSource} from '../../source/cli/main.js';
import type {Flags} from '../../source/cli/flags.js';
import {Header} from '../../source/views/header.js';
import {render} from 'ink-testing-library';
import {createElement} from 'react';
import {captureTopDir, defaultCaptureName, runCapture, writeCapture} from '../../source/script/capture.js';
import {
	CaptureOpenError,
	isArchivePath,
	openArchivePort,
	openRootPort,
} from '../../source/sources/capture.js';
import {errorCode} from '../../source/sources/fs-port.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {createReader} from '../../source/sources/reader.js';
import {createTarWriter, parseTar} from '../../source/sources/tar.js';
import {makeTree, type Tree} from '../helpers/tree.js';
import {emulated, hasControl, memoryIo, treeSource} from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0)) {
		cleanup();
	}
});

function tempDir(): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-capture-'));
	cleanups.push(() => {
		rmSync(dir, {recursive: true, force: true});
	});
	return dir;
}

function tree(spec: Parameters<typeof makeTree>[0]): Tree {
	const made = makeTree(spec);
	cleanups.push(() => {
		made.cleanup();
	});
	return made;
}

/** What must survive a capture: everything but time and source. */
function essence(snapshot: Snapshot) {
	return {
		kernel: snapshot.kernel,
		privileges: snapshot.privileges,
		patches: snapshot.patches,
		transition: snapshot.transition,
		tasks: snapshot.tasks,
		blockers: snapshot.blockers,
		warnings: snapshot.warnings,
	};
}

function replay(root: string) {
	const port = isArchivePath(root) ? openArchivePort(root) : createHostPort(root);
	return createReader(port, {kind: 'tree', root, scenario: null}).scan({threads: 'blockers'});
}

/** An emulated scenario after `seconds`, and its capture on disk. */
async function captured(scenario: string, seconds: number) {
	const opened = emulated(scenario);
	opened.emulation.advance(seconds * 1000);
	const output = path.join(tempDir(), 'cap.tar.gz');
	const result = await writeCapture({opened, output, version: '0.1.0'});
	// The live view of the same instant (the emulated clock did not move), read after the capture so
	// that the capture got the kernel log backlog.
	const live = createReader(opened.port, opened.source).scan({threads: 'blockers'});
	return {opened, live, output, result};
}

describe('capture archive', () => {
	it('replays a stuck transition through the same reader, from the archive and extracted', async () => {
		const {live, output, result} = await captured('stuck-interruptible', 5);
		expect(result.threads).toBe(live.tasks.total);
		expect(result.errors).toEqual([]);
		const fromArchive = replay(output);
		expect(essence(fromArchive)).toEqual(essence(live));
		expect(fromArchive.blockers[0]).toMatchObject({
			tid: 182,
			class: 'interruptible',
			function: 'klp_sleeper_wait',
		});
		expect(fromArchive.blockers[0]!.stack!.length).toBeGreaterThan(3);

		const dir = tempDir();
		execFileSync('tar', ['-xzf', output, '-C', dir]);
		expect(readdirSync(dir)).toEqual(['cap']);
		const extracted = path.join(dir, 'cap');
		const fromDisk = replay(extracted);
		expect(essence({...fromDisk, privileges: live.privileges})).toEqual(essence(live));
		// Kernel modes are kept: force is a write-only placeholder, patch_state and stack are 0400.
		const patchDir = path.join(extracted, 'sys/kernel/livepatch/klp_sleeper_patch');
		expect(statSync(path.join(patchDir, 'force')).mode & 0o777).toBe(0o200);
		expect(statSync(path.join(patchDir, 'enabled')).mode & 0o777).toBe(0o644);
		expect(statSync(path.join(extracted, 'proc/182/task/182/patch_state')).mode & 0o777).toBe(0o400);
		expect(statSync(path.join(extracted, 'proc/182/task/182/stack')).mode & 0o777).toBe(0o400);
	});

	it('keeps force by presence only: empty, unreadable, and detected by the reader', async () => {
		const {output} = await captured('stuck-killable', 3);
		const port = openArchivePort(output);
		expect(port.exists('/sys/kernel/livepatch/klp_sleeper_patch/force')).toBe(true);
		let code = '';
		try {
			port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/force');
		} catch (error) {
			code = errorCode(error);
		}

		expect(code).toBe('EACCES');
		expect(replay(output).patches[0]!.hasForce).toBe(true);
	});

	it('stores wchan and stack only for blockers, and stat/status/patch_state for every thread', async () => {
		const {output, live} = await captured('stuck-interruptible', 2);
		const port = openArchivePort(output);
		expect(port.exists('/proc/182/task/182/stack')).toBe(true);
		expect(port.exists('/proc/182/task/182/wchan')).toBe(true);
		expect(port.exists('/proc/1/task/1/stack')).toBe(false);
		expect(port.exists('/proc/1/task/1/wchan')).toBe(false);
		let threads = 0;
		for (const pid of port.readdir('/proc').filter((name) => /^\d+$/.test(name))) {
			for (const tid of port.readdir(`/proc/${pid}/task`)) {
				threads++;
				for (const file of ['stat', 'status', 'patch_state']) {
					expect(port.exists(`/proc/${pid}/task/${tid}/${file}`)).toBe(true);
				}
			}
		}

		expect(threads).toBe(live.tasks.total);
	});

	it('carries the livepatch kernel log (dating the start), osrelease, btime, klptop.json and a manifest', async () => {
		const {output, opened} = await captured('stuck-interruptible', 4);
		const port = openArchivePort(output);
		const kmsg = port.readKmsg()!;
		expect(kmsg.length).toBeGreaterThan(0);
		expect(
			kmsg.some((line) => line.includes("livepatch: 'klp_sleeper_patch': starting patching transition")),
		).toBe(true);
		expect(port.readKmsg()).toEqual([]);
		expect(port.readFile('/proc/stat')).toMatch(/^btime \d+\n$/);
		expect(port.readFile('/proc/sys/kernel/osrelease')).toBe(
			opened.port.readFile('/proc/sys/kernel/osrelease'),
		);

		const history = foldSnapshot(null, replay(output));
		expect(history.transition?.startedFrom).toBe('kernel-log');

		const json = JSON.parse(port.readFile('/klptop.json')) as ReturnType<typeof toJsonDocument>;
		expect(json.schema_version).toBe(1);
		expect(json.source).toEqual({kind: 'emulator', root: null, scenario: 'stuck-interruptible'});
		expect(json.blockers[0]).toMatchObject({tid: 182, function: 'klp_sleeper_wait'});
		expect(port.manifest).toMatchObject({
			format: 'klptop-capture',
			format_version: 1,
			klptop_version: '0.1.0',
			reader_uid: 0,
			source: {kind: 'emulator', scenario: 'stuck-interruptible'},
		});
		expect(port.prefix).toBe('cap');
	});

	it('replays a non-root capture as non-root (no stacks, wchan fallback)', async () => {
		const {output, live} = await captured('non-root', 3);
		const port = openArchivePort(output);
		expect(port.readerUid()).toBe(1000);
		const snapshot = replay(output);
		expect(snapshot.privileges).toEqual({root: false, stacksReadable: false});
		expect(essence(snapshot)).toEqual(essence(live));
		expect(live.blockers.length).toBeGreaterThan(0);
		for (const b of live.blockers) {
			// The stack was unreadable: kept as a mode-0000 placeholder that replays as EACCES.
			expect(port.readdir(`/proc/${b.tgid}/task/${b.tid}`)).toContain('stack');
		}
		expect(port.manifest!.errors.some((error) => error.startsWith('patch_state unreadable (EACCES)'))).toBe(
			true,
		);
	});

	it('keeps hostile names as data and the outputs sanitise them', async () => {
		const hostile = 'p\u001b]0;owned\u0007';
		const t = tree({
			patches: [
				{name: hostile, enabled: 1, transition: 1, objects: [{name: 'vmlinux', functions: ['f\u001b[2J,1']}]},
			],
			threads: [
				{pid: 1, comm: 'init', patchState: 1},
				{pid: 66, comm: 'x\u001b[31mred', patchState: 0, stack: ['[<0>] f\u001b[2J+0x1/0x10']},
			],
			kmsg: [`6,1,100,-;livepatch: '${hostile}': starting patching transition`],
		});
		const output = path.join(tempDir(), 'hostile.tar.gz');
		expect(await runCapture({opened: treeSource(t.root), output, version: '1'}, memoryIo())).toBe(0);
		const port = openArchivePort(output);
		expect(port.readdir('/sys/kernel/livepatch')).toEqual([hostile]);
		const history = foldSnapshot(null, replay(output));
		expect(history.snapshot.blockers[0]!.comm).toBe('x\u001b[31mred');
		const text = toText(history, {width: 100});
		const json = JSON.stringify(toJsonDocument(history));
		expect(text).toContain('x?[31mred');
		expect(hasControl(text)).toBe(false);
		expect(hasControl(json)).toBe(false);
	});

	it('refuses an archive with path traversal', () => {
		const dir = tempDir();
		const file = path.join(dir, 'evil.tar.gz');
		const tar = createTarWriter();
		const archive = Buffer.concat([...tar.file('sys/kernel/livepatch/p/enabled', '1\n'), ...tar.end()]);
		archive.fill(0, 0, 100);
		archive.write('../../etc/evil', 0, 'utf8');
		archive.fill(0x20, 148, 156);
		let sum = 0;
		for (let i = 0; i < 512; i++) {
			sum += archive[i]!;
		}

		archive.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
		writeFileSync(file, gzipSync(archive));
		expect(() => openArchivePort(file)).toThrow(/path traversal/);
	});

	it('serves a hand-made tree archive (no manifest, no top directory) too', () => {
		const t = tree({
			patches: [
				{name: 'p', enabled: 1, transition: 0, objects: [{name: 'vmlinux', patched: 1, functions: ['f,1']}]},
			],
			threads: [{pid: 3, comm: 'c'}],
		});
		const file = path.join(tempDir(), 'plain.tar');
		execFileSync('tar', ['-cf', file, '-C', t.root, 'sys', 'proc']);
		const port = openArchivePort(file);
		expect(port.manifest).toBeNull();
		expect(port.prefix).toBe('');
		const snapshot = replay(file);
		expect(snapshot.patches).toMatchObject([
			{name: 'p', enabled: true, objects: [{name: 'vmlinux', patched: true}]},
		]);
		expect(snapshot.tasks.total).toBe(1);
	});

	it('writes the archive 0600 via a temporary file, and reports a bad target with exit 2', async () => {
		const dir = tempDir();
		const output = path.join(dir, 'c.tgz');
		const io = memoryIo();
		expect(await runCapture({opened: emulated('quick'), output, version: '1'}, io)).toBe(0);
		expect(statSync(output).mode & 0o777).toBe(0o600);
		expect(readdirSync(dir)).toEqual(['c.tgz']);
		expect(io.stdout.text()).toBe('');
		expect(io.stderr.text()).toMatch(
			/^klptop capture: wrote .*c\.tgz \(\d+ threads, \d+ files, \d+ KiB\); replay with: klptop --root /,
		);
		const names = parseTar(Buffer.from(execFileSync('gzip', ['-dc', output]))).map((entry) => entry.name);
		expect(names[0]).toBe('c');
		expect(names).toContain('c/klptop.json');
		expect(names).toContain('c/capture.json');

		const failed = memoryIo();
		const missing = path.join(dir, 'no', 'such', 'dir', 'c.tar.gz');
		expect(await runCapture({opened: emulated('quick'), output: missing, version: '1'}, failed)).toBe(2);
		expect(failed.stderr.text()).toMatch(/cannot write .*ENOENT/);
		mkdirSync(path.join(dir, 'x'));
		expect(readdirSync(dir).sort()).toEqual(['c.tgz', 'x']);
	});

	it('names archives and their top directory safely', () => {
		expect(defaultCaptureName(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('klptop-capture-20260102T030405Z.tar.gz');
		expect(captureTopDir('/tmp/x/my capture.tar.gz')).toBe('my_capture');
		expect(captureTopDir('..tgz')).toBe('klptop-capture');
		expect(isArchivePath('a.tar.gz')).toBe(true);
		expect(isArchivePath('/some/dir')).toBe(false);
	});

	it('captures a large world (5,000 threads) and replays the same counts', async () => {
		const opened = emulated('many', {threads: 5000});
		const live = createReader(opened.port, opened.source).scan({threads: 'blockers'});
		const output = path.join(tempDir(), 'many.tar.gz');
		const result = await writeCapture({opened, output, version: '1'});
		expect(result.threads).toBe(live.tasks.total);
		const snapshot = replay(output);
		expect(snapshot.tasks).toEqual(live.tasks);
		expect(snapshot.blockers.map((b) => b.tid)).toEqual(live.blockers.map((b) => b.tid));
		expect(readFileSync(output).length).toBeLessThan(3 * 1024 * 1024);
	});
});

describe('--root for captures', () => {
	it('opens an archive file from memory and a directory through the host port', async () => {
		const {output, live} = await captured('stuck-killable', 2);
		const fromArchive = createReader(openRootPort(output), {
			kind: 'tree',
			root: output,
			scenario: null,
		}).scan();
		expect(fromArchive.blockers.map((b) => b.tid)).toEqual(live.blockers.map((b) => b.tid));

		const dir = tempDir();
		execFileSync('tar', ['-xzf', output, '-C', dir]);
		const extracted = path.join(dir, 'cap');
		expect(
			createReader(openRootPort(extracted), {kind: 'tree', root: extracted, scenario: null}).scan().tasks,
		).toEqual(live.tasks);
		// A directory whose name looks like an archive is still a directory.
		const odd = path.join(dir, 'odd.tar.gz');
		execFileSync('cp', ['-r', extracted, odd]);
		expect(createReader(openRootPort(odd), {kind: 'tree', root: odd, scenario: null}).scan().tasks).toEqual(
			live.tasks,
		);
	});

	it.each(['archive', 'extracted'])(
		'replays a capture (%s) at the time it was taken, labelled as a capture, with no countdown',
		async (form) => {
			const {output} = await captured('demo', 5);
			let root = output;
			if (form === 'extracted') {
				const dir = tempDir();
				execFileSync('tar', ['-xzf', output, '-C', dir]);
				root = path.join(dir, 'cap');
			}

			// As `klptop --once --root FILE` opens it, on the real clock (months after the emulator's epoch).
			const opened = await openSource({root, once: true} as Flags, true);
			const created = Date.parse('2026-01-01T00:00:05.000Z');
			expect(opened.source).toEqual({kind: 'tree', root, scenario: null, capturedAt: created});
			const history = foldSnapshot(
				null,
				createReader(opened.port, opened.source).scan({threads: 'blockers'}),
			);
			expect(history.snapshot.time).toBe(created);
			const doc = toJsonDocument(history);
			expect(doc.time).toBe('2026-01-01T00:00:05.000Z');
			expect(doc.source.captured).toBe('2026-01-01T00:00:05.000Z');
			expect(doc.transition!.elapsed_s).toBeGreaterThan(4);
			expect(doc.transition!.elapsed_s).toBeLessThan(10);
			expect(Math.max(...doc.blockers.map((b) => b.stuck_s!))).toBeLessThan(10);
			const text = toText(history, {width: 200});
			expect(text).toContain(`Source: CAPTURE ${root} taken 2026-01-01T00:00:05.000Z`);
			expect(text).toMatch(/running \d+s \(start from the kernel log\)/);
			expect(text).toMatch(/when captured, the next kernel fake-signal round was ~\d+s away/);
			expect(text).not.toMatch(/next in ~/);
			const header = render(
				createElement(Header, {
					history,
					source: opened.source,
					hostname: 'h',
					delayS: 1,
					paused: false,
					scanError: null,
					loadingAll: false,
					width: 160,
					theme: {color: false, ascii: false},
				}),
			).lastFrame()!;
			expect(header).toContain(`capture ${root} taken 2026-01-01 00:00:05Z`);
			expect(header).toContain('saved picture');
			expect(header).not.toContain('fake signal in');
			opened.port.close?.();
		},
	);

	it('says which capture is unreadable and why', () => {
		const file = path.join(tempDir(), 'broken.tar.gz');
		writeFileSync(file, gzipSync(Buffer.from('not a tar archive at all'.repeat(40))));
		expect(() => openRootPort(file)).toThrow(CaptureOpenError);
		expect(() => openRootPort(file)).toThrow(
			/cannot read the capture .*broken\.tar\.gz: not a tar archive, or damaged/,
		);
		const garbage = path.join(tempDir(), 'garbage.tgz');
		writeFileSync(garbage, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
		expect(() => openRootPort(garbage)).toThrow(/cannot read the capture .*garbage\.tgz: /);
	});
});

describe('capture of this machine', () => {
	it('walks the real /proc (threads come and go meanwhile) and replays what it stored', async () => {
		const output = path.join(tempDir(), 'host.tar.gz');
		const opened = {
			source: {kind: 'host' as const, root: '/', scenario: null},
			port: createHostPort('/'),
			emulation: null,
		};
		const result = await writeCapture({opened, output, version: '1'});
		expect(result.threads).toBeGreaterThan(3);
		const port = openArchivePort(output);
		expect(port.manifest?.source).toEqual({kind: 'host', root: '/', scenario: null});
		expect(port.readFile('/proc/sys/kernel/osrelease')).toBe(
			readFileSync('/proc/sys/kernel/osrelease', 'utf8'),
		);
		const snapshot = replay(output);
		expect(snapshot.tasks.total).toBe(result.threads);
		expect(snapshot.kernel.livepatch).toBe(existsSync('/sys/kernel/livepatch'));
		// Our own process is in it, with its stat.
		expect(port.readFile(`/proc/${process.pid}/task/${process.pid}/stat`)).toMatch(
			new RegExp(`^${process.pid} \\(`),
		);
	});
});
