#!/usr/bin/env node
/*
klptop: top for Linux kernel livepatch transitions.

Thin on purpose (meow's and fast-cli's shape): parse flags, hand them to `source/cli/main.ts`, exit
with its code. The Ink UI is imported lazily by `main` so that `--once` never loads it.
*/
import meow from 'meow';
import {helpText} from './source/cli/help.js';
import {main} from './source/cli/main.js';
import {description, version} from './source/version.js';

const cli = meow(helpText, {
	importMeta: import.meta,
	// Compiled in: a bundle or a standalone executable has no package.json beside it.
	pkg: {name: 'klptop', version, description},
	allowUnknownFlags: false,
	helpIndent: 0,
	flags: {
		root: {type: 'string'},
		emulate: {type: 'string'},
		kernel: {type: 'string'},
		threads: {type: 'number'},
		seed: {type: 'number'},
		at: {type: 'number'},
		once: {type: 'boolean', default: false},
		json: {type: 'boolean', default: false},
		delay: {type: 'number', shortFlag: 'd'},
		pid: {type: 'string'},
		tid: {type: 'string'},
		readonly: {type: 'boolean', default: false},
		color: {type: 'boolean', default: true},
		ascii: {type: 'boolean', default: false},
		list: {type: 'boolean', default: false},
		confirm: {type: 'string'},
		batch: {type: 'boolean', shortFlag: 'b', default: false},
		iterations: {type: 'number', shortFlag: 'n'},
		timeout: {type: 'number'},
		reverseOnTimeout: {type: 'boolean', default: false},
		textfile: {type: 'string'},
		listen: {type: 'string'},
		output: {type: 'string', shortFlag: 'o'},
		help: {type: 'boolean', shortFlag: 'h'},
		version: {type: 'boolean', shortFlag: 'v'},
	},
});

process.exitCode = await main(cli.input, cli.flags);
