/**
The one scanner of raw arguments, driven by `flagSpec` (the table meow is given too). It answers
exactly what meow answers for every argument list it accepts, and declines (null) wherever only meow
can answer: help, version, unknown or repeated flags, bundled short flags, `--`, a value that looks
like a flag, a number not written as a plain decimal. test/cli/argv.test.ts holds the two equal
over every flag of the table.

Two callers read it before meow is loaded (meow's module set-up costs about 80 ms of CPU per start,
more than a `--once` on a small host spends on its scan): `cli.tsx`'s fast path and the early start
of the walk helper (`early.ts`).
*/
import {flagSpec} from './flag-spec.js';
import type {Flags} from './flags.js';

export type Parsed = {readonly input: string[]; readonly flags: Flags};

type Spec = {
	readonly type: 'string' | 'number' | 'boolean';
	readonly shortFlag?: string;
	readonly default?: unknown;
	readonly isMultiple?: boolean;
};

const specs: ReadonlyMap<string, Spec> = new Map(Object.entries(flagSpec as Record<string, Spec>));
/** Left to meow, which prints the help or the version and exits. */
const meowOnly = new Set(['help', 'version']);

function kebab(name: string): string {
	return name.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

const byLong = new Map([...specs.keys()].map((name) => [kebab(name), name]));
const byShort = new Map(
	[...specs].flatMap(([name, spec]) =>
		spec.shortFlag === undefined ? [] : [[spec.shortFlag, name] as const],
	),
);

/** meow's result for no arguments: every boolean false unless it has a default, multiples empty. */
function defaults(): Record<string, unknown> {
	const flags: Record<string, unknown> = {};
	for (const [name, spec] of specs) {
		if (spec.default !== undefined) {
			flags[name] = spec.default;
		} else if (spec.isMultiple) {
			flags[name] = [];
		} else if (spec.type === 'boolean') {
			flags[name] = false;
		}
	}

	return flags;
}

/** A value as meow would read it, or undefined where this scanner does not vouch for meow's reading. */
function valueOf(spec: Spec, text: string | undefined): unknown {
	if (text === undefined || text === '' || text.startsWith('-')) {
		return undefined;
	}

	if (spec.type === 'number') {
		return /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : undefined;
	}

	return text;
}

/** The arguments as meow reads them with `flagSpec`, or null where only meow can say. */
export function scanArgv(args: readonly string[]): (Parsed & {readonly given: ReadonlySet<string>}) | null {
	const flags = defaults();
	const given = new Set<string>();
	const input: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i]!;
		if (!arg.startsWith('-')) {
			input.push(arg);
			continue;
		}

		let name: string | undefined;
		let inline: string | undefined;
		if (arg.startsWith('--')) {
			const equals = arg.indexOf('=');
			name = byLong.get(equals === -1 ? arg.slice(2) : arg.slice(2, equals));
			inline = equals === -1 ? undefined : arg.slice(equals + 1);
		} else if (arg.length === 2) {
			name = byShort.get(arg.slice(1));
		}

		const spec = name === undefined ? undefined : specs.get(name);
		if (name === undefined || spec === undefined || meowOnly.has(name)) {
			return null;
		}

		if (given.has(name) && !spec.isMultiple) {
			return null;
		}

		given.add(name);
		if (spec.type === 'boolean') {
			if (inline !== undefined) {
				return null;
			}

			flags[name] = true;
			continue;
		}

		const value = valueOf(spec, inline ?? args[++i]);
		if (value === undefined) {
			return null;
		}

		flags[name] = spec.isMultiple ? [...(flags[name] as unknown[]), value] : value;
	}

	return {input, flags: flags as Flags, given};
}

/** Flags of the invocation automation repeats most: `klptop --once [--json] [--root DIR]`. */
const fastPathFlags = new Set(['once', 'json', 'root']);
/** Flags of the dashboard's usual start: `klptop [--root DIR] [-d SECONDS]`. */
const dashboardFlags = new Set(['root', 'delay']);

/**
The fast path: those invocations (a monitoring check every few seconds; the dashboard, whose first
frame must come quickly) parsed without loading meow. Anything else goes to meow, whose errors and
help the user then sees.
*/
export function fastFlags(args: readonly string[]): Parsed | null {
	const parsed = scanArgv(args);
	if (parsed === null || parsed.input.length > 0) {
		return null;
	}

	const allowed = parsed.given.has('once') ? fastPathFlags : dashboardFlags;
	return [...parsed.given].every((name) => allowed.has(name))
		? {input: parsed.input, flags: parsed.flags}
		: null;
}
