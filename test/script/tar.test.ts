import {execFileSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {afterEach, describe, expect, it} from 'vitest';
import {createTarWriter, parseTar, safeArchivePath, TarError} from '../../source/sources/tar.js';

/** GNU tar escapes non-ASCII names as octal in the C locale (CI may run with no LANG at all). */
const utf8 = {...process.env, LC_ALL: 'C.UTF-8'};

const dirs: string[] = [];
afterEach(() => {
	for (const dir of dirs.splice(0)) {
		rmSync(dir, {recursive: true, force: true});
	}
});

function tempDir(): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-tar-'));
	dirs.push(dir);
	return dir;
}

const longFunc = `${'very_long_function_name_'.repeat(6)}x,1`;
const deepPath = `top/sys/kernel/livepatch/${'p'.repeat(60)}/${'o'.repeat(60)}/f,1`;

function sample(): Buffer {
	const tar = createTarWriter({mtime: 1_700_000_000});
	return Buffer.concat([
		...tar.directory('top', {mode: 0o755}),
		...tar.file('top/enabled', '1\n', {mode: 0o644}),
		...tar.file('top/force', '', {mode: 0o200}),
		...tar.directory(`top/obj/${longFunc}`),
		...tar.directory(deepPath),
		...tar.file('top/caf\u00e9/\u65e5\u672c', 'unicode\n'),
		...tar.file('top/big-uid', 'x', {uid: 100_000_000, gid: 5}),
		...tar.file('top/binary', Buffer.from([0, 1, 2, 255])),
		...tar.end(),
	]);
}

/** A one-member archive whose name field holds `name` verbatim (as a hostile archive would). */
function rawArchive(name: string): Buffer {
	const tar = createTarWriter();
	const archive = Buffer.concat([...tar.file('placeholder', 'evil\n'), ...tar.end()]);
	archive.fill(0, 0, 100);
	archive.write(name, 0, 100, 'utf8');
	archive.fill(0x20, 148, 156);
	let sum = 0;
	for (let i = 0; i < 512; i++) {
		sum += archive[i]!;
	}

	archive.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
	return archive;
}

describe('member names', () => {
	it('normalises names and refuses absolute ones and ..', () => {
		expect(safeArchivePath('./a//b/')).toBe('a/b');
		expect(safeArchivePath('a/./b')).toBe('a/b');
		expect(safeArchivePath('/etc/passwd')).toBeNull();
		expect(safeArchivePath('a/../../b')).toBeNull();
		expect(safeArchivePath('..')).toBeNull();
		expect(safeArchivePath('a\0b')).toBeNull();
		expect(safeArchivePath('')).toBeNull();
		expect(() => createTarWriter().file('../x', '')).toThrow(TarError);
	});
});

describe('ustar writer and reader', () => {
	it('round-trips files, directories, modes, owners, long and non-ASCII names, binary data', () => {
		const entries = parseTar(sample());
		const byName = new Map(entries.map((entry) => [entry.name, entry]));
		expect(byName.get('top')).toMatchObject({type: 'directory', mode: 0o755});
		expect(byName.get('top/enabled')).toMatchObject({type: 'file', mode: 0o644, mtime: 1_700_000_000});
		expect(byName.get('top/enabled')!.data.toString()).toBe('1\n');
		expect(byName.get('top/force')).toMatchObject({type: 'file', mode: 0o200});
		expect(byName.get(`top/obj/${longFunc}`)).toMatchObject({type: 'directory'});
		expect(byName.get(deepPath)).toMatchObject({type: 'directory'});
		expect(byName.get('top/caf\u00e9/\u65e5\u672c')!.data.toString()).toBe('unicode\n');
		expect(byName.get('top/big-uid')).toMatchObject({uid: 100_000_000, gid: 5});
		expect([...byName.get('top/binary')!.data]).toEqual([0, 1, 2, 255]);
		expect(entries).toHaveLength(8);
	});

	it('writes archives GNU tar lists and extracts exactly', () => {
		const dir = tempDir();
		const file = path.join(dir, 'a.tar');
		writeFileSync(file, sample());
		const listing = execFileSync('tar', ['-tf', file], {encoding: 'utf8', env: utf8})
			.split('\n')
			.filter(Boolean);
		expect(listing).toContain(`top/obj/${longFunc}/`);
		expect(listing).toContain(`${deepPath}/`);
		expect(listing).toContain('top/caf\u00e9/\u65e5\u672c');
		const out = path.join(dir, 'out');
		mkdirSync(out);
		execFileSync('tar', ['-xf', file, '-C', out], {env: utf8});
		expect(readFileSync(path.join(out, 'top/caf\u00e9/\u65e5\u672c'), 'utf8')).toBe('unicode\n');
		expect([...readFileSync(path.join(out, 'top/binary'))]).toEqual([0, 1, 2, 255]);
	});

	it('reads what GNU tar writes, in gnu and pax formats (long names included)', () => {
		const dir = tempDir();
		const src = path.join(dir, 'src');
		const long = `${'n'.repeat(150)}/${'m'.repeat(120)}`;
		mkdirSync(path.join(src, long), {recursive: true});
		writeFileSync(path.join(src, long, 'file'), 'deep\n');
		writeFileSync(path.join(src, 'short'), 'short\n');
		for (const format of ['gnu', 'pax', 'ustar']) {
			const file = path.join(dir, `${format}.tar`);
			const args = ['-cf', file, `--format=${format}`, '-C', src, 'short'];
			if (format !== 'ustar') {
				args.push(long);
			}

			execFileSync('tar', args, {env: utf8});
			const entries = parseTar(readFileSync(file));
			const byName = new Map(entries.map((entry) => [entry.name, entry]));
			expect(byName.get('short')!.data.toString()).toBe('short\n');
			if (format !== 'ustar') {
				expect(byName.get(`${long}/file`)!.data.toString()).toBe('deep\n');
			}
		}
	});

	it('refuses path traversal and absolute names instead of guessing', () => {
		for (const name of ['../evil', 'a/../../evil', '/etc/cron.d/evil']) {
			expect(() => parseTar(rawArchive(name))).toThrow(/path traversal/);
		}

		expect(parseTar(rawArchive('./fine'))[0]!.name).toBe('fine');
	});

	it('rejects damaged archives with a TarError', () => {
		const archive = sample();
		const bad = Buffer.from(archive);
		bad[10] = bad[10]! ^ 0xff;
		expect(() => parseTar(bad)).toThrow(
			/not a tar archive, or damaged \(header checksum mismatch at byte 0\)/,
		);
		expect(() => parseTar(archive.subarray(0, 700))).toThrow(/truncated/);
	});

	it('never fails on garbage with anything but TarError (fuzz)', () => {
		const base = sample();
		fc.assert(
			fc.property(
				fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({min: 0, max: 255})), {maxLength: 20}),
				fc.nat(base.length),
				(flips, cut) => {
					const mutated = Buffer.from(base.subarray(0, cut));
					for (const [at, value] of flips) {
						if (at < mutated.length) {
							mutated[at] = value;
						}
					}

					try {
						for (const entry of parseTar(mutated)) {
							expect(safeArchivePath(entry.name)).toBe(entry.name);
						}
					} catch (error) {
						expect(error).toBeInstanceOf(TarError);
					}
				},
			),
			{numRuns: 300},
		);
	});

	it('round-trips arbitrary safe names and contents (property)', () => {
		const segment = fc.stringMatching(/^[\w.,+-]{1,40}$/).filter((s) => s !== '.' && s !== '..');
		fc.assert(
			fc.property(
				fc.uniqueArray(
					fc.array(segment, {minLength: 1, maxLength: 8}).map((parts) => parts.join('/')),
					{
						minLength: 1,
						maxLength: 10,
						selector: (name) => name,
					},
				),
				fc.uint8Array({maxLength: 2000}),
				(names, bytes) => {
					// Keep only names that are not a prefix directory of another.
					const files = names.filter((name) => !names.some((other) => other.startsWith(`${name}/`)));
					const tar = createTarWriter();
					const archive = Buffer.concat([
						...files.flatMap((name) => tar.file(name, Buffer.from(bytes))),
						...tar.end(),
					]);
					const entries = parseTar(archive);
					expect(entries.map((entry) => entry.name)).toEqual(files);
					for (const entry of entries) {
						expect(Buffer.compare(entry.data, Buffer.from(bytes))).toBe(0);
					}
				},
			),
			{numRuns: 100},
		);
	});
});
