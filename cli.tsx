#!/usr/bin/env node
/*
klptop: top for Linux kernel livepatch transitions.

Thin on purpose (meow's and fast-cli's shape): parse flags, hand them to `source/cli/main.ts`, exit
with its code. The Ink UI is imported lazily by `main` so that `--once` never loads it.
*/
import {quietOnBrokenPipe} from './source/cli/broken-pipe.js';
import {startEarly} from './source/cli/early.js';
import {fastFlags} from './source/cli/argv.js';
import {flagSpec} from './source/cli/flag-spec.js';

// Before anything else is loaded: the first scan's helper thread boots meanwhile (early.ts).
quietOnBrokenPipe();
const args = process.argv.slice(2);
startEarly(args);
// `klptop --once [--json] [--root DIR]` and the dashboard's `klptop [--root DIR] [-d S]` need no meow
// (argv.ts); everything else does.
const fast = fastFlags(args);
if (fast === null) {
	const [{default: meow}, {helpText}, {main}, {description, version}] = await Promise.all([
		import('meow'),
		import('./source/cli/help.js'),
		import('./source/cli/main.js'),
		import('./source/version.js'),
	]);
	const cli = meow(helpText, {
		importMeta: import.meta,
		// Compiled in: a bundle or a standalone executable has no package.json beside it.
		pkg: {name: 'klptop', version, description},
		// Unknown flags reach main(), which names them the way klptop names every usage error.
		allowUnknownFlags: true,
		helpIndent: 0,
		flags: flagSpec,
	});
	process.exitCode = await main(cli.input, cli.flags);
} else {
	const {main} = await import('./source/cli/main.js');
	process.exitCode = await main(fast.input, fast.flags);
}
