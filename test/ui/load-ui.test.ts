import {spawnSync} from 'node:child_process';
import {pathToFileURL} from 'node:url';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {importWithoutFetch} from '../../source/ui/load-ui.js';

/** In a fresh node: import yoga-layout (Ink's layout engine), plainly or through `importWithoutFetch`. */
function yogaLoad(hidden: boolean): {undici: boolean; fetch: string; layout: number} {
	const loader = pathToFileURL(path.resolve('dist/source/ui/load-ui.js')).href;
	const script = [
		`import {importWithoutFetch} from ${JSON.stringify(loader)};`,
		`const load = async () => import('yoga-layout');`,
		`const {default: Yoga} = await (${hidden} ? importWithoutFetch(load) : load());`,
		`const node = Yoga.Node.create(); node.setWidth(42); node.calculateLayout();`,
		`console.log(JSON.stringify({undici: process.moduleLoadList.some((m) => m.includes('undici')), fetch: typeof fetch, layout: node.getComputedWidth()}));`,
	].join('\n');
	const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
		encoding: 'utf8',
		timeout: 30_000,
	});
	expect(run.stderr).toBe('');
	return JSON.parse(run.stdout) as {undici: boolean; fetch: string; layout: number};
}

describe('loading the UI', () => {
	it('hides fetch while the import evaluates, and puts it back after, whether it loads or fails', async () => {
		const original = globalThis.fetch;
		const seen = await importWithoutFetch(async () => typeof globalThis.fetch);
		expect(seen).toBe('undefined');
		expect(globalThis.fetch).toBe(original);
		await expect(
			importWithoutFetch(async () => {
				throw new Error('no such module');
			}),
		).rejects.toThrow('no such module');
		expect(globalThis.fetch).toBe(original);
	});

	it("yoga lays out the same without Node's fetch, which then never loads undici (and http, tls, zlib...)", () => {
		expect(yogaLoad(false)).toEqual({undici: true, fetch: 'function', layout: 42});
		expect(yogaLoad(true)).toEqual({undici: false, fetch: 'function', layout: 42});
	});
});
