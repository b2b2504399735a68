/*
Shared by the delivery scripts: load a build tool (esbuild, postject) from the project's
node_modules, or from an extra node_modules directory named by KLPTOP_BUILD_TOOLS (to try the
scripts before the tools are devDependencies).
*/
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

export async function loadTool(name) {
	try {
		return await import(name);
	} catch (error) {
		const extra = process.env.KLPTOP_BUILD_TOOLS;
		if (extra) {
			const require = createRequire(path.join(path.resolve(extra), 'noop.js'));
			return import(pathToFileURL(require.resolve(name)).href);
		}

		throw new Error(`${name} is not installed (it is a devDependency of klptop: npm ci): ${error.message}`);
	}
}

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
