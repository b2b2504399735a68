/**
The control port of a tree on disk that an emulator serves (`klptop emulate <scenario> --root
DIR`): writes and signals go to the emulator over its socket and its kernel errors come back as
`FsError`s, exactly as a real kernel would return them. A tree without a live emulator gets no
control port at all (null): actions against it must never reach the host.
*/
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {fsError, type ControlPort, type KillSignal} from '../sources/fs-port.js';
import {stateFileName} from './mirror.js';
import type {Request, Response} from './protocol.js';

type State = {readonly socket: string; readonly scenario?: string};

function readState(dir: string): State | null {
	try {
		const parsed = JSON.parse(fs.readFileSync(path.join(dir, stateFileName), 'utf8')) as unknown;
		if (typeof parsed === 'object' && parsed !== null && typeof (parsed as State).socket === 'string') {
			return parsed as State;
		}
	} catch {
		// No emulator, or a broken state file: nothing to talk to.
	}

	return null;
}

/** One request over a fresh connection (nothing stays open between calls). */
export async function requestEmulator(
	socketPath: string,
	request: Request,
	timeoutMs = 5000,
): Promise<Response> {
	return new Promise<Response>((resolve, reject) => {
		const socket = net.createConnection(socketPath);
		socket.setEncoding('utf8');
		let buffer = '';
		const timer = setTimeout(() => {
			socket.destroy();
			reject(fsError('ETIMEDOUT', `emulator at ${socketPath} did not answer`));
		}, timeoutMs);
		timer.unref();
		socket.on('connect', () => {
			socket.write(`${JSON.stringify(request)}\n`);
		});
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			const newline = buffer.indexOf('\n');
			if (newline >= 0) {
				clearTimeout(timer);
				socket.end();
				try {
					resolve(JSON.parse(buffer.slice(0, newline)) as Response);
				} catch {
					reject(fsError('EIO', 'emulator sent a bad response'));
				}
			}
		});
		socket.on('error', (error: NodeJS.ErrnoException) => {
			clearTimeout(timer);
			reject(fsError(error.code ?? 'EIO', `emulator at ${socketPath}: ${error.message}`));
		});
	});
}

async function call(socketPath: string, request: Request): Promise<void> {
	const response = await requestEmulator(socketPath, request);
	if (!response.ok) {
		throw fsError(response.code, response.message);
	}
}

/** The control port of the emulator serving `dir`, or null when none answers. */
export async function connectTreeControl(dir: string): Promise<ControlPort | null> {
	const state = readState(dir);
	if (!state) {
		return null;
	}

	try {
		const response = await requestEmulator(state.socket, {op: 'ping'}, 2000);
		if (!response.ok) {
			return null;
		}
	} catch {
		return null;
	}

	const socketPath = state.socket;
	return {
		async write(worldPath: string, value: string): Promise<void> {
			await call(socketPath, {op: 'write', path: worldPath, value});
		},
		async kill(pid: number, signal: KillSignal): Promise<void> {
			await call(socketPath, {op: 'kill', pid, signal});
		},
	};
}
