// Whole-or-nothing file replacement, shared by export's textfile and capture's archive.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {replaceFile, replaceFileSync} from '../../source/script/common.js';

const dirs: string[] = [];
afterEach(() => {
	for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true});
});

function dirWithFile(): {dir: string; file: string} {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-replace-'));
	dirs.push(dir);
	const file = path.join(dir, 'metrics.prom');
	writeFileSync(file, 'old\n');
	return {dir, file};
}

describe('replaceFile', () => {
	it('replaces the file with what was written beside it, and leaves nothing else behind', async () => {
		const {dir, file} = dirWithFile();
		replaceFileSync(file, (temp) => {
			expect(path.dirname(temp)).toBe(dir);
			// The file itself is untouched while the new one is written.
			expect(readFileSync(file, 'utf8')).toBe('old\n');
			writeFileSync(temp, 'new\n');
		});
		expect(readFileSync(file, 'utf8')).toBe('new\n');
		await replaceFile(file, async (temp) => {
			writeFileSync(temp, 'newer\n');
		});
		expect(readFileSync(file, 'utf8')).toBe('newer\n');
		expect(readdirSync(dir)).toEqual(['metrics.prom']);
	});

	it('a write that fails half way leaves the file as it was and removes its temp file', async () => {
		const {dir, file} = dirWithFile();
		expect(() => {
			replaceFileSync(file, (temp) => {
				writeFileSync(temp, 'half');
				throw new Error('disk full');
			});
		}).toThrow('disk full');
		await expect(
			replaceFile(file, async (temp) => {
				writeFileSync(temp, 'half');
				throw new Error('ENOSPC');
			}),
		).rejects.toThrow('ENOSPC');
		expect(readFileSync(file, 'utf8')).toBe('old\n');
		expect(readdirSync(dir)).toEqual(['metrics.prom']);
	});
});
