/**
Compile a TypeScript fixture (and what it imports from `source/`) to plain ESM in a temporary
directory, so a test can run it as a separate `node` process: the crash tests need a real process
to SIGKILL. Uses the project's own TypeScript; `tsx` is not a dependency.
*/
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function compileFixture(relative: string): {file: string; dir: string} {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-fixture-'));
	const out = path.join(dir, 'dist');
	const config = path.join(dir, 'tsconfig.json');
	writeFileSync(
		config,
		JSON.stringify({
			extends: path.join(repo, 'tsconfig.json'),
			compilerOptions: {
				outDir: out,
				rootDir: repo,
				noEmit: false,
				typeRoots: [path.join(repo, 'node_modules/@types')],
			},
			include: [],
			files: [path.join(repo, relative)],
		}),
	);
	const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
	try {
		execFileSync(process.execPath, [tsc, '-p', config], {stdio: 'pipe'});
	} catch (error) {
		// Type errors elsewhere in the tree still emit; only a missing output is fatal.
		const file = path.join(out, relative.replace(/\.tsx?$/, '.js'));
		if (!existsSync(file)) {
			throw error;
		}
	}

	writeFileSync(path.join(out, 'package.json'), '{"type": "module"}\n');
	return {file: path.join(out, relative.replace(/\.tsx?$/, '.js')), dir};
}
