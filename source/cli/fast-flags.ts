/**
The flags of the one invocation that automation repeats most (`klptop --once [--json] [--root DIR]`,
e.g. a monitoring check every few seconds), parsed without loading meow: meow's module set-up
(normalize-package-data, SPDX tables, semver) costs about 80 ms of CPU per start, more than a
`--once` on a small host spends on its scan. Anything else (another flag, a repeated flag, a
subcommand, a root that looks like a flag) returns null and goes to meow. For every argument list
it accepts, the result equals meow's (test/cli/fast-flags.test.ts runs both).
*/
import {flagSpec} from './flag-spec.js';
import type {Flags} from './flags.js';

export type Parsed = {readonly input: string[]; readonly flags: Flags};

/** meow's result for no arguments: every boolean flag (false unless it has a default), and defaults. */
function defaults(): Record<string, unknown> {
	const flags: Record<string, unknown> = {};
	for (const [name, spec] of Object.entries(flagSpec)) {
		if ('default' in spec) {
			flags[name] = spec.default;
		} else if (spec.type === 'boolean') {
			flags[name] = false;
		}
	}

	return flags;
}

export function fastFlags(args: readonly string[]): Parsed | null {
	const flags = defaults();
	const seen = new Set<string>();
	for (let i = 0; i < args.length; i++) {
		const arg = args[i]!;
		let name: string;
		if (arg === '--once' || arg === '--json') {
			name = arg.slice(2);
			flags[name] = true;
		} else if (arg === '--root' || arg.startsWith('--root=')) {
			const value = arg === '--root' ? args[++i] : arg.slice('--root='.length);
			if (value === undefined || value === '' || value.startsWith('-')) {
				return null;
			}

			name = 'root';
			flags['root'] = value;
		} else {
			return null;
		}

		if (seen.has(name)) {
			return null;
		}

		seen.add(name);
	}

	return seen.has('once') ? {input: [], flags: flags as Flags} : null;
}
