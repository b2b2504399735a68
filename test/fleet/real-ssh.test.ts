/*
The fleet over real OpenSSH, as an operator and a script use it: this file's own sshd on loopback
addresses (ssh-world.mjs), 20 aliases behind it (live emulated trees of many scenarios and kernels, a
non-root user, a kernel without livepatch, a host that stalls, one that prints garbage, one whose
klptop fails, one without klptop, an unreachable port, an unknown host key, a refused key), and the
built CLI run as a child process: `fleet --once --json` parsed as a script would, `fleet wait` judged
by its exit code and stderr, `--push` checked on the host afterwards, and the screen in tmux.
*/
import {execFile} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import type {FleetDocument} from '../../source/fleet/document.js';
import {repoRoot, Tmux} from '../e2e/tmux.js';
import {startFleetWorld} from './ssh-world.mjs';
import type {FleetWorld, HostKind} from './ssh-world.mjs';

const run = promisify(execFile);
// Each command connects to every host of its list and starts a klptop on each: seconds on a loaded machine.
vi.setConfig({testTimeout: 90_000});
const cli = path.join(repoRoot, 'dist/cli.js');

const hosts: ReadonlyArray<readonly [string, HostKind]> = [
	['stuck-d', {kind: 'tree', scenario: 'stuck-killable'}],
	['stuck-s', {kind: 'tree', scenario: 'stuck-interruptible'}],
	['stuck-kthread', {kind: 'tree', scenario: 'stuck-kthread'}],
	['demo', {kind: 'tree', scenario: 'demo'}],
	['quick-1', {kind: 'tree', scenario: 'quick'}],
	['quick-2', {kind: 'tree', scenario: 'quick', kernel: '5.1'}],
	['quick-3', {kind: 'tree', scenario: 'quick', kernel: '4.12'}],
	['replace', {kind: 'tree', scenario: 'replace'}],
	['unpatch', {kind: 'tree', scenario: 'unpatch-fake-signal'}],
	['forced-unpatch', {kind: 'tree', scenario: 'forced-unpatch', kernel: '6.16'}],
	['nonroot', {kind: 'tree', scenario: 'stuck-killable', user: 'fleet'}],
	['act', {kind: 'tree', scenario: 'stuck-killable'}],
	['nolp', {kind: 'no-livepatch'}],
	['stalls', {kind: 'stall', scenario: 'stuck-killable'}],
	['garbage', {kind: 'garbage'}],
	['exits', {kind: 'exits'}],
	['bare', {kind: 'no-klptop'}],
	['down', {kind: 'unreachable'}],
	['newkey', {kind: 'unknown-key'}],
	['stranger', {kind: 'auth-fail'}],
];

let world: FleetWorld;

beforeAll(async () => {
	world = await startFleetWorld(hosts);
	// --push copies the single-file bundle: build it where a packaged klptop has it (dist/klptop.mjs).
	if (!existsSync(path.join(repoRoot, 'dist/klptop.mjs'))) {
		await run(process.execPath, [path.join(repoRoot, 'scripts/bundle.mjs')], {cwd: repoRoot});
	}
}, 120_000);

afterAll(async () => {
	await world?.stop();
}, 60_000);

type Result = {code: number; stdout: string; stderr: string};

async function klptop(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
	try {
		const {stdout, stderr} = await run(process.execPath, [cli, ...args], {
			cwd: repoRoot,
			env,
			maxBuffer: 64 << 20,
		});
		return {code: 0, stdout, stderr};
	} catch (error) {
		const failed = error as {code: number; stdout: string; stderr: string};
		return {code: failed.code, stdout: failed.stdout, stderr: failed.stderr};
	}
}

/**
Processes whose environment holds `entry` (KEY=VALUE), with their command lines: found however they
were reparented, and not by name (meow titles every klptop process 'klptop'). A fleet run's own
processes (ssh clients, ControlMaster masters) carry the marker the test gives it; what runs on the
test's hosts carries the HOME its sshd sets (ssh-world.mjs).
*/
function processesWith(entry: string): string[] {
	const found: string[] = [];
	for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
		try {
			if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)) continue;
			const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
			// A zombie has no command line and holds nothing: its parent has yet to reap it.
			if (cmdline !== '') found.push(`${pid} ${cmdline}`);
		} catch {
			// Gone meanwhile.
		}
	}

	return found;
}

/** A marker for one fleet run's environment (see processesWith). */
function runMarker(): string {
	return `KLPTOP_FLEET_TEST_RUN=${randomUUID()}`;
}

/** Waits until neither the run's processes nor any process on the test's hosts is left; lists them if some stay. */
async function expectNothingLeft(marker: string, withinMs: number): Promise<void> {
	const left = () => [...processesWith(marker), ...processesWith(`HOME=${world.dir}`)];
	const deadline = Date.now() + withinMs;
	while (left().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
	expect(left()).toEqual([]);
}

function hostOf(doc: FleetDocument, name: string) {
	const host = doc.hosts.find((candidate) => candidate.name === name);
	if (host === undefined) throw new Error(`no host ${name} in ${doc.hosts.map((h) => h.name).join(' ')}`);
	return host;
}

describe('klptop fleet --once --json', () => {
	it('reports every host with its status, its own document and the aggregate', async () => {
		const file = world.hostsFile('all.txt', world.aliases);
		const known = readFileSync(path.join(world.dir, 'known_hosts'), 'utf8');
		const {code, stdout, stderr} = await klptop([
			'fleet',
			'--once',
			'--json',
			'--hosts',
			file,
			...world.flags,
		]);
		expect(stderr).toBe('');
		expect(code).toBe(0);
		const doc = JSON.parse(stdout) as FleetDocument;
		expect(doc.schema_version).toBe(1);
		expect(doc.hosts.map((host) => host.name)).toEqual(world.aliases);

		// Live trees: their own documents, as `klptop -b --json` wrote them on the host.
		const stuck = hostOf(doc, 'stuck-d');
		expect(stuck).toMatchObject({status: 'ok', condition: 'transition', error: null, pushed: null});
		expect(stuck.document!.transition).toMatchObject({patch: 'klp_sleeper_patch', direction: 'patching'});
		expect(stuck.document!.blockers[0]).toMatchObject({
			comm: 'cat',
			class: 'uninterruptible',
			function: 'klp_sleeper_wait_killable',
			remedies: ['reverse', 'kill', 'force'],
		});
		expect(stuck.document!.source.root).toBe(world.trees.get('stuck-d'));
		for (const name of ['quick-1', 'quick-2', 'quick-3']) {
			expect(hostOf(doc, name)).toMatchObject({status: 'ok', condition: 'applied'});
		}

		expect(hostOf(doc, 'quick-3').document!.kernel.release).toMatch(/^4\.12/);
		// A real unprivileged user: the transition is seen, the view is partial.
		const nonroot = hostOf(doc, 'nonroot');
		expect(nonroot).toMatchObject({status: 'ok', condition: 'transition'});
		expect(nonroot.document!.privileges.root).toBe(false);
		expect(hostOf(doc, 'nolp')).toMatchObject({status: 'ok', condition: 'no-livepatch'});

		// Every failure is a state of its host, with a reason, never a gap.
		expect(hostOf(doc, 'garbage')).toMatchObject({status: 'garbage', condition: 'failing'});
		expect(hostOf(doc, 'garbage').error).toMatch(
			/^garbage on the stream \(not JSON\): 'Welcome to build-7 \?\]0;owned\? /,
		);
		expect(hostOf(doc, 'exits')).toMatchObject({
			status: 'exited',
			error: 'remote klptop exited (status 3): klptop: cannot read /proc: Input/output error',
		});
		expect(hostOf(doc, 'bare')).toMatchObject({status: 'no-klptop', condition: 'failing'});
		expect(hostOf(doc, 'bare').error).toMatch(/^no klptop on the host: .*klptop.*not found/);
		expect(hostOf(doc, 'down')).toMatchObject({status: 'unreachable', document: null});
		expect(hostOf(doc, 'down').error).toMatch(/Connection refused/);
		expect(hostOf(doc, 'newkey')).toMatchObject({status: 'host-key-unknown', document: null});
		expect(hostOf(doc, 'stranger')).toMatchObject({status: 'auth-failed', document: null});
		expect(hostOf(doc, 'stranger').error).toMatch(/Permission denied \(publickey\)/);
		// The unknown key was not accepted on the side.
		expect(readFileSync(path.join(world.dir, 'known_hosts'), 'utf8')).toBe(known);
		// Nothing from a host reaches the output raw.
		// eslint-disable-next-line no-control-regex
		expect(stdout).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F]/);

		expect(doc.fleet).toMatchObject({hosts: 20, unreachable: 1, failing: 5, no_livepatch: 1, not_root: 1});
		expect(doc.fleet.reporting).toBe(14);
		expect(doc.fleet.in_transition).toBeGreaterThanOrEqual(3);
		const sleeper = doc.patches.find((p) => p.name === 'klp_sleeper_patch')!;
		expect(sleeper.in_transition).toBeGreaterThanOrEqual(3);
		expect(sleeper.applied + sleeper.in_transition + sleeper.missing).toBe(
			doc.fleet.reporting - doc.fleet.no_livepatch,
		);
	});
});

describe('klptop fleet wait', () => {
	it('exits 0 when no reachable host is in transition', async () => {
		const file = world.hostsFile('quick.txt', ['quick-1', 'quick-2', 'quick-3']);
		const result = await klptop(['fleet', '--hosts', file, 'wait', '--timeout', '20', ...world.flags]);
		expect(result.stderr).toBe('klptop fleet wait: 3 hosts: no transition\n');
		expect(result.code).toBe(0);
	});

	it('exits 1 on timeout, naming the hosts still in transition', async () => {
		const file = world.hostsFile('stuck.txt', ['quick-1', 'stuck-d', 'act']);
		const result = await klptop([
			'fleet',
			'wait',
			'klp_sleeper_patch',
			'--hosts',
			file,
			'--timeout',
			'2',
			...world.flags,
		]);
		expect(result.stderr).toMatch(
			/^klptop fleet wait: timed out after [\d.]+s: 2 hosts still in transition: (stuck-d|act) \(klp_sleeper_patch patching, \S+, 1\/\d+ pending\), (stuck-d|act) /,
		);
		expect(result.code).toBe(1);
		// The quick host's patch is not the one waited for.
		const other = await klptop([
			'fleet',
			'wait',
			'klp_vmlinux_patch',
			'--hosts',
			file,
			'--timeout',
			'2',
			...world.flags,
		]);
		expect(other.code).toBe(0);
	});

	it('exits 2 when hosts are unreachable or failed (a stalled stream among them), naming each', async () => {
		const file = world.hostsFile('failing.txt', ['quick-1', 'down', 'bare', 'stalls']);
		const result = await klptop([
			'fleet',
			'--hosts',
			file,
			'wait',
			'--timeout',
			'8',
			'--json',
			...world.flags,
		]);
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(/3 hosts unreachable or failed: /);
		expect(result.stderr).toMatch(
			/down \(unreachable: ssh: connect to host 127\.0\.0\.\d+ port 1: Connection refused\)/,
		);
		expect(result.stderr).toMatch(/bare \(no-klptop: no klptop on the host/);
		expect(result.stderr).toMatch(/stalls \(stalled: stream stalled: no document for \d+s\)/);
		const doc = JSON.parse(result.stdout) as FleetDocument;
		expect(hostOf(doc, 'quick-1').condition).toBe('applied');
	});
});

describe("klptop fleet's ssh and remote command options", () => {
	it('-j 1 still reaches every host; --ssh-option wins over the ssh_config', async () => {
		const file = world.hostsFile('options.txt', ['stuck-d', 'quick-1', 'demo']);
		// The ssh_config logs in as root; the operator's User= comes first on ssh's command line and wins.
		const {code, stdout} = await klptop([
			'fleet',
			'--once',
			'--json',
			'-j',
			'1',
			'--ssh-option',
			'User=klptop-fleet',
			'--hosts',
			file,
			...world.flags,
		]);
		expect(code).toBe(0);
		const doc = JSON.parse(stdout) as FleetDocument;
		for (const name of ['stuck-d', 'quick-1', 'demo']) {
			expect(hostOf(doc, name).status).toBe('ok');
			expect(hostOf(doc, name).document!.privileges.root).toBe(false);
		}
	});

	it('--remote-cmd names the command, --sudo runs it through sudo -n (refused: a row state)', async () => {
		const file = world.hostsFile('sudo.txt', ['bare', 'nonroot']);
		// bare has no klptop on its PATH; the quick host's shim is a klptop at a path of its own.
		const shim = path.join(world.dir, 'bin', 'quick-1', 'klptop');
		const {code, stdout} = await klptop([
			'fleet',
			'--once',
			'--json',
			'--sudo',
			'--remote-cmd',
			shim,
			'--hosts',
			file,
			...world.flags,
		]);
		expect(code).toBe(0);
		const doc = JSON.parse(stdout) as FleetDocument;
		// root may sudo without a password.
		expect(hostOf(doc, 'bare')).toMatchObject({status: 'ok', condition: 'applied'});
		expect(hostOf(doc, 'bare').document!.source.root).toBe(world.trees.get('quick-1'));
		// The unprivileged user is in no sudoers file: sudo -n refuses, the row says so.
		expect(hostOf(doc, 'nonroot')).toMatchObject({status: 'sudo-failed', condition: 'failing'});
		expect(hostOf(doc, 'nonroot').error).toMatch(/^sudo -n refused: /);
	});
});

describe('what a fleet run leaves behind', () => {
	it('is nothing: after --once no klptop runs on the hosts, however rarely it writes, and no ssh master is left', async () => {
		const marker = runMarker();
		const [key, value] = marker.split('=') as [string, string];
		const file = world.hostsFile('leak.txt', ['stuck-d', 'demo', 'nonroot', 'stalls', 'garbage', 'quick-1']);
		// Every 30 s: a remote klptop that outlived its channel would write (and meet EPIPE) only then.
		const {code} = await klptop(['fleet', '--once', '--json', '-d', '30', '--hosts', file, ...world.flags], {
			...process.env,
			[key]: value,
		});
		expect(code).toBe(0);
		await expectNothingLeft(marker, 5000);
	});
});

describe('klptop fleet --push', () => {
	it('copies the bundle to a host without klptop, runs it, says so, and removes it afterwards', async () => {
		const copies = () => readdirSync('/tmp').filter((name) => name.startsWith('klptop-fleet.'));
		const before = copies();
		const file = world.hostsFile('bare.txt', ['bare']);
		const {code, stdout} = await klptop([
			'fleet',
			'--once',
			'--json',
			'--push',
			'--hosts',
			file,
			...world.flags,
		]);
		expect(code).toBe(0);
		const bare = hostOf(JSON.parse(stdout) as FleetDocument, 'bare');
		expect(bare).toMatchObject({status: 'ok', pushed: 'bundle', error: null});
		// The copy ran on the host itself (this machine: no --root, so its real /proc).
		expect(bare.document!.source).toEqual({kind: 'host', root: '/', scenario: null});
		expect(copies()).toEqual(before);
	});
});

describe('klptop fleet on a terminal (tmux)', () => {
	it('shows the fleet, groups a stuck function, opens a host and comes back, reverses on one host, quits cleanly', async () => {
		const tmux = new Tmux('fleet');
		try {
			tmux.start(100, 30);
			const copies = () => readdirSync('/tmp').filter((name) => name.startsWith('klptop-fleet.'));
			const before = copies();
			const file = world.hostsFile('screen.txt', world.aliases);
			const marker = runMarker();
			tmux.type(
				`${marker} node dist/cli.js fleet --hosts ${file} --ssh-config ${world.sshConfig} --allow-actions --push; echo "EXIT=$?"`,
			);
			// Every failure shows as the state of its row (the stalled one 3 s after its document).
			let screen = await tmux.waitFor(
				(s) =>
					['stalled', 'garbage', 'unreach', 'host-key', 'auth-fail', 'exited'].every((word) =>
						s.includes(word),
					),
				'every failing host',
				60_000,
			);
			expect(tmux.alternateOn()).toBe(true);
			expect(screen).toMatch(/^klptop fleet · 20 hosts over ssh · every 1s/);
			const rows = screen
				.split('\n')
				.filter((line) =>
					/^\S+ +(stalled|garbage|unreach|host-key|auth-fail|exited|no-klptop|pushing|STUCK|transit|applied|idle|no-lp|connect) /.test(
						line,
					),
				);
			const firstOk = rows.findIndex((line) => /^\S+ +(STUCK|transit|applied|idle|no-lp)/.test(line));
			// Failing hosts first.
			expect(
				rows
					.slice(0, firstOk)
					.every((line) =>
						/^\S+ +(stalled|garbage|unreach|host-key|auth-fail|exited|no-klptop|pushing|connect) /.test(line),
					),
			).toBe(true);
			expect(screen).toMatch(
				/stranger +auth-fail +authentication failed: root@127\.0\.0\.\d+: Permission denied/,
			);
			// --push: the host without klptop runs the copy, and says which.
			screen = await tmux.waitForText(/bare +no-lp .*\(pushed bundle\)/, 60_000);

			// Group by blocking function: the hosts stuck in klp_sleeper_wait_killable are one line.
			tmux.keys('g', 'g', 'g');
			screen = await tmux.waitForText(/▸ klp_sleeper_wait_killable +\d+ hosts: /);
			expect(screen).toContain('grouped by blocking function');
			tmux.keys('g');
			await tmux.waitForText('one row per host');

			// Enter on a host: its full dashboard, from its stream; Esc comes back.
			tmux.literal('\\act');
			tmux.keys('Enter');
			await tmux.waitForText("filter 'act'");
			tmux.keys('Enter');
			screen = await tmux.waitForText(
				/ D +0->1 +\S+ +unintr +klp_sleeper_wait_killable( \[klp_sleeper\])? +cat/,
			);
			// The host's own elapsed time (a lower bound, ≥, when its klptop did not see the start).
			expect(screen).toMatch(/patching klp_sleeper_patch +≥?\d/);
			expect(screen).toContain('read-only: a fleet host: act from the fleet screen');
			tmux.keys('Escape');
			await tmux.waitForText('klptop fleet · 20 hosts');

			// Reverse on that one host, after a confirmation naming it.
			tmux.keys('R');
			screen = await tmux.waitForText('Confirm: reverse on act');
			expect(screen).toContain('Runs on act: klptop reverse klp_sleeper_patch');
			tmux.keys('y');
			await tmux.waitForText(
				"act: klptop reverse: reversed the patching transition of 'klp_sleeper_patch'",
				30_000,
			);
			// The other stuck hosts were not touched.
			expect(
				readFileSync(
					path.join(world.trees.get('stuck-d')!, 'sys/kernel/livepatch/klp_sleeper_patch/enabled'),
					'utf8',
				).trim(),
			).toBe('1');

			// 80x24 stays usable: every line within the width, the footer on the last row.
			tmux.keys('Escape');
			tmux.resize(80, 24);
			await tmux.waitFor(
				// A frame drawn for 80 columns (the short words), not the wider one cut by tmux; the
				// unreachable host counted as such, not caught in one of its retries (a moment 'connecting').
				(s) =>
					s.split('\n')[23]?.startsWith('q Quit') === true &&
					!s.includes("filter 'act'") &&
					/ in trans \(.* · 1 unreach · /.test(s.split('\n')[1] ?? ''),
				'80x24 frame',
			);
			const lines = tmux.lines();
			expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(80);
			expect(lines[1]).toMatch(/^\d+ applied · \d+ in trans \(\d+ stuck>60s\) · 1 unreach · \d+ failing/);

			tmux.keys('q');
			await tmux.waitForText('EXIT=0', 30_000);
			expect(tmux.alternateOn()).toBe(false);
			// The pushed copy is gone from the host, and so are the streams and the ssh masters.
			expect(copies()).toEqual(before);
			await expectNothingLeft(marker, 5000);
		} finally {
			tmux.kill();
		}
	});

	it('ends every stream and ssh master when its terminal goes away', async () => {
		const tmux = new Tmux('fleet-hangup');
		const marker = runMarker();
		try {
			tmux.start(100, 30);
			const file = world.hostsFile('hangup.txt', ['stuck-d', 'demo', 'quick-1', 'stalls']);
			tmux.type(`${marker} node dist/cli.js fleet -d 30 --hosts ${file} --ssh-config ${world.sshConfig}`);
			await tmux.waitFor((s) => /stuck-d +STUCK|stuck-d +transit/.test(s), 'the stuck host', 60_000);
			expect(processesWith(marker).length).toBeGreaterThan(0);
		} finally {
			// The pane's shell and the fleet get SIGHUP, as when an ssh session to the operator's host drops.
			tmux.kill();
		}

		await expectNothingLeft(marker, 20_000);
	});
});
