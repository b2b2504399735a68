/**
kstrtobool (source/emulator/kernel/sysfs.ts), the parser behind every livepatch sysfs store
(kernel-livepatch.md §2.3): the first character decides (1 y Y / 0 n N), `on`/`off` need the second,
t/T/f/F only on generations that accept them; anything else is EINVAL.
*/
import {describe, expect, it} from 'vitest';
import {kstrtobool} from '../../../source/emulator/kernel/sysfs.js';
import {errorCode} from '../../../source/sources/fs-port.js';

function codeOf(run: () => unknown): string | undefined {
	try {
		run();
		return undefined;
	} catch (error) {
		return errorCode(error);
	}
}

describe('kstrtobool', () => {
	it.each(['1', '1\n', 'y', 'Y', 'yes', 'on', 'ON', 'On\n'])('%j is true', (value) => {
		expect(kstrtobool(value, false)).toBe(true);
	});

	it.each(['0', '0\n', 'n', 'N', 'no', 'off', 'OFF'])('%j is false', (value) => {
		expect(kstrtobool(value, false)).toBe(false);
	});

	it('takes t/T/f/F only where the generation does', () => {
		expect(kstrtobool('true', true)).toBe(true);
		expect(kstrtobool('F', true)).toBe(false);
		expect(codeOf(() => kstrtobool('true', false))).toBe('EINVAL');
		expect(codeOf(() => kstrtobool('f', false))).toBe('EINVAL');
	});

	it.each(['', '\n', '2', 'o', 'ox', ' 1', 'x'])('%j is EINVAL', (value) => {
		expect(codeOf(() => kstrtobool(value, true))).toBe('EINVAL');
	});
});
