// Build dist once before any test file runs: the e2e tests run what users run (the compiled CLI),
// and two test files compiling into the same dist/ at once would race (one reads half-written files).
import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default function setup(): void {
	// What `npm run build` does: tsc, then Ink pre-bundled for dist/ (scripts/vendor.mjs).
	execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {cwd: repoRoot, stdio: 'inherit'});
	execFileSync(process.execPath, ['scripts/vendor.mjs'], {cwd: repoRoot, stdio: 'inherit'});
}
