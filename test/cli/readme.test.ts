// The README's usage block must stay identical to `klptop --help` (issue 2 §1).
import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {helpText} from '../../source/cli/help.js';

function dedent(text: string): string {
	const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
	const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length);
	const cut = Math.min(...indents);
	return lines.map((line) => line.slice(cut)).join('\n');
}

describe('README', () => {
	const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

	it('carries the --help text verbatim', () => {
		const block = /<!-- usage:start[^>]*-->\n```\n([\s\S]*?)\n```\n<!-- usage:end -->/.exec(readme);
		expect(block, 'README has a usage block between usage:start and usage:end').not.toBeNull();
		expect(block![1]).toBe(dedent(helpText));
	});

	it('names the two commands: install-and-run on the emulator, and the test suite', () => {
		expect(readme).toContain('npm ci && npm run demo');
		expect(readme).toMatch(/```sh\nnpm test\n```/);
	});
});

describe('README and the build scripts', () => {
	it('names the standalone executable where `npm run sea` writes it', () => {
		const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
		const sea = readFileSync(new URL('../../scripts/sea.mjs', import.meta.url), 'utf8');
		const written = /default: path\.join\(projectRoot, 'dist', 'sea', '([^']+)'\)/.exec(sea);
		expect(written, 'scripts/sea.mjs has a default output').not.toBeNull();
		const named = /`npm run sea` writes `([^`]+)`/.exec(readme);
		expect(named, 'README says where `npm run sea` writes').not.toBeNull();
		expect(named![1]).toBe(`dist/sea/${written![1]}`);
	});
});
