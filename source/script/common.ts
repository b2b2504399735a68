/**
What the script modes (batch, wait, export, capture) share: the source they read, the streams they
write, and their clock.

Time: a host or a tree on disk is watched on the real clock (sleep = a timer). The in-process
emulator is driven on its *virtual* clock instead: sleeping between two frames advances the emulated
kernel by that much, so `klptop -b -n 30 -d 1 --emulate ...` prints 30 s of emulated transition in a
few milliseconds and always the same frames for the same seed. Nothing else advances the emulator
meanwhile (no real-time driver runs in the script modes).
*/
import {renameSync, rmSync} from 'node:fs';
import path from 'node:path';
import {clean} from '../model/sanitize.js';
import type {SourceInfo} from '../model/types.js';
import type {ControlPort, FsPort} from '../sources/fs-port.js';

/** The emulation handle as the script modes need it (structurally `Emulation` of the emulator). */
export type ScriptEmulation = {
	readonly control: ControlPort;
	now(): number;
	advance(ms: number): void;
};

/** An opened source (the shape of `OpenedSource` in `source/cli/main.ts`). */
export type ScriptSource = {
	readonly source: SourceInfo;
	readonly port: FsPort;
	readonly emulation: ScriptEmulation | null;
	/** A control port for a tree served by an emulator (optional; wait --reverse-on-timeout uses it). */
	readonly control?: ControlPort | null;
};

/** The little of a `NodeJS.WriteStream` the script modes use; tests pass plain objects. */
export type ScriptStream = {
	write(chunk: string): unknown;
	readonly isTTY?: boolean | undefined;
	readonly columns?: number | undefined;
	on?(event: 'error', listener: (error: Error) => void): unknown;
	off?(event: 'error', listener: (error: Error) => void): unknown;
};

export type ScriptIo = {
	readonly stdout: ScriptStream;
	readonly stderr: ScriptStream;
};

export type ScriptClock = {
	/** ms since the epoch (virtual for the emulator). */
	now(): number;
	/** Let `ms` pass; resolves early when `signal` aborts. */
	sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

export const realClock: ScriptClock = {
	now: () => Date.now(),
	sleep(ms, signal) {
		return new Promise<void>((resolve) => {
			if (signal?.aborted) {
				resolve();
				return;
			}

			const done = () => {
				clearTimeout(timer);
				signal?.removeEventListener('abort', done);
				resolve();
			};

			const timer = setTimeout(done, ms);
			signal?.addEventListener('abort', done, {once: true});
		});
	},
};

/** The emulator's virtual clock: sleeping runs the emulated kernel forward. */
export function virtualClock(emulation: ScriptEmulation): ScriptClock {
	return {
		now: () => emulation.now(),
		async sleep(ms, signal) {
			if (!signal?.aborted) {
				emulation.advance(ms);
			}

			// Yield to the event loop so a long virtual run stays interruptible.
			await new Promise<void>((resolve) => {
				setImmediate(resolve);
			});
		},
	};
}

export function clockFor(opened: ScriptSource): ScriptClock {
	return opened.emulation ? virtualClock(opened.emulation) : realClock;
}

/**
Stop quietly when stdout goes away (`klptop -b | head -1`): an EPIPE aborts the run instead of
crashing the process. Returns the function that detaches the listener.
*/
export function watchBrokenPipe(stream: ScriptStream, controller: AbortController): () => void {
	if (typeof stream.on !== 'function') {
		return () => undefined;
	}

	const listener = (error: Error) => {
		if ((error as Error & {code?: string}).code === 'EPIPE') {
			controller.abort();
		}
	};

	stream.on('error', listener);
	return () => {
		stream.off?.('error', listener);
	};
}

/** An AbortController that also follows an outer signal. */
export function linkedController(outer: AbortSignal | undefined): AbortController {
	const controller = new AbortController();
	if (outer) {
		if (outer.aborted) {
			controller.abort();
		} else {
			outer.addEventListener(
				'abort',
				() => {
					controller.abort();
				},
				{once: true},
			);
		}
	}

	return controller;
}

/**
SIGINT/SIGTERM/SIGHUP abort the returned signal (for the lead's wiring: the script modes then finish
their current step, write their last line and return). `dispose` removes the handlers.
*/
export function abortOnSignals(): {readonly signal: AbortSignal; dispose(): void} {
	const controller = new AbortController();
	const names = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
	const handler = () => {
		controller.abort();
	};

	for (const name of names) {
		process.on(name, handler);
	}

	return {
		signal: controller.signal,
		dispose() {
			for (const name of names) {
				process.off(name, handler);
			}
		},
	};
}

/** Seconds as a short human duration: `0.4s`, `12s`, `3m05s`, `2h01m`. */
export function shortDuration(seconds: number): string {
	if (!Number.isFinite(seconds) || seconds < 0) {
		return '?';
	}

	if (seconds < 10) {
		return `${Math.round(seconds * 10) / 10}s`;
	}

	const s = Math.round(seconds);
	if (s < 60) {
		return `${s}s`;
	}

	if (s < 3600) {
		return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
	}

	return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
The script modes' one line for a world without `/sys/kernel/livepatch`. Their convention (README, "In
scripts"): `wait`, `--once` and `-b` exit 2 with the reason on stderr (JSON still printed, with
`livepatch: false`); `export` keeps serving, with `klp_livepatch_available 0`.
*/
export function noLivepatchWords(source: SourceInfo): string {
	const where = source.root === null || source.root === '/' ? '' : ` under ${clean(source.root)}`;
	return `no /sys/kernel/livepatch${where}: this kernel has no livepatch support (CONFIG_LIVEPATCH)`;
}

/**
An error for an operator's eyes: `CODE: message` (the code once), sanitised, since a message can
quote a path, a patch name or an archive member.
*/
export function describeError(error: unknown): string {
	const code = (error as {code?: unknown} | null)?.code;
	const message = clean(error instanceof Error ? error.message : String(error));
	return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** A new file's name beside `file` (same directory, so the same filesystem: `rename` is atomic). */
function tempBeside(file: string): string {
	return path.join(
		path.dirname(file),
		`.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
	);
}

/**
Replace `file` as a whole or not at all: `write(temp)` fills a new file beside it, which is then
renamed over `file`. On any failure the temp file is removed and `file` is left as it was, so a
reader (node_exporter, a user copying a capture) never sees half a file.
*/
export async function replaceFile(file: string, write: (temp: string) => Promise<void>): Promise<void> {
	const temp = tempBeside(file);
	try {
		await write(temp);
		renameSync(temp, file);
	} catch (error) {
		rmSync(temp, {force: true});
		throw error;
	}
}

/** `replaceFile` for a synchronous `write`. */
export function replaceFileSync(file: string, write: (temp: string) => void): void {
	const temp = tempBeside(file);
	try {
		write(temp);
		renameSync(temp, file);
	} catch (error) {
		rmSync(temp, {force: true});
		throw error;
	}
}
