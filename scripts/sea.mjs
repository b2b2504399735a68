#!/usr/bin/env node
/*
Standalone executable for linux-x64, for hosts without Node.js:
`node scripts/sea.mjs [--output dist/sea/klptop-linux-x64] [--node PATH] [--no-strip]`.

Node's single executable application support (SEA, Node >= 20): a copy of the `node` binary with
a blob injected by postject. On Node 20 an SEA's entry script must be CommonJS, while klptop's
bundle is an ES module with top-level await (yoga-layout, cli.tsx). So the blob holds:
- the SEA variant of the single-file bundle (scripts/bundle.mjs --sea) as an asset, and
- a three-line CommonJS entry that reads the asset and `import()`s it from a data: URL, after
  setting globalThis.__klptopMetaUrl to the executable's own file URL (the bundle uses it wherever
  the code says `import.meta.url`).

The executable is the Node binary it was made from (`--node`, default this node), stripped of
its symbols when `strip` is available (about 12 MB less), plus the bundle. The blob must be made by
that same Node version, so `--experimental-sea-config` runs with it too.
*/
import {execFileSync} from 'node:child_process';
import {
	chmodSync,
	copyFileSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {parseArgs} from 'node:util';
import {bundle} from './bundle.mjs';
import {loadTool, projectRoot} from './build-tools.mjs';

/** The fuse postject flips so that the binary looks for its blob (Node's documented value). */
const sentinelFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const entrySource = `'use strict';
const {getAsset} = require('node:sea');
globalThis.__klptopMetaUrl = require('node:url').pathToFileURL(process.execPath).href;
import('data:text/javascript;base64,' + Buffer.from(getAsset('klptop.mjs')).toString('base64')).catch((error) => {
	console.error(error);
	process.exitCode = 70;
});
`;

function hasStrip() {
	try {
		execFileSync('strip', ['--version'], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
}

export async function buildSea({output, node = process.execPath, strip = true}) {
	if (process.platform !== 'linux' || process.arch !== 'x64') {
		throw new Error(
			`this script builds the linux-x64 executable on linux-x64 (this is ${process.platform}-${process.arch})`,
		);
	}

	const work = mkdtempSync(path.join(tmpdir(), 'klptop-sea-'));
	try {
		const bundled = await bundle({outfile: path.join(work, 'klptop.mjs'), sea: true});
		writeFileSync(path.join(work, 'entry.cjs'), entrySource);
		const blob = path.join(work, 'klptop.blob');
		writeFileSync(
			path.join(work, 'sea-config.json'),
			JSON.stringify({
				main: path.join(work, 'entry.cjs'),
				output: blob,
				disableExperimentalSEAWarning: true,
				useSnapshot: false,
				useCodeCache: false,
				assets: {'klptop.mjs': bundled.outfile},
			}),
		);
		execFileSync(node, ['--experimental-sea-config', path.join(work, 'sea-config.json')], {stdio: 'pipe'});

		mkdirSync(path.dirname(output), {recursive: true});
		rmSync(output, {force: true});
		copyFileSync(node, output);
		chmodSync(output, 0o755);
		const stripped = strip && hasStrip();
		if (stripped) {
			execFileSync('strip', [output]);
		}

		const postject = await loadTool('postject');
		const inject = postject.inject ?? postject.default?.inject;
		await inject(output, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse});
		return {output, bytes: statSync(output).size, bundleBytes: bundled.bytes, stripped};
	} finally {
		rmSync(work, {recursive: true, force: true});
	}
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	const {values} = parseArgs({
		options: {
			output: {type: 'string', default: path.join(projectRoot, 'dist', 'sea', 'klptop-linux-x64')},
			node: {type: 'string', default: process.execPath},
			'no-strip': {type: 'boolean', default: false},
		},
	});
	const result = await buildSea({
		output: path.resolve(values.output),
		node: values.node,
		strip: !values['no-strip'],
	});
	console.error(
		`sea: ${path.relative(process.cwd(), result.output)} (${(result.bytes / 1024 / 1024).toFixed(1)} MiB, ` +
			`bundle ${(result.bundleBytes / 1024).toFixed(0)} KiB${result.stripped ? ', stripped' : ''})`,
	);
}
