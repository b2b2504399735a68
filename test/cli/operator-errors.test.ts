/*
What an operator meets when a command cannot do what was asked (issue 16): one line on stderr that
starts with `klptop:`, status 2, and nothing of theirs touched. The compiled CLI, as users run it.
*/
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {makeTree, type Tree} from '../helpers/tree.js';
import {klptop} from './run.js';

const made: string[] = [];
const trees: Tree[] = [];

afterEach(() => {
	for (const dir of made.splice(0)) {
		rmSync(dir, {recursive: true, force: true});
	}

	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

/** A world without /sys/kernel/livepatch (a kernel built without CONFIG_LIVEPATCH). */
function noLivepatchTree(): Tree {
	const tree = makeTree({livepatch: false, threads: [{pid: 1, comm: 'init', patchState: -1}]});
	trees.push(tree);
	return tree;
}

function tempDir(): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-operator-'));
	made.push(dir);
	return dir;
}

describe('klptop emulate SCENARIO --root DIR', () => {
	it('refuses a directory with something in it that klptop did not create, and deletes nothing', () => {
		const dir = tempDir();
		mkdirSync(path.join(dir, 'proc/mine'), {recursive: true});
		writeFileSync(path.join(dir, 'proc/mine/notes'), 'keep me');
		const run = klptop('emulate', 'demo', '--root', dir);
		expect(run.status).toBe(2);
		expect(run.stderr).toMatch(
			new RegExp(`^klptop: refusing to emulate into ${dir}: it is not empty[^\\n]*\\n$`),
		);
		expect(readdirSync(path.join(dir, 'proc/mine'))).toEqual(['notes']);
		expect(readdirSync(dir)).toEqual(['proc']);
	});

	it.each([
		['a file', (dir: string) => path.join(dir, 'passwd')],
		['a path through a file', (dir: string) => path.join(dir, 'passwd', 'tree')],
	])('names %s as not a directory, in one line', (_, rootIn) => {
		const dir = tempDir();
		writeFileSync(path.join(dir, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
		const root = rootIn(dir);
		const run = klptop('emulate', 'demo', '--root', root);
		expect({status: run.status, stderr: run.stderr}).toEqual({
			status: 2,
			stderr: `klptop: cannot emulate into ${root}: not a directory\n`,
		});
	});
});

describe('--root naming nothing to read', () => {
	it.each([
		[['--once'], '/nonexistent', 'no such file or directory'],
		[['--once', '--json'], '/nonexistent/capture.tar.gz', 'no such file or directory'],
		[
			['-b', '-n', '1'],
			'/etc/passwd',
			'not a directory (give a tree directory or a capture archive .tar.gz)',
		],
		[['--once'], '/etc/passwd/x', 'not a directory'],
	])('klptop %j --root %s: one line, status 2, nothing on stdout', (args, root, why) => {
		expect(klptop(...args, '--root', root)).toEqual({
			status: 2,
			stdout: '',
			stderr: `klptop: --root ${root}: ${why}\n`,
		});
	});
});

describe('a kernel without livepatch: one convention for the script modes', () => {
	it('--once: status 2, the reason on stderr, nothing on stdout', () => {
		const {root} = noLivepatchTree();
		const run = klptop('--once', '--root', root);
		expect(run.status).toBe(2);
		expect(run.stdout).toBe('');
		expect(run.stderr).toMatch(/^klptop: \S+\/sys\/kernel\/livepatch does not exist/);
		expect(run.stderr).toContain('klptop --emulate stuck-interruptible');
	});

	it.each([[['--once', '--json']], [['-b', '-n', '3', '-d', '0.1', '--json']]])(
		'klptop %j: status 2, and still one valid document with livepatch false',
		(args) => {
			const {root} = noLivepatchTree();
			const run = klptop(...args, '--root', root);
			expect(run.status).toBe(2);
			// One document (pretty-printed by --once, one NDJSON line by -b): it parses whole.
			expect(JSON.parse(run.stdout)).toMatchObject({kernel: {livepatch: false}, patches: []});
			expect(run.stderr).toContain('/sys/kernel/livepatch does not exist');
		},
	);

	it('-b: status 2 after the first scan, the reason once on stderr and no frame', () => {
		const {root} = noLivepatchTree();
		const run = klptop('-b', '-n', '3', '-d', '0.1', '--root', root);
		expect(run.status).toBe(2);
		expect(run.stdout).toBe('');
		expect(run.stderr.match(/does not exist/g)).toHaveLength(1);
	});

	it('wait: status 2, the same reason', () => {
		const {root} = noLivepatchTree();
		const run = klptop('wait', '--root', root);
		expect(run.status).toBe(2);
		expect(run.stderr).toBe(
			`klptop wait: no /sys/kernel/livepatch under ${root}: this kernel has no livepatch support (CONFIG_LIVEPATCH)\n`,
		);
	});

	it('export keeps serving, with klp_livepatch_available 0 and the reason once on stderr', () => {
		const {root} = noLivepatchTree();
		const file = path.join(tempDir(), 'klptop.prom');
		const run = klptop('export', '--textfile', file, '--root', root);
		expect(run.status).toBe(0);
		expect(readFileSync(file, 'utf8')).toMatch(/\nklp_livepatch_available 0\n/);
		expect(run.stderr).toBe(
			`klptop export: no /sys/kernel/livepatch under ${root}: this kernel has no livepatch support (CONFIG_LIVEPATCH); serving klp_livepatch_available 0\n`,
		);
	});
});

describe('flags klptop cannot honour', () => {
	it.each([
		[['--bogus'], 'klptop: unknown flag --bogus (see klptop --help)\n'],
		[
			['--once', '--bogus', '-x', '--no-thing'],
			'klptop: unknown flags --bogus, -x, --no-thing (see klptop --help)\n',
		],
		[['wait', '--timout', '5'], 'klptop: unknown flag --timout (see klptop --help)\n'],
	])('klptop %j: one line naming the flag and --help, status 2', (args, stderr) => {
		expect(klptop(...args)).toEqual({status: 2, stdout: '', stderr});
	});

	// An operator who asks for `--at 20` expects the state 20 s in; printing the host now instead
	// would answer another question, silently: a usage error, like --emulate with --root.
	it.each([
		[['--once', '--threads', '5', '--at', '3'], '--threads, --at apply to the emulator only'],
		[['-b', '-n', '1', '--seed', '3'], '--seed applies to the emulator only'],
		[['reverse', '--at', '20'], '--at applies to the emulator or a recording only'],
	])('klptop %j without --emulate: status 2, saying the flag is the emulator only', (args, words) => {
		const add = words.startsWith('--at ') ? ' or --replay FILE' : '';
		expect(klptop(...args)).toEqual({
			status: 2,
			stdout: '',
			stderr: `klptop: ${words}: add --emulate SCENARIO (see klptop emulate --list)${add}\n`,
		});
	});

	it('accepts them with the emulator', () => {
		const run = klptop(
			'--once',
			'--json',
			'--emulate',
			'many',
			'--threads',
			'200',
			'--at',
			'3',
			'--seed',
			'2',
		);
		expect(run.status).toBe(0);
		expect(JSON.parse(run.stdout)).toMatchObject({time: '2026-01-01T00:00:03.000Z'});
	});
});
