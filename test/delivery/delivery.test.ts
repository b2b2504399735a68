/**
Delivery: the three ways klptop reaches a host, each built once (in parallel) and run the way an
operator would, from an empty directory:
- the npm package: `npm pack`, a global install into an empty prefix, then its `klptop` bin;
- the single-file bundle (`scripts/bundle.mjs`): bare `node klptop.mjs`, no node_modules anywhere;
- the standalone linux-x64 executable (`scripts/sea.mjs`): run with no `node` on PATH.
Each one prints `--once --json` for the emulator, and the bundle and the executable also draw the
Ink dashboard in a real terminal (tmux), which is what depends on the bundled React, Ink and yoga.
*/
import {execFile, execFileSync} from 'node:child_process';
import {
	copyFileSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'klptop-delivery-'));
const empty = path.join(work, 'empty');
const pkgDir = path.join(work, 'pkg');
const prefix = path.join(work, 'prefix');
const bundleFile = path.join(work, 'bundle', 'klptop.mjs');
const seaFile = path.join(work, 'sea', 'klptop-linux-x64');
const nodeBin = process.execPath;
const {version} = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string};

type Doc = {schema_version: number; source: {kind: string; scenario: string}; transition: unknown};

async function buildPackage(): Promise<string> {
	// The files `npm run build` emits (tsc, without the type check `npm test` already does).
	await run(
		nodeBin,
		[
			path.join(root, 'node_modules/typescript/bin/tsc'),
			'-p',
			'tsconfig.build.json',
			'--outDir',
			path.join(pkgDir, 'dist'),
			'--noCheck',
		],
		{
			cwd: root,
		},
	);
	await run(nodeBin, [path.join(root, 'scripts/vendor.mjs'), '--dist', path.join(pkgDir, 'dist')], {
		cwd: root,
	});
	for (const file of ['package.json', 'README.md']) {
		if (existsSync(path.join(root, file))) {
			copyFileSync(path.join(root, file), path.join(pkgDir, file));
		}
	}

	const {stdout} = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {
		cwd: pkgDir,
	});
	const tarball = path.join(work, stdout.trim().split('\n').at(-1)!);
	await run(
		'npm',
		[
			'install',
			'--global',
			'--prefix',
			prefix,
			'--prefer-offline',
			'--no-audit',
			'--no-fund',
			'--ignore-scripts',
			tarball,
		],
		{cwd: empty},
	);
	return tarball;
}

async function buildBundle(): Promise<void> {
	await run(nodeBin, [path.join(root, 'scripts/bundle.mjs'), '--outfile', bundleFile], {cwd: root});
}

async function buildSea(): Promise<void> {
	await run(nodeBin, [path.join(root, 'scripts/sea.mjs'), '--output', seaFile], {cwd: root});
}

let tarball = '';

beforeAll(async () => {
	mkdirSync(empty);
	mkdirSync(pkgDir);
	const [packed] = await Promise.all([buildPackage(), buildBundle().then(buildSea)]);
	tarball = packed;
}, 180_000);

afterAll(() => {
	rmSync(work, {recursive: true, force: true});
});

/** Run a command from the empty directory with a minimal environment. */
function runEmpty(file: string, args: string[], env: NodeJS.ProcessEnv): string {
	return execFileSync(file, args, {cwd: empty, env: {HOME: work, ...env}, encoding: 'utf8', timeout: 20_000});
}

function onceJson(file: string, args: string[], env: NodeJS.ProcessEnv): Doc {
	return JSON.parse(runEmpty(file, [...args, '--once', '--json', '--emulate', 'quick'], env)) as Doc;
}

/** Start `command` in a detached tmux session, wait for `expected` on the screen, return the screen. */
function dashboard(command: string, expected: RegExp): string {
	const session = `klptop-delivery-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
	execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '30', '-c', empty, command]);
	try {
		let screen = '';
		const deadline = Date.now() + 15_000;
		while (Date.now() < deadline) {
			execFileSync('sleep', ['0.2']);
			screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], {encoding: 'utf8'});
			if (expected.test(screen)) {
				break;
			}
		}

		return screen;
	} finally {
		// The program (env execs it) must end when its terminal goes away, not spin on write errors.
		const pid = execFileSync('tmux', ['display-message', '-p', '-t', session, '#{pane_pid}'], {
			encoding: 'utf8',
		});
		execFileSync('tmux', ['kill-session', '-t', session], {stdio: 'ignore'});
		waitGone(Number(pid.trim()));
	}
}

function waitGone(pid: number): void {
	const deadline = Date.now() + 10_000;
	while (existsSync(`/proc/${pid}`) && Date.now() < deadline) execFileSync('sleep', ['0.1']);
	expect(existsSync(`/proc/${pid}`), `pid ${pid} still running after its terminal went away`).toBe(false);
}

describe('npm package', () => {
	it('installs globally into an empty prefix and its klptop bin runs', () => {
		expect(path.basename(tarball)).toBe(`klptop-${version}.tgz`);
		// Nothing but the built program: no tests, no sources, no standalone binary.
		const listing = execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'}).split('\n');
		expect(listing).toContain('package/dist/cli.js');
		expect(listing.some((name) => name.startsWith('package/test/') || name.endsWith('.ts'))).toBe(false);
		expect(statSync(tarball).size).toBeLessThan(2 * 1024 * 1024);

		const bin = path.join(prefix, 'bin', 'klptop');
		const doc = onceJson(bin, [], {PATH: `${path.dirname(nodeBin)}:/usr/bin:/bin`});
		expect(doc).toMatchObject({schema_version: 1, source: {kind: 'emulator', scenario: 'quick'}});
	});

	it('draws the Ink dashboard in a terminal, with Ink from its own pre-bundled copy', () => {
		const bin = path.join(prefix, 'bin', 'klptop');
		const installed = path.join(prefix, 'lib', 'node_modules', 'klptop');
		const listing = execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'}).split('\n');
		expect(listing).toContain('package/dist/vendor/ink.js');
		// Ink stays a dependency (React, react-reconciler and yoga-layout are loaded from node_modules).
		expect(existsSync(path.join(installed, 'node_modules', 'react'))).toBe(true);
		const screen = dashboard(
			`env -i TERM=xterm-256color PATH=${path.dirname(nodeBin)}:/usr/bin:/bin ${bin} --emulate stuck-interruptible`,
			/klp_sleeper_wait/,
		);
		expect(screen).toMatch(/emulator stuck-interruptible/);
		expect(screen).toMatch(/182 .*interruptible .*klp_sleeper_wait/);
	});
});

describe('single-file bundle', () => {
	it('runs with a bare node from an empty directory, without node_modules', () => {
		copyFileSync(bundleFile, path.join(empty, 'klptop.mjs'));
		expect(readdirSync(empty)).toEqual(['klptop.mjs']);
		const env = {PATH: '/usr/bin:/bin', NODE_PATH: ''};
		const doc = onceJson(nodeBin, ['klptop.mjs'], env);
		expect(doc).toMatchObject({schema_version: 1, source: {kind: 'emulator', scenario: 'quick'}});
		expect(runEmpty(nodeBin, ['klptop.mjs', '--help'], env)).toContain('klptop --once');
		expect(statSync(bundleFile).size).toBeLessThan(3 * 1024 * 1024);
		// Nothing outside the file is loaded: no node_modules between the empty directory and /.
		for (let dir = empty; dir !== path.dirname(dir); dir = path.dirname(dir)) {
			expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
		}
	});

	it('draws the Ink dashboard in a terminal', () => {
		const screen = dashboard(
			`env -i TERM=xterm-256color PATH=/usr/bin:/bin ${nodeBin} ${bundleFile} --emulate stuck-interruptible`,
			/klp_sleeper_wait/,
		);
		expect(screen).toMatch(/emulator stuck-interruptible/);
		expect(screen).toMatch(/182 .*interruptible .*klp_sleeper_wait/);
	});
});

describe('standalone executable (linux-x64)', () => {
	it('runs with no node on PATH', () => {
		expect(() => execFileSync('sh', ['-c', 'command -v node'], {env: {PATH: '/nonexistent'}})).toThrow();
		const doc = onceJson(seaFile, [], {PATH: '/nonexistent'});
		expect(doc).toMatchObject({schema_version: 1, source: {kind: 'emulator', scenario: 'quick'}});
		const text = runEmpty(seaFile, ['--once', '--emulate', 'stuck-killable', '--at', '3'], {
			PATH: '/nonexistent',
		});
		expect(text).toMatch(/539 .*klp_sleeper_wait_killable/);
		// The ELF is the node runtime plus the bundle.
		expect(execFileSync('head', ['-c', '4', seaFile]).toString('latin1')).toBe('\u007fELF');
	});

	it('draws the Ink dashboard in a terminal', () => {
		const screen = dashboard(
			`env -i TERM=xterm-256color PATH=/nonexistent ${seaFile} --emulate stuck-interruptible`,
			/klp_sleeper_wait/,
		);
		expect(screen).toMatch(/182 .*interruptible .*klp_sleeper_wait/);
	});
});
