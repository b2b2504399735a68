#!/usr/bin/env node
/*
Single-file bundle: `node scripts/bundle.mjs [--outfile dist/klptop.mjs]`.

Bundles cli.tsx and every dependency (Ink, React, meow, yoga's WebAssembly) into one ES module that
runs with a bare `node` >= 20 and no node_modules: copy it to a host (`scp dist/klptop.mjs host:`)
and run `node klptop.mjs --once`.

- ESM output, because Ink's layout engine (yoga-layout) and cli.tsx use top-level await.
- A `require` made with createRequire, for the CommonJS dependencies that require Node built-ins.
- `react-devtools-core` is replaced by a no-op: Ink loads it only when DEV=true (React DevTools), and
  an environment that happens to set DEV=true must not break the bundle.
- The walk helper thread's program is bundled on its own and embedded as a string (a worker
  started with `eval`): one file has no module beside it.
- NODE_ENV is fixed to "production" (React's production build: smaller and faster).
- `--sea`: the variant embedded in the standalone executable (scripts/sea.mjs): there the module is
  evaluated from a data: URL, so `import.meta` is replaced by a copy whose `url` is the executable's
  file URL (the SEA entry puts it in globalThis.__klptopMetaUrl): meow and createRequire need a
  file: URL. A `sourceURL` comment names the module `klptop.mjs` in stack traces.
*/
import {mkdirSync, statSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {parseArgs} from 'node:util';
import {loadTool, projectRoot} from './build-tools.mjs';

/** Ink's optional React DevTools connection, stubbed out (see above). */
export const noDevtools = {
	name: 'no-react-devtools',
	setup(build) {
		build.onResolve({filter: /^react-devtools-core$/}, () => ({
			path: 'react-devtools-core',
			namespace: 'klptop-stub',
		}));
		build.onLoad({filter: /.*/, namespace: 'klptop-stub'}, () => ({
			contents: 'export default {initialize() {}, connectToDevTools() {}};',
			loader: 'js',
		}));
	},
};

/**
The walk helper thread's program (source/sources/walk-helper.ts) as one CommonJS script, for a
worker started with `eval`: a single file has no module beside it to load.
*/
export async function walkHelperSource({minify = true} = {}) {
	const esbuild = await loadTool('esbuild');
	const result = await esbuild.build({
		entryPoints: [path.join(projectRoot, 'source/sources/walk-helper.ts')],
		bundle: true,
		write: false,
		platform: 'node',
		format: 'cjs',
		target: 'node20',
		minify,
		legalComments: 'none',
		logLevel: 'warning',
	});
	return result.outputFiles[0].text;
}

export async function bundle({outfile, sea = false, minify = true}) {
	const esbuild = await loadTool('esbuild');
	mkdirSync(path.dirname(outfile), {recursive: true});
	const helperSource = await walkHelperSource({minify});
	const result = await esbuild.build({
		entryPoints: [path.join(projectRoot, 'cli.tsx')],
		outfile,
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		minify,
		keepNames: false,
		legalComments: 'none',
		sourcemap: false,
		jsx: 'automatic',
		plugins: [noDevtools],
		define: {
			'process.env.NODE_ENV': '"production"',
			__KLPTOP_WALK_HELPER_SOURCE__: JSON.stringify(helperSource),
			...(sea ? {'import.meta': '__klptopImportMeta'} : {}),
		},
		banner: {
			js: [
				`import {createRequire as __klptopCreateRequire} from 'node:module';`,
				sea
					? `const __klptopImportMeta = {...import.meta, url: globalThis.__klptopMetaUrl ?? import.meta.url};`
					: '',
				`const require = __klptopCreateRequire(${sea ? '__klptopImportMeta.url' : 'import.meta.url'});`,
			]
				.filter(Boolean)
				.join('\n'),
		},
		...(sea ? {footer: {js: '//# sourceURL=klptop.mjs'}} : {}),
		logLevel: 'warning',
		metafile: true,
	});
	return {outfile, bytes: statSync(outfile).size, metafile: result.metafile};
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	const {values} = parseArgs({
		options: {
			outfile: {type: 'string', default: path.join(projectRoot, 'dist', 'klptop.mjs')},
			sea: {type: 'boolean', default: false},
			'no-minify': {type: 'boolean', default: false},
		},
	});
	const {outfile, bytes} = await bundle({
		outfile: path.resolve(values.outfile),
		sea: values.sea,
		minify: !values['no-minify'],
	});
	console.error(`bundle: ${path.relative(process.cwd(), outfile)} (${(bytes / 1024).toFixed(0)} KiB)`);
}
