// No import cycles under source/ (ARCHITECTURE.md: dependencies go one way between folders and
// files). Reads the import statements itself: a cycle through type-only imports counts too, since
// it ties two rooms together as surely for a reader as one that runs.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		return entry.isDirectory() ? sourceFiles(full) : /\.tsx?$/.test(entry.name) ? [full] : [];
	});
}

/** Relative imports and re-exports of a file, resolved to source files. */
function importsOf(file: string): string[] {
	const text = fs.readFileSync(file, 'utf8');
	const out: string[] = [];
	for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
		const target = path.resolve(path.dirname(file), match[1]!).replace(/\.js$/, '');
		const found = ['.ts', '.tsx'].map((ext) => target + ext).find((candidate) => fs.existsSync(candidate));
		if (found) out.push(found);
	}

	for (const match of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
		const target = path.resolve(path.dirname(file), match[1]!).replace(/\.js$/, '');
		const found = ['.ts', '.tsx'].map((ext) => target + ext).find((candidate) => fs.existsSync(candidate));
		if (found) out.push(found);
	}

	return out;
}

/** Every cycle's files, by Tarjan's strongly connected components (components of more than one file, or a self-import). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
	let index = 0;
	const indices = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (node: string): void => {
		indices.set(node, index);
		low.set(node, index);
		index++;
		stack.push(node);
		onStack.add(node);
		for (const next of graph.get(node) ?? []) {
			if (!indices.has(next)) {
				visit(next);
				low.set(node, Math.min(low.get(node)!, low.get(next)!));
			} else if (onStack.has(next)) {
				low.set(node, Math.min(low.get(node)!, indices.get(next)!));
			}
		}

		if (low.get(node) === indices.get(node)) {
			const component: string[] = [];
			let member: string;
			do {
				member = stack.pop()!;
				onStack.delete(member);
				component.push(member);
			} while (member !== node);
			if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
		}
	};

	for (const node of graph.keys()) if (!indices.has(node)) visit(node);
	return found;
}

describe('the import graph of source/ and cli.tsx', () => {
	it('finds a cycle where there is one (the checker itself)', () => {
		const graph = new Map([
			['a', ['b']],
			['b', ['c']],
			['c', ['a']],
			['d', ['a']],
			['e', ['e']],
		]);
		expect(cycles(graph)).toEqual([['a', 'b', 'c'], ['e']]);
	});

	it('has no cycle', () => {
		const files = [...sourceFiles(path.join(root, 'source')), path.join(root, 'cli.tsx')];
		const graph = new Map(files.map((file) => [file, importsOf(file)]));
		// The reading of imports must have found the real graph, not an empty one.
		expect([...graph.values()].flat().length).toBeGreaterThan(files.length);
		const named = cycles(graph).map((component) => component.map((file) => path.relative(root, file)));
		expect(named).toEqual([]);
	});
});
