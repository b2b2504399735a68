/**
The facts an action needs, read fresh through the world's `FsPort` right before it acts: a task's
`stat` and `status`, its `patch_state`, and the livepatch sysfs attributes.

The reader (`source/sources/reader.ts`) builds snapshots for display; the actions re-read the few
files they decide on, immediately before signalling or writing, because a snapshot can be a second
old and PIDs get reused.
*/
import {errorCode} from '../sources/fs-port.js';
import {parseStat} from '../sources/parse.js';
import type {StatFields} from '../sources/parse.js';
import type {FsPort} from '../sources/fs-port.js';
import type {PatchState} from '../model/types.js';

/** The reader's `stat` fields (`StatFields`), with the thread id under the name actions use. */
export type ProcStat = Omit<StatFields, 'tid'> & {readonly pid: number};

/**
Parse `/proc/<pid>/stat`; null when the text is not a stat line. comm may hold spaces and parentheses.
The reader's parser (`parseStat` of `source/sources/parse.ts`), under the names the actions use.
*/
export function parseProcStat(text: string): ProcStat | null {
	const stat = parseStat(text);
	if (stat === null) {
		return null;
	}

	const {tid, ...rest} = stat;
	return {...rest, pid: tid};
}

/** A file that names a task which no longer exists. */
function isGone(error: unknown): boolean {
	const code = errorCode(error);
	return code === 'ENOENT' || code === 'ESRCH';
}

/** Read and parse a stat file; null when the task is gone or the file is not a stat line. */
export function readStat(port: FsPort, file: string): ProcStat | null {
	try {
		return parseProcStat(port.readFile(file));
	} catch (error) {
		if (isGone(error)) {
			return null;
		}

		throw error;
	}
}

export type ProcStatus = {
	readonly tgid: number | null;
	/** Non-zero: traced (a debugger, strace). */
	readonly tracerPid: number | null;
	/** Pending signals of the thread and of the group, as bit masks (bit n-1 = signal n). */
	readonly sigPnd: bigint | null;
	readonly shdPnd: bigint | null;
};

export function parseProcStatus(text: string): ProcStatus {
	const fields = new Map<string, string>();
	for (const line of text.split('\n')) {
		const colon = line.indexOf(':');
		if (colon > 0) {
			fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
		}
	}

	const int = (name: string) => {
		const value = fields.get(name);
		return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
	};

	const mask = (name: string) => {
		const value = fields.get(name);
		return value !== undefined && /^[\da-f]+$/i.test(value) ? BigInt(`0x${value}`) : null;
	};

	return {tgid: int('Tgid'), tracerPid: int('TracerPid'), sigPnd: mask('SigPnd'), shdPnd: mask('ShdPnd')};
}

/** Null when the task is gone; throws on other errors. */
export function readStatus(port: FsPort, file: string): ProcStatus | null {
	try {
		return parseProcStatus(port.readFile(file));
	} catch (error) {
		if (isGone(error)) {
			return null;
		}

		throw error;
	}
}

/** SIGSTOP is signal 19 on every Linux architecture klptop runs on (x86, arm64, ppc64le, s390). */
const sigstopBit = 1n << 18n;

/** True when a SIGSTOP is queued but not yet acted on. */
export function stopPending(status: ProcStatus): boolean {
	return ((status.sigPnd ?? 0n) & sigstopBit) !== 0n || ((status.shdPnd ?? 0n) & sigstopBit) !== 0n;
}

/** `patch_state` of a thread: -1/0/1, null when unreadable or absent (no CONFIG_LIVEPATCH). */
export function readPatchState(port: FsPort, tgid: number, tid: number): PatchState | null {
	try {
		const value = Number(port.readFile(`/proc/${tgid}/task/${tid}/patch_state`).trim());
		return value === -1 || value === 0 || value === 1 ? value : null;
	} catch {
		return null;
	}
}

export function taskDir(tgid: number, tid: number): string {
	return `/proc/${tgid}/task/${tid}`;
}

/** The thread group of a bare TID: `Tgid:` of its status, else a search of `/proc/*\/task/<tid>`. */
export function findTgid(port: FsPort, tid: number): number | null {
	const status = readStatus(port, `/proc/${tid}/status`);
	if (status?.tgid !== null && status?.tgid !== undefined) {
		return status.tgid;
	}

	if (port.exists(`/proc/${tid}/task/${tid}`)) {
		return tid;
	}

	let pids: string[];
	try {
		pids = port.readdir('/proc');
	} catch {
		return null;
	}

	for (const name of pids) {
		if (/^\d+$/.test(name) && port.exists(`/proc/${name}/task/${tid}`)) {
			return Number(name);
		}
	}

	return null;
}

export const livepatchDir = '/sys/kernel/livepatch';

export type LivePatch = {
	readonly name: string;
	readonly enabled: boolean;
	readonly transition: boolean;
};

/** A patch name that is safe to put in a sysfs path: no `/`, NUL, `.` or `..`. */
export function validPatchName(name: string): boolean {
	return name !== '' && name !== '.' && name !== '..' && !/[/\0]/.test(name);
}

function readFlag(port: FsPort, file: string): boolean {
	const text = port.readFile(file).trim();
	if (text !== '0' && text !== '1') {
		throw Object.assign(new Error(`EIO: unexpected value '${text}' in ${file}`), {code: 'EIO'});
	}

	return text === '1';
}

/** One patch's `enabled` and `transition`, null when the patch is gone. */
export function readLivePatch(port: FsPort, name: string): LivePatch | null {
	if (!validPatchName(name)) {
		return null;
	}

	try {
		return {
			name,
			enabled: readFlag(port, `${livepatchDir}/${name}/enabled`),
			transition: readFlag(port, `${livepatchDir}/${name}/transition`),
		};
	} catch (error) {
		if (isGone(error)) {
			return null;
		}

		throw error;
	}
}

/** Every patch, sorted by name; empty without `/sys/kernel/livepatch`. */
export function readLivePatches(port: FsPort): LivePatch[] {
	let names: string[];
	try {
		names = port.readdir(livepatchDir);
	} catch {
		return [];
	}

	const patches: LivePatch[] = [];
	for (const name of names.sort()) {
		const patch = readLivePatch(port, name);
		if (patch !== null) {
			patches.push(patch);
		}
	}

	return patches;
}

export type LiveTransition = {readonly patch: string; readonly target: 0 | 1};

/** The patch in transition and the patch_state every task must reach, null when none. */
export function readLiveTransition(port: FsPort): LiveTransition | null {
	const patch = readLivePatches(port).find((candidate) => candidate.transition);
	return patch === undefined ? null : {patch: patch.name, target: patch.enabled ? 1 : 0};
}
