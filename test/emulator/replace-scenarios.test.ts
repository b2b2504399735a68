/**
The 6.11+ scenarios of the real-kernel tier (issue 14) on the emulator's 6.11 generation, the one the
tier's Debian 6.12 matches (`replace` file, no `stack_order`): what each stage leads to when the
operator then acts as the tier does.
*/
import {describe, expect, it} from 'vitest';
import {createEmulation, patchCatalog} from '../../source/emulator/index.js';
import {advanceUntil, attr, codeOf, notYetSwitched} from './helpers.js';

const lp = '/sys/kernel/livepatch';

describe('6.11+ scenarios (generation 6.11)', () => {
	it('replace-release: both patches listed during the transition, replace 1 on the new one; the old one goes', () => {
		const emulation = createEmulation('replace-release', {kernel: '6.11', seed: 2});
		emulation.advance(3000);
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch_v2')).toEqual([182]);
		expect(attr(emulation.port, 'klp_sleeper_patch', 'enabled')).toBe('1');
		expect(attr(emulation.port, 'klp_sleeper_patch', 'transition')).toBe('0');
		expect(attr(emulation.port, 'klp_sleeper_patch_v2', 'replace')).toBe('1');
		expect(attr(emulation.port, 'klp_sleeper_patch', 'replace')).toBe('0');
		expect(attr(emulation.port, 'klp_sleeper_patch_v2', 'stack_order')).toBe('gone');
		emulation.kernel.write('/proc/klp_sleeper_ctl', 'release\n');
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch', 'enabled') === 'gone');
		expect(attr(emulation.port, 'klp_sleeper_patch_v2', 'transition')).toBe('0');
	});

	it('replace-reverse: reversing the replacement leaves the older patch applied', () => {
		const emulation = createEmulation('replace-reverse', {kernel: '6.11', seed: 2});
		emulation.advance(3000);
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch_v2')).toEqual([539]);
		emulation.kernel.write(`${lp}/klp_sleeper_patch_v2/enabled`, '0\n');
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch_v2', 'enabled') === 'gone');
		expect(attr(emulation.port, 'klp_sleeper_patch', 'enabled')).toBe('1');
		expect(attr(emulation.port, 'klp_sleeper_patch', 'transition')).toBe('0');
	});

	it('replace-force: forcing the replacement pins the replaced module; forcing its unpatching pins it too', () => {
		const emulation = createEmulation('replace-force', {kernel: '6.11', seed: 2});
		emulation.advance(3000);
		expect(notYetSwitched(emulation.port, 'klp_sleeper_patch_v2')).toEqual([539]);
		emulation.kernel.write(`${lp}/klp_sleeper_patch_v2/force`, '1\n');
		advanceUntil(emulation, () => attr(emulation.port, 'klp_vmlinux_patch', 'enabled') === 'gone');
		expect(codeOf(() => emulation.kernel.rmmod('klp_vmlinux_patch'))).toBe('EAGAIN');
		emulation.kernel.write(`${lp}/klp_sleeper_patch_v2/enabled`, '0\n');
		emulation.kernel.write(`${lp}/klp_sleeper_patch_v2/force`, '1\n');
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch_v2', 'enabled') === 'gone');
		expect(codeOf(() => emulation.kernel.rmmod('klp_sleeper_patch_v2'))).toBe('EAGAIN');
	});

	it('stack-order: a second, non-replace patch stacks; 6.11 shows no stack_order file', () => {
		const emulation = createEmulation('stack-order', {kernel: '6.11', seed: 2});
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch', 'transition') === '0');
		emulation.kernel.insmod({...patchCatalog.klp_sleeper_patch_v2, replace: false});
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch_v2', 'transition') === '0');
		expect(attr(emulation.port, 'klp_sleeper_patch', 'enabled')).toBe('1');
		expect(attr(emulation.port, 'klp_sleeper_patch_v2', 'replace')).toBe('0');
		expect(attr(emulation.port, 'klp_sleeper_patch_v2', 'stack_order')).toBe('gone');
	});

	it('late-module: the object of a module loaded after its patch reads patched 0, 1, then 0', () => {
		const emulation = createEmulation('late-module', {kernel: '6.11', seed: 2});
		advanceUntil(emulation, () => attr(emulation.port, 'klp_late_patch', 'transition') === '0');
		const patched = () => emulation.port.readFile(`${lp}/klp_late_patch/klp_late/patched`).trim();
		expect(patched()).toBe('0');
		emulation.kernel.loadModule('klp_late');
		expect(patched()).toBe('1');
		emulation.kernel.rmmod('klp_late');
		expect(patched()).toBe('0');
	});

	it('the end of a transition takes condReschedDisableMs on 6.4-6.15 (static calls rewritten), not on 6.1', () => {
		const endsAfter = (kernel: '6.1' | '6.11') => {
			const emulation = createEmulation('release', {kernel, seed: 2, condReschedDisableMs: [3000, 3000]});
			emulation.advance(3000);
			emulation.kernel.write('/proc/klp_sleeper_ctl', 'release\n');
			advanceUntil(emulation, () => notYetSwitched(emulation.port, 'klp_sleeper_patch').length === 0);
			return advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch', 'transition') === '0');
		};

		expect(endsAfter('6.11')).toBeGreaterThanOrEqual(3000);
		expect(endsAfter('6.1')).toBeLessThan(1500);
	});
});
