import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {cleanup} from 'ink-testing-library';
import {afterEach} from 'vitest';

// The walk helper thread runs compiled JavaScript (a worker cannot load these TypeScript sources):
// the one test/global-setup.ts built into dist/ (see source/sources/host-port.ts, helperProgram).
process.env['KLPTOP_WALK_HELPER'] ??= path.resolve(
	path.dirname(fileURLToPath(import.meta.url)),
	'../dist/source/sources/walk-helper.js',
);

afterEach(() => {
	cleanup();
});
