// The compiled-in version (used where no package.json is beside the program: the bundle and the
// standalone executable) must be package.json's.
import {readFileSync} from 'node:fs';
import {expect, it} from 'vitest';
import {description, version} from '../../source/version.js';

it('equals package.json', () => {
	const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
		version: string;
		description: string;
	};
	expect(version).toBe(pkg.version);
	expect(description).toBe(pkg.description);
});
