/**
The emulator's control protocol, spoken over `DIR/.klptop-emulator.sock` as newline-delimited
JSON, one request per line and one response per request:

```
{"op":"write","path":"/sys/kernel/livepatch/p/enabled","value":"0"}  -> {"ok":true}
{"op":"kill","pid":182,"signal":"SIGSTOP"}                           -> {"ok":true}
{"op":"insmod","patch":"klp_vmlinux_patch"}                          -> {"ok":false,"code":"EBUSY","message":"..."}
{"op":"rmmod","module":"klp_sleeper_patch"} | {"op":"release"} | {"op":"ping"}
```

Paths are paths inside the world (`/sys/...`, `/proc/...`); the mirror's own absolute paths
(`DIR/sys/...`) are accepted too. Errors carry the kernel's errno name.
*/
import {errorCode, type KillSignal} from '../sources/fs-port.js';
import type {Emulation} from './emulation.js';
import {patchCatalog, type CatalogPatch} from './world.js';

export type Request =
	| {readonly op: 'ping'}
	| {readonly op: 'write'; readonly path: string; readonly value: string}
	| {readonly op: 'kill'; readonly pid: number; readonly signal: KillSignal}
	| {readonly op: 'insmod'; readonly patch: string}
	| {readonly op: 'rmmod'; readonly module: string}
	| {readonly op: 'release'};

export type Response =
	| {readonly ok: true; readonly scenario?: string; readonly kernel?: string}
	| {readonly ok: false; readonly code: string; readonly message: string};

const signals = new Set<unknown>(['SIGSTOP', 'SIGCONT', 'SIGKILL', 'SIGTERM', 0]);

function failure(code: string, message: string): Response {
	return {ok: false, code, message};
}

export async function handleRequest(emulation: Emulation, request: unknown, root: string): Promise<Response> {
	if (typeof request !== 'object' || request === null || !('op' in request)) {
		return failure('EINVAL', 'request must be an object with "op"');
	}

	const message = request as Request;
	try {
		switch (message.op) {
			case 'ping': {
				return {ok: true, scenario: emulation.scenario, kernel: emulation.kernel.generation};
			}

			case 'write': {
				if (typeof message.path !== 'string' || typeof message.value !== 'string') {
					return failure('EINVAL', 'write needs "path" and "value" strings');
				}

				const worldPath = message.path.startsWith(`${root}/`)
					? message.path.slice(root.length)
					: message.path;
				await emulation.control.write(worldPath, message.value);
				return {ok: true};
			}

			case 'kill': {
				if (!Number.isInteger(message.pid) || !signals.has(message.signal)) {
					return failure('EINVAL', 'kill needs an integer "pid" and a known "signal"');
				}

				await emulation.control.kill(message.pid, message.signal);
				return {ok: true};
			}

			case 'insmod': {
				const spec = patchCatalog[message.patch as CatalogPatch] as
					(typeof patchCatalog)[CatalogPatch] | undefined;
				if (!spec) {
					return failure(
						'ENOENT',
						`no patch module '${String(message.patch)}' (one of: ${Object.keys(patchCatalog).join(', ')})`,
					);
				}

				emulation.kernel.insmod(spec);
				return {ok: true};
			}

			case 'rmmod': {
				emulation.kernel.rmmod(String(message.module));
				return {ok: true};
			}

			case 'release': {
				emulation.kernel.release();
				return {ok: true};
			}

			default: {
				return failure('EINVAL', `unknown op '${String((message as {op: unknown}).op)}'`);
			}
		}
	} catch (error) {
		return failure(errorCode(error), error instanceof Error ? error.message : String(error));
	}
}
