/**
What klptop starts before it has even loaded its modules: for a one-shot scan of a directory tree
(`--once`, `-b`), the reader's helper thread, so that it has booted on another core by the time the
walk of /proc begins (see `prewarmWalkHelper`). Reads only the raw arguments: a wrong guess costs
one idle thread that ends by itself, never a different result.
*/
import {prewarmWalkHelper} from '../sources/host-port.js';

const oneShot = new Set(['--once', '-b', '--batch']);
/** Flags after which no host tree is walked (another source, or no scan at all). */
const otherSource = new Set(['--emulate', '--help', '-h', '--version', '-v']);

/** The root a one-shot scan of `args` would walk, or null when `args` is not such a scan. */
export function oneShotRoot(args: readonly string[]): string | null {
	let root = '/';
	let scan = false;
	for (let i = 0; i < args.length; i++) {
		const arg = args[i]!;
		if (i === 0 && !arg.startsWith('-')) {
			return null; // A subcommand (emulate, nudge, wait, export, capture ...).
		}

		if (otherSource.has(arg) || arg.startsWith('--emulate=')) {
			return null;
		}

		if (oneShot.has(arg)) {
			scan = true;
		} else if (arg === '--root') {
			root = args[i + 1] ?? '/';
			i++;
		} else if (arg.startsWith('--root=')) {
			root = arg.slice('--root='.length);
		}
	}

	return scan ? root : null;
}

/** Start what can start before the modules are loaded; returns whether a helper was started. */
export function startEarly(args: readonly string[]): boolean {
	const root = oneShotRoot(args);
	return root !== null && root !== '' && prewarmWalkHelper(root);
}
