/**
Everything an action needs, built once per source: the world to read (`FsPort`), the world to act on
(`ControlPort`), the stop journal, the audit log and a clock.

This is where "a tree is never the host" is enforced. Only a `host` source whose root is exactly
`/` gets `createHostControl()` (real signals, real sysfs writes). A tree on disk gets the control
port of the emulator serving it (`connectTreeControl(dir)` from `source/emulator/tree-client.ts`,
passed in as `control`) or none at all; the in-process emulator gets its own control port.
*/
import path from 'node:path';
import process from 'node:process';
import type {SourceInfo} from '../model/types.js';
import type {ControlPort, FsPort} from '../sources/fs-port.js';
import {openAuditLog, createMemoryAuditLog} from '../state/audit.js';
import type {AuditLog} from '../state/audit.js';
import {createMemoryJournal, openStopJournal} from '../state/journal.js';
import type {StopJournal} from '../state/journal.js';
import {ensureStateDir, resolveStateDir, StateDirError} from '../state/paths.js';
import type {SelfIdentity} from './guards.js';
import {createHostControl} from './host-control.js';
import {readStat} from './proc.js';

/** Time as actions see it: the real clock, or the emulator's virtual one (sleep = advance). */
export type Clock = {
	now(): number;
	sleep(ms: number): Promise<void>;
};

export const realClock: Clock = {
	now: () => Date.now(),
	sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export type ProcessRef = {readonly pid: number; readonly starttime: number | null};

export type ActionContext = {
	readonly source: SourceInfo;
	/** Journal key of this world: `host`, `tree:<dir>`, `emulator:<scenario>`. */
	readonly world: string;
	readonly port: FsPort;
	/** Null when this world cannot be acted on; `disabledReason` says why. */
	readonly control: ControlPort | null;
	/** Why actions are disabled (read-only, not root, no emulator behind the tree, ...), null when enabled. */
	readonly disabledReason: string | null;
	/** klptop's own place in the process tree, read fresh each time; null for worlds that are not the host. */
	readonly self: () => SelfIdentity | null;
	/** This klptop process, as recorded in the journal. */
	readonly owner: ProcessRef;
	/** Whether the klptop that journalled a stop is still running (then its stop is not ours to recover). */
	readonly isOwnerAlive: (owner: ProcessRef) => boolean;
	readonly journal: StopJournal;
	readonly audit: AuditLog;
	readonly clock: Clock;
};

export type ActionContextOptions = {
	readonly source: SourceInfo;
	readonly port: FsPort;
	/** `--readonly`. */
	readonly readonly?: boolean;
	/**
	The control port for a tree (from `connectTreeControl(dir)`, null when no emulator serves it) or
	for the in-process emulator (`emulation.control`). Ignored for the host, which always gets the
	real one.
	*/
	readonly control?: ControlPort | null;
	/** Host `/proc` for klptop's own process (owner liveness). Defaults to `port` for the host, none otherwise. */
	readonly hostPort?: FsPort;
	readonly clock?: Clock;
	/** Defaults to `resolveStateDir(env)`. */
	readonly stateDir?: string;
	readonly env?: NodeJS.ProcessEnv;
	/** This process's PID, for the self guards (tests only). */
	readonly selfPid?: number;
};

export function worldOf(source: SourceInfo): string {
	switch (source.kind) {
		case 'host': {
			return 'host';
		}

		case 'tree': {
			return `tree:${path.resolve(source.root ?? '.')}`;
		}

		case 'emulator': {
			return `emulator:${source.scenario ?? ''}`;
		}
	}
}

/** True only for the machine klptop runs on, seen through its real `/`. */
export function isHostRoot(source: SourceInfo): boolean {
	return source.kind === 'host' && source.root === '/';
}

export function createActionContext(options: ActionContextOptions): ActionContext {
	const {source, port} = options;
	const env = options.env ?? process.env;
	const selfPid = options.selfPid ?? process.pid;
	const host = isHostRoot(source);
	const hostPort = options.hostPort ?? (host ? port : undefined);

	let control: ControlPort | null;
	let reason: string | null = null;
	if (host) {
		control = createHostControl();
	} else if (source.kind === 'host') {
		// A "host" source whose root is not `/` is a tree by another name: never real signals.
		control = null;
		reason = 'this tree is not served by an emulator; actions need a live kernel';
	} else {
		control = options.control ?? null;
		if (control === null) {
			reason =
				source.kind === 'tree'
					? 'this tree is not served by an emulator; actions need a live kernel'
					: 'this emulated kernel offers no control port';
		}
	}

	if (options.readonly === true) {
		reason = 'read-only mode (--readonly): actions are disabled';
	} else if (reason === null) {
		// The emulator answers as the user it emulates (the `non-root` scenario): same rule as the host.
		const uid = port.readerUid();
		if (uid !== 0) {
			reason =
				`actions need root (you are uid ${uid}): writing /sys/kernel/livepatch and signalling ` +
				'other users\u2019 tasks require it';
		}
	}

	// In-process emulated tasks die with this process: their stops need no journal on disk.
	const persistent = source.kind !== 'emulator';
	let journal: StopJournal = createMemoryJournal();
	let audit: AuditLog = createMemoryAuditLog();
	let stateDir: string | null = null;
	try {
		stateDir = ensureStateDir(options.stateDir ?? resolveStateDir(env));
	} catch (error) {
		if (reason === null && control !== null) {
			reason = `actions are disabled: ${error instanceof StateDirError ? error.message : String(error)}`;
		}
	}

	if (stateDir !== null) {
		audit = openAuditLog(stateDir);
		if (persistent) {
			journal = openStopJournal(stateDir);
		}
	}

	const starttimeOf = (pid: number): number | null => {
		if (hostPort === undefined) {
			return null;
		}

		try {
			return readStat(hostPort, `/proc/${pid}/stat`)?.starttime ?? null;
		} catch {
			return null;
		}
	};

	return {
		source,
		world: worldOf(source),
		port,
		control,
		disabledReason: reason,
		self: () => (host ? identifySelf(port, selfPid) : null),
		owner: {pid: selfPid, starttime: starttimeOf(selfPid)},
		isOwnerAlive(owner) {
			if (owner.pid === selfPid) {
				// Our own records are recovered by our own finally/exit handlers, never twice.
				return owner.starttime === starttimeOf(selfPid);
			}

			const now = starttimeOf(owner.pid);
			return now !== null && owner.starttime !== null && now === owner.starttime;
		},
		journal,
		audit,
		clock: options.clock ?? realClock,
	};
}

/**
Walk `ppid` from `pid` up to PID 1 through `/proc` of the port: klptop's process group, session and
every ancestor (shell, tmux/screen server, sshd, terminal emulator). Bounded against loops.
*/
export function identifySelf(port: FsPort, pid: number): SelfIdentity {
	const read = (target: number) => {
		try {
			return readStat(port, `/proc/${target}/stat`);
		} catch {
			return null;
		}
	};

	const own = read(pid);
	const ancestors = new Map<number, string>();
	let complete = own !== null;
	let next = own?.ppid ?? 0;
	for (let steps = 0; next > 1 && !ancestors.has(next); steps++) {
		const stat = steps < 4096 ? read(next) : null;
		ancestors.set(next, stat?.comm ?? '?');
		if (stat === null) {
			// The chain is broken (hidepid, a race, a loop): we cannot know who else is above us.
			complete = false;
			break;
		}

		next = stat.ppid;
	}

	return {pid, pgrp: own?.pgrp ?? 0, session: own?.session ?? 0, ancestors, complete};
}
