/**
The fleet's only way to a host and its only module that starts processes: the system's OpenSSH
client with the operator's ssh_config, keys and agent; one ControlMaster per host in a private
directory of this run, BatchMode and StrictHostKeyChecking=yes (nothing prompts, no new host key is
accepted), the operator's `--ssh-option` first so they win. `close()` ends every master
(`ssh -O exit`) and removes the directory. Why each option: ARCHITECTURE.md, "The fleet".
*/
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {createReadStream, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {FleetHost} from './inventory.js';

export type SshSettings = {
	/** `ssh -F FILE`: another ssh_config than the operator's own. */
	readonly configFile: string | null;
	/** `--ssh-option` values (`Key=Value`), given to ssh as `-o` before ours. */
	readonly options: readonly string[];
	/** Seconds to wait for a connection. @default 10 */
	readonly connectTimeoutS: number;
	/** Seconds between keepalives; a connection that misses three is closed by ssh. @default 5 */
	readonly aliveIntervalS: number;
	/** Seconds a master outlives its last session. @default 30 */
	readonly controlPersistS: number;
};

export const defaultSshSettings: SshSettings = {
	configFile: null,
	options: [],
	connectTimeoutS: 10,
	aliveIntervalS: 5,
	controlPersistS: 30,
};

/** What a finished run over ssh left: its status (255: ssh's own error), output and errors. */
export type SshResult = {
	readonly code: number | null;
	readonly signal: string | null;
	readonly stdout: Buffer;
	readonly stderr: string;
};

export type StreamHandlers = {
	readonly onData: (chunk: Buffer) => void;
	/** Once, when ssh has ended (its output read to the end). `stderr`: its last few kilobytes. */
	readonly onExit: (code: number | null, signal: string | null, stderr: string) => void;
};

export type StreamHandle = {
	/** End the stream: its stdin closes (the remote command's watcher ends it) and ssh is ended. */
	stop(): void;
};

export type RunOptions = {
	/** Bytes for the command's stdin, or a local file streamed to it. */
	readonly input?: Uint8Array | {readonly file: string};
	/** Kill ssh after this long. @default 60000 */
	readonly timeoutMs?: number;
};

/** How klptop reaches hosts: ssh here; the benchmark plugs the emulator in its place. */
export type Transport = {
	/** Start a long-running command and hand over its output as it comes. */
	stream(host: FleetHost, command: string, handlers: StreamHandlers): StreamHandle;
	/** Run a command to its end over the same connection. */
	run(host: FleetHost, command: string, options?: RunOptions): Promise<SshResult>;
	/** End every connection of this run. */
	close(): Promise<void>;
};

/** Bytes of stderr kept per run: enough for OpenSSH's longest warning (a changed host key). */
const stderrKeep = 4096;

/** ssh's arguments for one command on one host (pure, for tests and for people reading it). */
export function sshArgs(
	settings: SshSettings,
	controlDir: string,
	host: FleetHost,
	command: string,
): string[] {
	const args: string[] = [];
	if (settings.configFile !== null) args.push('-F', settings.configFile);
	for (const option of settings.options) args.push('-o', option);
	args.push(
		'-o',
		'BatchMode=yes',
		'-o',
		// Never a new host key accepted silently, even where the ssh_config says accept-new or no
		// (an explicit --ssh-option, first on the line, still wins).
		'StrictHostKeyChecking=yes',
		'-o',
		`ConnectTimeout=${settings.connectTimeoutS}`,
		'-o',
		`ServerAliveInterval=${settings.aliveIntervalS}`,
		'-o',
		'ServerAliveCountMax=3',
		'-o',
		'ControlMaster=auto',
		'-o',
		// %C: a hash of the local host, remote host, port and user; short, so the socket path fits.
		`ControlPath=${path.join(controlDir, '%C')}`,
		'-o',
		`ControlPersist=${settings.controlPersistS}`,
		'-T',
	);
	if (host.port !== null) args.push('-p', String(host.port));
	if (host.user !== null) args.push('-l', host.user);
	// The inventory refuses names that start with '-'; `--` makes sure ssh reads no option past here.
	args.push('--', host.destination, command);
	return args;
}

function keepTail(text: string, more: string): string {
	const all = text + more;
	return all.length > stderrKeep ? all.slice(-stderrKeep) : all;
}

export function createSshTransport(settings: SshSettings = defaultSshSettings): Transport {
	// Private: 0700 (mkdtemp), in the system's temporary directory, whose short path keeps the
	// socket path under the 108 bytes a Unix socket allows.
	const controlDir = mkdtempSync(path.join(os.tmpdir(), 'klptop-ssh-'));
	const children = new Set<ChildProcess>();
	let closed = false;

	const start = (host: FleetHost, command: string, stdin: 'ignore' | 'pipe') => {
		const child = spawn('ssh', sshArgs(settings, controlDir, host, command), {
			stdio: [stdin, 'pipe', 'pipe'],
			env: process.env,
		});
		children.add(child);
		child.once('close', () => children.delete(child));
		return child;
	};

	return {
		stream(host, command, handlers) {
			if (closed) throw new Error('the ssh transport is closed');
			// stdin stays open, unwritten, for the stream's life: its EOF on the host ends the remote
			// command (remote.ts), also when this process dies without a word.
			const child = start(host, command, 'pipe');
			child.stdin!.on('error', () => {});
			let stderr = '';
			let ended = false;
			const end = (code: number | null, signal: string | null) => {
				if (ended) return;
				ended = true;
				handlers.onExit(code, signal, stderr);
			};

			child.stdout!.on('data', (chunk: Buffer) => handlers.onData(chunk));
			child.stderr!.on('data', (chunk: Buffer) => {
				stderr = keepTail(stderr, chunk.toString('utf8'));
			});
			child.once('error', (error) => {
				stderr = keepTail(stderr, `ssh: ${error.message}\n`);
				end(null, null);
			});
			child.once('close', (code, signal) => end(code, signal));
			return {
				stop() {
					child.stdin!.end();
					if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
				},
			};
		},

		async run(host, command, options = {}) {
			if (closed) throw new Error('the ssh transport is closed');
			const child = start(host, command, options.input === undefined ? 'ignore' : 'pipe');
			const out: Buffer[] = [];
			let stderr = '';
			child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
			child.stderr!.on('data', (chunk: Buffer) => {
				stderr = keepTail(stderr, chunk.toString('utf8'));
			});
			const input = options.input;
			if (input !== undefined) {
				// A remote side that ends early closes the pipe: that is its status to report, not a crash.
				child.stdin!.on('error', () => {});
				if (input instanceof Uint8Array) {
					child.stdin!.end(input);
				} else {
					const file = createReadStream(input.file);
					file.on('error', (error) => {
						stderr = keepTail(stderr, `klptop: cannot read ${input.file}: ${error.message}\n`);
						child.stdin!.end();
					});
					file.pipe(child.stdin!);
				}
			}

			const timer = setTimeout(() => {
				stderr = keepTail(stderr, `klptop: no answer after ${(options.timeoutMs ?? 60_000) / 1000}s\n`);
				child.kill('SIGTERM');
			}, options.timeoutMs ?? 60_000);
			return new Promise<SshResult>((resolve) => {
				let done = false;
				const finish = (code: number | null, signal: string | null) => {
					if (done) return;
					done = true;
					clearTimeout(timer);
					resolve({code, signal, stdout: Buffer.concat(out), stderr});
				};

				child.once('error', (error) => {
					stderr = keepTail(stderr, `ssh: ${error.message}\n`);
					finish(null, null);
				});
				child.once('close', finish);
			});
		},

		async close() {
			if (closed) return;
			closed = true;
			for (const child of children) {
				if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
			}

			let sockets: string[] = [];
			try {
				sockets = readdirSync(controlDir);
			} catch {
				// Already gone.
			}

			// Each master by its socket: the literal path needs no host to find it.
			await Promise.all(
				sockets.map(
					async (name) =>
						new Promise<void>((resolve) => {
							const child = spawn(
								'ssh',
								[
									'-F',
									'/dev/null',
									'-o',
									`ControlPath=${path.join(controlDir, name)}`,
									'-O',
									'exit',
									'klptop-fleet-master',
								],
								{stdio: 'ignore'},
							);
							const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
							child.once('error', () => resolve());
							child.once('close', () => {
								clearTimeout(timer);
								resolve();
							});
						}),
				),
			);
			rmSync(controlDir, {recursive: true, force: true});
		},
	};
}
