/**
Helpers for the action tests: real sleeping children, a port that adds a livepatch transition to the
real host's /proc (this host's kernel has no livepatch), a control port that records what it is
asked to do, and throwaway state directories.
*/
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {PatchState} from '../../source/model/types.js';
import {fsError, type ControlPort, type FsPort, type KillSignal} from '../../source/sources/fs-port.js';

/** State letter of a real task from /proc, or null when it is gone. */
export function procState(pid: number, tid = pid): string | null {
	try {
		const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
		return text.slice(text.lastIndexOf(')') + 2).split(' ')[0] ?? null;
	} catch {
		return null;
	}
}

export function procStarttime(pid: number): number {
	const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
	return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

const children = new Set<ChildProcess>();
/** Grandchildren (a traced sleep under strace, a sleep under script) to kill after each test. */
const adopted = new Set<number>();

/** Kill `pid` in `killChildren()` too (a grandchild that outlives its parent). */
export function adopt(pid: number): void {
	adopted.add(pid);
}

/**
A real `sleep 1000`, in interruptible sleep. `detached`: in its own session and process group (as a
process started from another terminal would be); otherwise it shares ours.
*/
export async function spawnSleeper(
	detached = true,
	command = 'sleep',
	args = ['1000'],
	comm = command,
): Promise<ChildProcess & {pid: number}> {
	const child = spawn(command, args, {detached, stdio: 'ignore'});
	children.add(child);
	child.on('exit', () => children.delete(child));
	const {pid} = child;
	if (pid === undefined) {
		throw new Error('spawn failed');
	}

	await waitFor(
		() => procState(pid) === 'S' && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm,
		5000,
		`${comm} to sleep`,
	);
	return child as ChildProcess & {pid: number};
}

/** Kill every child spawned by `spawnSleeper` (SIGCONT first, so a stopped one dies at once). */
export function killChildren(): void {
	for (const child of children) {
		if (child.pid !== undefined && child.exitCode === null) {
			try {
				process.kill(child.pid, 'SIGCONT');
				process.kill(child.pid, 'SIGKILL');
			} catch {
				// Gone already.
			}
		}
	}

	children.clear();
	for (const pid of adopted) {
		try {
			process.kill(pid, 'SIGCONT');
			process.kill(pid, 'SIGKILL');
		} catch {
			// Gone already.
		}
	}

	adopted.clear();
}

export type Overlay = {
	readonly port: FsPort;
	/** Tgids whose threads block the transition until they are seen stopped. */
	readonly blockers: Set<number>;
	/** Set `enabled`/`transition` of the overlay patch. */
	set(values: {enabled?: boolean; transition?: boolean}): void;
	/** Tgids the overlay saw in state T (and switched). */
	readonly switched: Set<number>;
	/** Every real state letter the overlay read for a blocker, in order. */
	readonly observed: (string | null)[];
};

/**
The real host's /proc plus a livepatch transition of one patch, with the kernel's behaviour for a
nudge: a blocking task switches when it is stopped (`kernel-livepatch.md` §4.5). Everything but the
livepatch files and `patch_state` is the real thing.
*/
export function kernelOverlay(
	base: FsPort,
	options: {patch?: string; enabled?: boolean; switchWhenStopped?: boolean} = {},
): Overlay {
	const patch = options.patch ?? 'klp_test_patch';
	let enabled = options.enabled ?? true;
	let transition = true;
	const blockers = new Set<number>();
	const switched = new Set<number>();
	const observed: (string | null)[] = [];
	const dir = `/sys/kernel/livepatch/${patch}`;
	const patchStateOf = (tgid: number, tid: number): PatchState => {
		const target = enabled ? 1 : 0;
		if (!transition) {
			return -1;
		}

		if (!blockers.has(tgid) || switched.has(tgid)) {
			return target;
		}

		const state = procState(tgid, tid);
		observed.push(state);
		if (options.switchWhenStopped !== false && state === 'T') {
			switched.add(tgid);
			return target;
		}

		return target === 1 ? 0 : 1;
	};

	const port: FsPort = {
		readFile(file) {
			if (file === `${dir}/enabled`) {
				return enabled ? '1\n' : '0\n';
			}

			if (file === `${dir}/transition`) {
				return transition ? '1\n' : '0\n';
			}

			if (file.startsWith('/sys/kernel/livepatch')) {
				throw fsError('ENOENT', file);
			}

			const match = /^\/proc\/(\d+)\/task\/(\d+)\/patch_state$/.exec(file);
			if (match) {
				base.readFile(`/proc/${match[1]}/task/${match[2]}/stat`);
				return `${patchStateOf(Number(match[1]), Number(match[2]))}\n`;
			}

			return base.readFile(file);
		},
		readdir(file) {
			if (file === '/sys/kernel/livepatch') {
				return [patch];
			}

			if (file === dir) {
				return ['enabled', 'transition', 'force'];
			}

			return base.readdir(file);
		},
		exists(file) {
			if (file === dir || file === `${dir}/force` || file === '/sys/kernel/livepatch') {
				return true;
			}

			return base.exists(file);
		},
		ownerUid: (file) => base.ownerUid(file),
		readKmsg: () => undefined,
		readerUid: () => base.readerUid(),
	};
	return {
		port,
		blockers,
		switched,
		observed,
		set(values) {
			enabled = values.enabled ?? enabled;
			transition = values.transition ?? transition;
		},
	};
}

export type Call =
	| {readonly op: 'kill'; readonly pid: number; readonly signal: KillSignal}
	| {readonly op: 'write'; readonly path: string; readonly value: string};

/** Wrap a control port (or nothing) and record every call. */
export function spyControl(inner: ControlPort | null = null): ControlPort & {calls: Call[]} {
	const calls: Call[] = [];
	return {
		calls,
		async write(file, value) {
			calls.push({op: 'write', path: file, value});
			await inner?.write(file, value);
		},
		async kill(pid, signal) {
			calls.push({op: 'kill', pid, signal});
			await inner?.kill(pid, signal);
		},
	};
}

const dirs: string[] = [];

export function tempStateDir(): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-state-'));
	dirs.push(dir);
	return dir;
}

export function removeTempDirs(): void {
	for (const dir of dirs.splice(0)) {
		rmSync(dir, {recursive: true, force: true});
	}
}
