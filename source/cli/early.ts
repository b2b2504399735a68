/**
What klptop starts before it has even loaded its modules: for a scan of a directory tree that will
come soon (`--once`, `-b`, and the dashboard's first poll), the reader's helper thread, so that it
has booted on another core by the time the walk of /proc begins (see `prewarmWalkHelper`). Reads
the arguments with the one scanner (`argv.ts`): a wrong guess costs one idle thread that ends by
itself, never a different result.
*/
import {prewarmWalkHelper} from '../sources/host-port.js';
import {scanArgv} from './argv.js';

/**
The root the first scan of `args` would walk, or null when `args` starts no scan of a tree. Every
run without a subcommand scans: `--once`, `-b`, the dashboard on a terminal, one snapshot printed
elsewhere.
*/
export function scanRoot(args: readonly string[]): string | null {
	const parsed = scanArgv(args);
	if (
		parsed === null ||
		parsed.input.length > 0 ||
		parsed.flags.emulate !== undefined ||
		parsed.flags.replay !== undefined
	) {
		return null; // Meow's to answer, a subcommand (emulate, nudge, wait ...), or another source.
	}

	return parsed.flags.root ?? '/';
}

/** Start what can start before the modules are loaded; returns whether a helper was started. */
export function startEarly(args: readonly string[]): boolean {
	const root = scanRoot(args);
	return root !== null && prewarmWalkHelper(root);
}
