/*
A fleet on loopback for the tests: this test's own sshd (not the system's), with a generated host
key, a generated client key and a generated ssh_config (used as `ssh -F`) whose aliases each reach
a different "host": an address 127.0.0.N on which sshd's `Match LocalAddress` forces a small wrapper
that runs the client's command with that alias's PATH. There, `klptop` is a shim running the built
CLI on a live emulated tree (`klptop emulate X --root DIR`), or something that fails the way hosts
fail. How an alias maps to its tree is this file's business only: the product sees plain ssh hosts.

Needs root (sshd binds, switches users and reads keys as root; CI runs as root), openssh-server and
openssh-client, and creates the unprivileged user `klptop-fleet` for the non-root host if missing.
Plain JavaScript (types in ssh-world.d.mts): scripts/readme-screenshot.mjs draws the README's fleet
picture on the same loopback fleet, without a build step.
*/
import {execFileSync, spawn} from 'node:child_process';
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const fleetUser = 'klptop-fleet';
const cli = path.join(repoRoot, 'dist/cli.js');
const node = process.execPath;

function sh(text) {
	return `'${text.replaceAll("'", `'\\''`)}'`;
}

async function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address();
			server.close(() => resolve(port));
		});
	});
}

function ensureFleetUser() {
	try {
		execFileSync('id', ['-u', fleetUser], {stdio: 'ignore'});
	} catch {
		execFileSync('useradd', [
			'--system',
			'--no-create-home',
			'--home-dir',
			'/nonexistent',
			'--shell',
			'/bin/sh',
			fleetUser,
		]);
	}
	// A locked account ('!' in shadow) may not log in even with a key when sshd runs without PAM.
	execFileSync('usermod', ['-p', '*', fleetUser]);
}

async function waitFor(check, what, timeoutMs, log) {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log()}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

export async function startFleetWorld(hosts) {
	if (process.getuid?.() !== 0) {
		throw new Error(
			'the fleet tests start their own sshd on loopback addresses and switch users: run them as root (CI does)',
		);
	}
	ensureFleetUser();
	mkdirSync('/run/sshd', {recursive: true, mode: 0o755});
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-fleet-world-'));
	// The non-root host's user reads the wrapper, its shims and its tree from here.
	chmodSync(dir, 0o755);
	const keygen = (file) =>
		execFileSync('ssh-keygen', [
			'-q',
			'-t',
			'ed25519',
			'-N',
			'',
			'-C',
			'klptop-fleet-test',
			'-f',
			path.join(dir, file),
		]);
	keygen('host_key');
	keygen('client_key');
	keygen('stranger_key');
	writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')));
	chmodSync(path.join(dir, 'authorized_keys'), 0o644);
	const port = await freePort();
	const emulators = [];
	const trees = new Map();
	const listen = [];
	const matches = [];
	const known = [];
	const config = [];
	const hostKey = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim();
	const emulatorLogs = [];
	const startEmulator = (alias, scenario, kernel) => {
		const tree = path.join(dir, 'trees', alias);
		trees.set(alias, tree);
		const args = [
			cli,
			'emulate',
			scenario,
			'--root',
			tree,
			...(kernel === undefined ? [] : ['--kernel', kernel]),
		];
		const child = spawn(node, args, {stdio: ['ignore', 'ignore', 'pipe']});
		let said = '';
		child.stderr.on('data', (chunk) => {
			said += chunk.toString();
		});
		emulators.push(child);
		emulatorLogs.push('');
		const index = emulatorLogs.length - 1;
		return () => {
			emulatorLogs[index] = said;
			return said.includes('emulating');
		};
	};
	const ready = [];
	for (const [i, [alias, host]] of hosts.entries()) {
		const address = `127.0.0.${i + 2}`;
		const bin = path.join(dir, 'bin', alias);
		mkdirSync(bin, {recursive: true});
		const shim = (body) => {
			writeFileSync(path.join(bin, 'klptop'), `#!/bin/sh\n${body}\n`);
			chmodSync(path.join(bin, 'klptop'), 0o755);
		};
		let user = 'root';
		let identity = 'client_key';
		let hostPort = port;
		let knownKey = true;
		switch (host.kind) {
			case 'tree': {
				ready.push(startEmulator(alias, host.scenario, host.kernel));
				shim(`exec ${sh(node)} ${sh(cli)} "$@" --root ${sh(trees.get(alias))}`);
				if (host.user === 'fleet') user = fleetUser;
				break;
			}
			case 'unknown-key': {
				// Its address is missing from known_hosts: ssh must refuse it (BatchMode), not add it.
				knownKey = false;
				break;
			}
			case 'auth-fail': {
				// A key the server does not know.
				identity = 'stranger_key';
				break;
			}
			case 'no-livepatch': {
				// A kernel without CONFIG_LIVEPATCH: /proc, no /sys/kernel/livepatch.
				const tree = path.join(dir, 'trees', alias);
				mkdirSync(path.join(tree, 'proc/sys/kernel'), {recursive: true});
				mkdirSync(path.join(tree, 'sys/kernel'), {recursive: true});
				writeFileSync(path.join(tree, 'proc/sys/kernel/osrelease'), '5.14.0-nolp\n');
				trees.set(alias, tree);
				shim(`exec ${sh(node)} ${sh(cli)} "$@" --root ${sh(tree)}`);
				break;
			}
			case 'stall': {
				// One document, then silence on stdout while the connection stays up (a dot a second on
				// stderr, so the shim ends by SIGPIPE once the session is gone).
				ready.push(startEmulator(alias, host.scenario));
				shim(
					`${sh(node)} ${sh(cli)} "$@" -n 1 --root ${sh(trees.get(alias))}\nwhile sleep 1; do printf . >&2 || exit 0; done`,
				);
				break;
			}
			case 'garbage': {
				shim(
					`while :; do printf 'Welcome to build-7 \\033]0;owned\\007 %s\\n' "$*" || exit 0; sleep 0.5; done`,
				);
				break;
			}
			case 'exits': {
				shim(`echo "klptop: cannot read /proc: Input/output error" >&2\nexit 3`);
				break;
			}
			case 'no-klptop': {
				// No shim: the remote shell does not find klptop.
				break;
			}
			case 'unreachable': {
				// Nothing listens on port 1 of this address: connection refused.
				hostPort = 1;
				break;
			}
		}
		listen.push(`ListenAddress ${address}:${port}`);
		matches.push(`Match LocalAddress ${address}`, `\tForceCommand ${path.join(dir, 'wrap.sh')} ${alias}`);
		if (knownKey) known.push(`[${address}]:${port} ${hostKey}`);
		config.push(
			`Host ${alias}`,
			`\tHostName ${address}`,
			`\tPort ${hostPort}`,
			`\tUser ${user}`,
			`\tIdentityFile ${path.join(dir, identity)}`,
		);
	}
	writeFileSync(
		path.join(dir, 'wrap.sh'),
		[
			'#!/bin/sh',
			'# Test infrastructure (sshd ForceCommand): the command ssh was asked to run, with this alias PATH.',
			`PATH=${sh(path.join(dir, 'bin'))}/"$1":/usr/local/bin:/usr/bin:/bin`,
			'export PATH',
			'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
			'',
		].join('\n'),
	);
	chmodSync(path.join(dir, 'wrap.sh'), 0o755);
	// OpenSSH listens on at most 16 sockets (MAX_LISTEN_SOCKS): one sshd per 15 addresses.
	const perSshd = 15;
	const configs = [];
	for (let first = 0; first < listen.length; first += perSshd) {
		const n = configs.length;
		const file = path.join(dir, `sshd_config.${n}`);
		writeFileSync(
			file,
			[
				...listen.slice(first, first + perSshd),
				`HostKey ${path.join(dir, 'host_key')}`,
				`AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
				`PidFile ${path.join(dir, `sshd.${n}.pid`)}`,
				'StrictModes no',
				'UsePAM no',
				'PermitRootLogin prohibit-password',
				'PasswordAuthentication no',
				'KbdInteractiveAuthentication no',
				// Twenty-odd handshakes at once from one address: the default (10:30:100) drops some.
				'MaxStartups 200',
				'MaxSessions 50',
				'LogLevel ERROR',
				// The login shell reads $HOME/.bashrc for ssh commands (Debian's bash): the tests' own HOME
				// keeps a developer's shell set-up (pyenv and the like: seconds per login here) out.
				`SetEnv HOME=${dir}`,
				...matches,
				'',
			].join('\n'),
		);
		configs.push(file);
	}
	writeFileSync(path.join(dir, 'known_hosts'), known.join('\n') + '\n');
	writeFileSync(
		path.join(dir, 'ssh_config'),
		[
			...config,
			'Host *',
			`\tUserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
			'\tGlobalKnownHostsFile /dev/null',
			// As many operators' configs say: the fleet must still not take an unknown key.
			'\tStrictHostKeyChecking accept-new',
			'\tIdentitiesOnly yes',
			'\tLogLevel ERROR',
			'',
		].join('\n'),
	);
	const sshdLog = path.join(dir, 'sshd.log');
	const sshds = configs.map((config) =>
		spawn('/usr/sbin/sshd', ['-D', '-f', config, '-E', sshdLog], {stdio: 'ignore'}),
	);
	const logs = () =>
		[
			`sshd log: ${(() => {
				try {
					return readFileSync(sshdLog, 'utf8');
				} catch {
					return '(none)';
				}
			})()}`,
			...emulatorLogs.map((text, i) => `emulator ${i}: ${text}`),
		].join('\n');
	// sshd listens once it has written its pid file; the emulators once they said where they emulate.
	const started = (n) => {
		try {
			readFileSync(path.join(dir, `sshd.${n}.pid`));
			return true;
		} catch {
			return false;
		}
	};
	await waitFor(() => sshds.every((sshd, n) => started(n) || sshd.exitCode !== null), 'sshd', 20_000, logs);
	const stopAll = async () => {
		for (const child of [...sshds, ...emulators]) {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
		}
		await Promise.all(
			[...sshds, ...emulators].map(
				async (child) =>
					new Promise((resolve) => {
						if (child.exitCode !== null || child.signalCode !== null) resolve();
						else child.once('exit', () => resolve());
					}),
			),
		);
		rmSync(dir, {recursive: true, force: true});
	};
	try {
		if (sshds.some((sshd) => sshd.exitCode !== null)) throw new Error(`sshd did not start\n${logs()}`);
		await waitFor(() => ready.every((check) => check()), 'the emulated trees', 60_000, logs);
	} catch (error) {
		await stopAll();
		throw error;
	}
	const sshConfig = path.join(dir, 'ssh_config');
	return {
		dir,
		sshConfig,
		aliases: hosts.map(([alias]) => alias),
		trees,
		hostsFile(name, aliases) {
			const file = path.join(dir, name);
			writeFileSync(file, `# generated by the fleet test\n${aliases.join('\n')}\n`);
			return file;
		},
		flags: ['--ssh-config', sshConfig],
		stop: stopAll,
	};
}
