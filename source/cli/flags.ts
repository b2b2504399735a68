/** Parsed command-line flags, as `cli.tsx` hands them over. */
export type Flags = {
	readonly root?: string | undefined;
	readonly emulate?: string | undefined;
	readonly kernel?: string | undefined;
	readonly threads?: number | undefined;
	readonly seed?: number | undefined;
	/** A point in time: seconds from the start (`90`, `+90s`, `+2m`), an ISO time or a clock time (`parseAt`). */
	readonly at?: string | undefined;
	readonly once: boolean;
	readonly json: boolean;
	readonly delay?: number | undefined;
	readonly pid?: string | undefined;
	readonly tid?: string | undefined;
	readonly readonly: boolean;
	readonly color: boolean;
	readonly ascii: boolean;
	readonly list: boolean;
	readonly confirm?: string | undefined;
	readonly batch: boolean;
	readonly iterations?: number | undefined;
	readonly timeout?: number | undefined;
	readonly reverseOnTimeout: boolean;
	readonly textfile?: string | undefined;
	readonly listen?: string | undefined;
	readonly output?: string | undefined;
	readonly replay?: string | undefined;
	readonly maxSize?: number | undefined;
	readonly svg?: string | undefined;
	/** `fleet`: the host list or Ansible INI inventory (`-`: stdin). */
	readonly hosts?: string | undefined;
	readonly jobs?: number | undefined;
	readonly sshOption?: readonly string[] | undefined;
	readonly sshConfig?: string | undefined;
	readonly remoteCmd?: string | undefined;
	readonly sudo?: boolean | undefined;
	readonly push?: boolean | undefined;
	readonly allowActions?: boolean | undefined;
};

/**
`--at`: an offset from the start (`90`, `90s`, `+90s`, `+2m`, `+1h`), an ISO time
(`2026-01-01T03:00:00Z`) or a local clock time (`03:00`, `03:00:15`) on the recording's first day.
*/
export type AtTime =
	| {readonly kind: 'offset'; readonly seconds: number}
	| {readonly kind: 'time'; readonly ms: number}
	| {readonly kind: 'clock'; readonly seconds: number};

const unitSeconds: Readonly<Record<string, number>> = {'': 1, s: 1, m: 60, h: 3600};

/** Parse `--at`; throws a usage error naming the accepted forms. */
export function parseAt(value: string): AtTime {
	const text = value.trim();
	const offset = /^\+?(\d+(?:\.\d+)?)([smh]?)$/.exec(text);
	if (offset) {
		return {kind: 'offset', seconds: Number(offset[1]) * unitSeconds[offset[2]!]!};
	}

	const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
	if (clock && Number(clock[1]) < 24 && Number(clock[2]) < 60 && Number(clock[3] ?? 0) < 60) {
		return {kind: 'clock', seconds: Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3] ?? 0)};
	}

	const ms = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
	if (Number.isFinite(ms)) {
		return {kind: 'time', ms};
	}

	throw new UsageError(
		`--at takes seconds from the start (90, +90s, +2m), an ISO time (2026-01-01T03:00:00Z) or a clock time (03:00), got '${value}'`,
	);
}

/** `--at` for the emulator: virtual seconds from its start (default 5). */
export function emulatorSeconds(value: string | undefined): number {
	if (value === undefined) return 5;
	const at = parseAt(value);
	if (at.kind !== 'offset' || !(at.seconds <= 86_400)) {
		throw new UsageError('--at with --emulate takes seconds between 0 and 86400 (e.g. 20 or +20s)');
	}

	return at.seconds;
}

/** `1,2, 3` -> [1, 2, 3]; throws a usage error on anything else. */
export function parseIdList(value: string | undefined, name: string): number[] | null {
	if (value === undefined || value === '') {
		return null;
	}

	const ids = value.split(',').map((part) => {
		const text = part.trim();
		if (!/^\d+$/.test(text)) {
			throw new UsageError(`--${name} takes numbers separated by commas, got '${value}'`);
		}

		return Number(text);
	});
	return ids;
}

export class UsageError extends Error {}
