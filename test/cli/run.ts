/** Run the compiled CLI as users do (test/global-setup.ts built dist/), stdout a pipe. */
import {spawnSync} from 'node:child_process';

export type Run = {status: number | null; stdout: string; stderr: string};

/** `klptop ARGS`: status, stdout, stderr. */
export function klptop(...args: string[]): Run {
	const run = spawnSync('node', ['dist/cli.js', ...args], {encoding: 'utf8', timeout: 15_000});
	return {status: run.status, stdout: run.stdout, stderr: run.stderr};
}
