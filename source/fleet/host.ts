/**
One fleet host's state: a pure reducer of what its ssh connection and stream report. Every way a
host fails is a status of its row (the list and its words: ARCHITECTURE.md, "The fleet"), with a
sanitised one-line error and, when the connection ended, the time of the next attempt.
*/
import type {JsonDocument} from '../output/json.js';
import {clean} from '../model/sanitize.js';
import type {FleetHost} from './inventory.js';

export type ConnectionStatus =
	| 'connecting'
	| 'pushing'
	| 'ok'
	| 'stalled'
	| 'garbage'
	| 'exited'
	| 'unreachable'
	| 'auth-failed'
	| 'host-key-unknown'
	| 'no-klptop'
	| 'sudo-failed'
	| 'failed';

/** Statuses that mean the host's picture is missing or out of date. */
export const failingStatuses: ReadonlySet<ConnectionStatus> = new Set([
	'stalled',
	'garbage',
	'exited',
	'unreachable',
	'auth-failed',
	'host-key-unknown',
	'no-klptop',
	'sudo-failed',
	'failed',
]);

/** Which klptop a host runs: its own, or one pushed for this run. */
export type Pushed = 'bundle' | 'executable' | null;

export type HostState = {
	readonly host: FleetHost;
	readonly status: ConnectionStatus;
	/** One sanitised line saying what went wrong, null while all is well. */
	readonly error: string | null;
	/** The last good document (kept through failures: its age says how old it is). */
	readonly doc: JsonDocument | null;
	/** Local time (ms) the last document arrived: ages are measured on this clock, not the host's. */
	readonly lastFrameAt: number | null;
	readonly frames: number;
	/** When the current status began (ms). */
	readonly since: number;
	/** Connection attempts that failed in a row (the backoff grows with it). */
	readonly failures: number;
	/** When the next attempt is due (ms), null while connected. */
	readonly retryAt: number | null;
	readonly pushed: Pushed;
};

export type HostEvent =
	| {readonly type: 'connect'; readonly at: number}
	| {readonly type: 'pushing'; readonly at: number}
	| {readonly type: 'pushed'; readonly at: number; readonly kind: Exclude<Pushed, null>}
	| {readonly type: 'frame'; readonly at: number; readonly doc: JsonDocument}
	| {readonly type: 'garbage'; readonly at: number; readonly reason: string; readonly excerpt: string}
	| {
			readonly type: 'exit';
			readonly at: number;
			readonly code: number | null;
			readonly signal: string | null;
			readonly stderr: string;
			/** Random number in [0, 1) for the backoff's jitter. */
			readonly random: number;
	  }
	| {
			readonly type: 'failed';
			readonly at: number;
			readonly status: ConnectionStatus;
			readonly error: string;
			readonly random: number;
	  }
	| {
			readonly type: 'tick';
			readonly at: number;
			readonly intervalMs: number;
			readonly connectTimeoutMs: number;
	  };

export function initialHostState(host: FleetHost, at: number): HostState {
	return {
		host,
		status: 'connecting',
		error: null,
		doc: null,
		lastFrameAt: null,
		frames: 0,
		since: at,
		failures: 0,
		retryAt: null,
		pushed: null,
	};
}

/** A stream is stalled after this many intervals without a document (the issue's 3). */
export const stallIntervals = 3;

/** The last line of some stderr text that says something, sanitised. */
export function lastLine(text: string): string {
	const lines = text
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line !== '' && !/^Warning: Permanently added/.test(line));
	return clean(lines.at(-1) ?? '');
}

/**
What an ended ssh run means. ssh exits 255 for its own errors and with the remote command's status
otherwise; the words are OpenSSH's (ssh.c, sshconnect.c, sshconnect2.c) and the shells' and sudo's.
*/
export function classifyExit(
	code: number | null,
	signal: string | null,
	stderr: string,
): {status: ConnectionStatus; error: string} {
	const last = lastLine(stderr);
	const said = (fallback: string) => (last === '' ? fallback : last);
	if (code === 255 || (code === null && signal === null)) {
		if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
			return {
				status: 'host-key-unknown',
				error: 'host key CHANGED: not connecting (check it, then fix known_hosts)',
			};
		}

		if (
			/Host key verification failed|No \S+ host key is known|host key for .* not in list of known hosts/i.test(
				stderr,
			)
		) {
			return {
				status: 'host-key-unknown',
				error: 'host key unknown: not accepted silently (verify it and add it to known_hosts)',
			};
		}

		if (
			/Permission denied \(|Too many authentication failures|Authentication failed|no mutual signature/i.test(
				stderr,
			)
		) {
			return {status: 'auth-failed', error: `authentication failed: ${said('permission denied')}`};
		}

		if (
			/Connection refused|Connection timed out|timed out during banner exchange|No route to host|Could not resolve hostname|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection reset|Connection closed by|kex_exchange_identification|Broken pipe|Timeout, server .* not responding|connect to host/i.test(
				stderr,
			)
		) {
			return {status: 'unreachable', error: said('cannot connect')};
		}

		return {status: 'failed', error: said(code === 255 ? 'ssh failed (status 255)' : 'ssh ended')};
	}

	if (
		/sudo: (a terminal is required|a password is required)|is not in the sudoers|may not run sudo|sudo: .*: command not found/.test(
			stderr,
		) &&
		!/klptop/.test(last)
	) {
		return {status: 'sudo-failed', error: `sudo -n refused: ${said('sudo failed')}`};
	}

	if (code === 127 || /(^|\s|:)klptop\S*: (command )?not found|No such file or directory/.test(stderr)) {
		return {status: 'no-klptop', error: `no klptop on the host: ${said('command not found')}`};
	}

	if (signal !== null) {
		return {status: 'exited', error: `remote klptop ended by ${signal}${last === '' ? '' : `: ${last}`}`};
	}

	return {status: 'exited', error: `remote klptop exited (status ${code})${last === '' ? '' : `: ${last}`}`};
}

/** Failures a retry will not cure without someone's help: retried, but slowly from the start. */
const needsPerson: ReadonlySet<ConnectionStatus> = new Set([
	'auth-failed',
	'host-key-unknown',
	'no-klptop',
	'sudo-failed',
]);

/** Longest wait between two attempts. */
export const maxBackoffMs = 60_000;

/**
Wait before attempt `failures + 1`: 1, 2, 4 ... 60 s (from 16 s for what needs a person), with up to
20% of jitter so a thousand hosts that dropped together do not come back together.
*/
export function backoffMs(failures: number, status: ConnectionStatus, random: number): number {
	const step = needsPerson.has(status) ? failures + 4 : failures;
	const base = Math.min(maxBackoffMs, 1000 * 2 ** Math.max(0, step - 1));
	return Math.round(base * (1 - 0.2 * Math.min(Math.max(random, 0), 1)));
}

function failed(
	state: HostState,
	at: number,
	status: ConnectionStatus,
	error: string,
	random: number,
): HostState {
	// A stream that delivered documents and then ended starts the backoff over.
	const failures = (state.status === 'ok' || state.status === 'stalled' ? 0 : state.failures) + 1;
	return {
		...state,
		status,
		error,
		since: at,
		failures,
		retryAt: at + backoffMs(failures, status, random),
	};
}

export function reduceHost(state: HostState, event: HostEvent): HostState {
	switch (event.type) {
		case 'connect': {
			return {...state, status: 'connecting', since: event.at, retryAt: null, error: state.error};
		}

		case 'pushing': {
			return {...state, status: 'pushing', since: event.at, error: null};
		}

		case 'pushed': {
			return {...state, pushed: event.kind};
		}

		case 'frame': {
			return {
				...state,
				status: 'ok',
				error: null,
				doc: event.doc,
				lastFrameAt: event.at,
				frames: state.frames + 1,
				since: state.status === 'ok' ? state.since : event.at,
				failures: 0,
				retryAt: null,
			};
		}

		case 'garbage': {
			const excerpt = event.excerpt === '' ? '' : `: '${event.excerpt}'`;
			return {
				...state,
				status: 'garbage',
				error: `garbage on the stream (${clean(event.reason)})${excerpt}`,
				since: state.status === 'garbage' ? state.since : event.at,
			};
		}

		case 'exit': {
			// klptop -b on a kernel without livepatch writes its document and exits 2 (its convention):
			// the host has reported all there is. Asked again once a minute (a reboot may change it).
			if (event.code === 2 && state.status === 'ok' && state.doc?.kernel.livepatch === false) {
				return {...state, error: null, failures: 0, retryAt: event.at + maxBackoffMs};
			}

			const {status, error} = classifyExit(event.code, event.signal, event.stderr);
			// The stream said what was wrong before it ended: keep that, it is the better reason.
			if (state.status === 'garbage' && status === 'exited') {
				return failed(state, event.at, 'garbage', state.error ?? error, event.random);
			}

			return failed(state, event.at, status, error, event.random);
		}

		case 'failed': {
			return failed(state, event.at, event.status, clean(event.error), event.random);
		}

		case 'tick': {
			// Garbage that goes on says more than "stalled": it stays.
			// Only a stream still connected (no retry due) can stall.
			if (state.status === 'ok' && state.retryAt === null) {
				const last = state.lastFrameAt ?? state.since;
				const silentMs = event.at - last;
				if (silentMs > stallIntervals * event.intervalMs) {
					return {
						...state,
						status: 'stalled',
						error: `stream stalled: no document for ${Math.round(silentMs / 1000)}s`,
						since: event.at,
					};
				}
			}

			// A stalled host stays as it is (the row's AGE counts on): a thousand quiet hosts must not
			// change, and redraw the screen, every second.
			if (state.status === 'connecting') {
				const waitedMs = event.at - state.since;
				if (waitedMs > event.connectTimeoutMs + stallIntervals * event.intervalMs) {
					return {
						...state,
						status: 'stalled',
						error: `stream stalled: connected ${Math.round(waitedMs / 1000)}s ago, no document yet`,
						since: event.at,
					};
				}
			}

			return state;
		}
	}
}
