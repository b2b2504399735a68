/**
No import cycles in the product (source/ and cli.tsx), type-only imports included: a cycle is how a
room stops having one purpose (the emulator's barrel and its mirror imported each other until
issue 13). madge reads the imports the way the compiler resolves them; the test also checks it
read the tree at all, so an empty graph cannot pass.
*/
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import madge from 'madge';
import {expect, it} from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

it('source/ and cli.tsx import each other without cycles', {timeout: 120_000}, async () => {
	const graph = await madge(['source', 'cli.tsx'], {
		baseDir: repoRoot,
		fileExtensions: ['ts', 'tsx'],
		tsConfig: path.join(repoRoot, 'tsconfig.json'),
	});
	const modules = Object.keys(graph.obj());
	expect(modules).toContain('cli.tsx');
	expect(modules).toContain('source/emulator/kernel.ts');
	expect(modules.length).toBeGreaterThan(80);
	// Every module of the product found its imports (a resolver that read nothing would see no cycle).
	expect(graph.obj()['source/emulator/kernel.ts']).toContain('source/emulator/kernel/sysfs.ts');
	expect(graph.circular()).toEqual([]);
});
