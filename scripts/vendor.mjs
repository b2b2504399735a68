#!/usr/bin/env node
/*
Ink, pre-bundled for dist/: `node scripts/vendor.mjs [--dist dist]`, the second step of `npm run build`.

Ink imports `throttle` from `es-toolkit/compat`, whose entry re-exports every function of the
library: loading Ink from node_modules loads 520 modules through Node's ES module loader (415 of
them es-toolkit's), about 0.5 s of the dashboard's start on one core, while the first scan needs
that core too (issue 12 §3). This bundles Ink and @alcalzone/ink-table into `dist/vendor/ink.js`
(one module, es-toolkit cut down to what Ink uses) and points dist's imports of them at it.

- React, react-reconciler and yoga-layout stay outside, loaded from node_modules: one React for the
  views and for Ink (two would break hooks), and yoga's WebAssembly as it ships.
- `react-devtools-core` is stubbed as in the single-file bundle (scripts/bundle.mjs).
- A `require` made with createRequire, for the CommonJS parts that require Node built-ins.
- The rewrite covers `from 'ink'` and `from '@alcalzone/ink-table'` in every dist/ module outside
  vendor/; any other import of them left in dist/ fails the build.
*/
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {parseArgs} from 'node:util';
import {loadTool, projectRoot} from './build-tools.mjs';
import {noDevtools} from './bundle.mjs';

/** The packages the vendor module stands for. */
const vendored = ['ink', '@alcalzone/ink-table'];

/** dist/'s JavaScript files outside `vendor/`. */
function modulesOf(dist) {
	const out = [];
	const walk = (dir) => {
		for (const entry of readdirSync(dir, {withFileTypes: true})) {
			const file = path.join(dir, entry.name);
			if (entry.isDirectory()) {
				if (file !== path.join(dist, 'vendor')) walk(file);
			} else if (entry.name.endsWith('.js')) {
				out.push(file);
			}
		}
	};

	walk(dist);
	return out;
}

export async function vendor({dist}) {
	const esbuild = await loadTool('esbuild');
	const outfile = path.join(dist, 'vendor', 'ink.js');
	mkdirSync(path.dirname(outfile), {recursive: true});
	const result = await esbuild.build({
		stdin: {
			contents: vendored.map((name) => `export * from '${name}';`).join('\n'),
			resolveDir: projectRoot,
			loader: 'js',
		},
		outfile,
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		external: ['react', 'react/*', 'react-reconciler', 'react-reconciler/*', 'yoga-layout'],
		plugins: [noDevtools],
		banner: {
			js: [
				`import {createRequire as __klptopCreateRequire} from 'node:module';`,
				`const require = __klptopCreateRequire(import.meta.url);`,
			].join('\n'),
		},
		legalComments: 'none',
		logLevel: 'warning',
		metafile: true,
	});

	const names = vendored.map((name) => name.replace('/', '\\/')).join('|');
	const importOf = new RegExp(`(\\bfrom\\s*)'(${names})'`, 'g');
	const leftover = new RegExp(`['"](${names})['"]`);
	let rewritten = 0;
	for (const file of modulesOf(dist)) {
		const text = readFileSync(file, 'utf8');
		let specifier = path.relative(path.dirname(file), outfile);
		if (!specifier.startsWith('.')) specifier = `./${specifier}`;
		const out = text.replace(importOf, (_, from) => `${from}'${specifier}'`);
		if (leftover.test(out)) {
			throw new Error(
				`${path.relative(dist, file)}: an import of ${vendored.join(' or ')} this script does not rewrite`,
			);
		}

		if (out !== text) {
			writeFileSync(file, out);
			rewritten++;
		}
	}

	return {outfile, inputs: Object.keys(result.metafile.inputs).length, rewritten};
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	const {values} = parseArgs({options: {dist: {type: 'string', default: path.join(projectRoot, 'dist')}}});
	const {outfile, inputs, rewritten} = await vendor({dist: path.resolve(values.dist)});
	console.error(
		`vendor: ${path.relative(process.cwd(), outfile)} (${inputs} modules in one), ${rewritten} dist modules import it`,
	);
}
