/**
Kernel generations (kernel-livepatch.md §1): which attributes exist, which messages are printed,
whether fake signals run, re-enabling, and what `force` pins.
*/
import {describe, expect, it} from 'vitest';
import {createEmulation, kernelGenerations} from '../../source/emulator/index.js';
import {advanceUntil, asyncCodeOf, attr, codeOf, livepatchLines} from './helpers.js';

const patchDir = '/sys/kernel/livepatch/klp_sleeper_patch';

describe('attributes by generation', () => {
	const expected: Record<string, {patch: string[]; object: string[]}> = {
		'4.12': {patch: ['enabled', 'klp_sleeper', 'transition'], object: []},
		'4.16': {patch: ['enabled', 'force', 'klp_sleeper', 'signal', 'transition'], object: []},
		'5.1': {patch: ['enabled', 'force', 'klp_sleeper', 'transition'], object: []},
		'6.1': {patch: ['enabled', 'force', 'klp_sleeper', 'transition'], object: ['patched']},
		'6.11': {patch: ['enabled', 'force', 'klp_sleeper', 'replace', 'transition'], object: ['patched']},
		'6.14': {
			patch: ['enabled', 'force', 'klp_sleeper', 'replace', 'stack_order', 'transition'],
			object: ['patched'],
		},
		'6.16': {
			patch: ['enabled', 'force', 'klp_sleeper', 'replace', 'stack_order', 'transition'],
			object: ['patched'],
		},
	};

	it.each(kernelGenerations)('%s', (kernel) => {
		const {port} = createEmulation('stuck-interruptible', {kernel});
		expect(port.readdir(patchDir).sort()).toEqual(expected[kernel]!.patch);
		const functions = ['klp_sleeper_kthread_wait,1', 'klp_sleeper_wait,1', 'klp_sleeper_wait_killable,1'];
		expect(port.readdir(`${patchDir}/klp_sleeper`).sort()).toEqual(
			[...functions, ...expected[kernel]!.object].sort(),
		);
		const hidden = kernel === '4.12' || kernel === '4.16';
		expect(port.readFile('/proc/182/stack').split('\n')[0]).toMatch(
			hidden
				? /^\[<ffffffffc[0-9a-f]{7}>\] klp_sleeper_wait\+0xb4\/0x14c \[klp_sleeper\]$/
				: /^\[<0>\] klp_sleeper_wait\+/,
		);
	});

	it('replace and stack_order values (6.14)', () => {
		const {port} = createEmulation('replace', {kernel: '6.14'});
		expect(attr(port, 'klp_sleeper_patch', 'replace')).toBe('0');
		expect(attr(port, 'klp_sleeper_patch', 'stack_order')).toBe('1');
		expect(attr(port, 'klp_sleeper_patch_v2', 'replace')).toBe('1');
		expect(attr(port, 'klp_sleeper_patch_v2', 'stack_order')).toBe('2');
	});
});

describe('messages by generation', () => {
	it('4.12 prints the old start line, no pr_debug transition lines, and stack messages from klp_check_stack', () => {
		const emulation = createEmulation('stuck-interruptible', {kernel: '4.12'});
		expect(livepatchLines(emulation)).toEqual([
			"enabling patch 'klp_sleeper_patch'",
			"'klp_sleeper_patch': patching...",
			'klp_check_stack: cat:182 is sleeping on function klp_sleeper_wait',
			'klp_try_switch_task: swapper/0:0 is running',
		]);
	});

	it('5.1 still uses the klp_check_stack prefix; 5.16+ all come from klp_try_switch_task', () => {
		expect(livepatchLines(createEmulation('stuck-interruptible', {kernel: '5.1'}))).toContain(
			'klp_check_stack: cat:182 is sleeping on function klp_sleeper_wait',
		);
		expect(livepatchLines(createEmulation('stuck-interruptible', {kernel: '6.16'}))).toContain(
			'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait',
		);
	});
});

describe('fake signals and the signal attribute', () => {
	it('4.12 and 4.16 never signal on their own', () => {
		for (const kernel of ['4.12', '4.16'] as const) {
			const emulation = createEmulation('stuck-interruptible', {kernel});
			emulation.advance(40_000);
			expect(attr(emulation.port, 'klp_sleeper_patch', 'transition')).toBe('1');
			expect(livepatchLines(emulation)).not.toContain('signaling remaining tasks');
		}
	});

	it('4.16: writing 1 to signal sends the round now; elsewhere EINVAL', async () => {
		const emulation = createEmulation('stuck-interruptible', {kernel: '4.16'});
		const {control, port} = emulation;
		emulation.advance(3000);
		await control.write(`${patchDir}/signal`, '1');
		expect(livepatchLines(emulation)).toContain('signaling remaining tasks');
		advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 1200);
		expect(await asyncCodeOf(control.write(`${patchDir}/signal`, '1'))).toBe('EINVAL');
		expect(codeOf(() => port.readFile(`${patchDir}/signal`))).toBe('EACCES');
	});

	it('5.1+ signals every 15 failed attempts, logging only the first round', () => {
		const emulation = createEmulation('stuck-killable', {kernel: '5.1', seed: 3});
		emulation.advance(47_000);
		expect(livepatchLines(emulation).filter((line) => line === 'signaling remaining tasks')).toHaveLength(1);
		const attempts = livepatchLines(emulation).filter((line) =>
			line.includes('is sleeping on function'),
		).length;
		expect(attempts).toBeGreaterThanOrEqual(46);
	});

	it('4.12 has no force attribute', async () => {
		const emulation = createEmulation('stuck-killable', {kernel: '4.12'});
		expect(await asyncCodeOf(emulation.control.write(`${patchDir}/force`, '1'))).toBe('ENOENT');
	});
});

describe('re-enable and force pinning', () => {
	it('before 5.1 a disabled patch stays registered and can be enabled again', async () => {
		for (const kernel of ['4.12', '4.16'] as const) {
			const emulation = createEmulation('quick', {kernel});
			const {control, port, kernel: k} = emulation;
			emulation.advance(3000);
			await control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '0');
			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'transition') === '0', 3000);
			emulation.advance(100);
			expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('0');
			expect(port.readFile('/sys/module/klp_vmlinux_patch/refcnt')).toBe('0\n');
			await control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '1');
			expect(
				livepatchLines(emulation).filter((line) => line === "enabling patch 'klp_vmlinux_patch'"),
			).toHaveLength(2);
			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'transition') === '0', 3000);
			expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('1');
			await control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '0');
			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'transition') === '0', 3000);
			emulation.advance(100);
			// rmmod unregisters the patch: only then does its directory go.
			k.rmmod('klp_vmlinux_patch');
			expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('gone');
		}
	});

	it('5.1+ refuses to re-enable (the directory is gone; during the free window EINVAL)', async () => {
		const emulation = createEmulation('quick', {kernel: '5.1'});
		const {control, port} = emulation;
		emulation.advance(3000);
		await control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '0');
		advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'enabled') === 'gone', 3000, 1);
		expect(await asyncCodeOf(control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '1'))).toBe(
			'ENOENT',
		);
	});

	it('before 5.18 a forced patching transition pins the module; since 5.18 it does not', async () => {
		for (const [kernel, afterwards] of [
			['5.1', 'EAGAIN'],
			['6.1', 'ok'],
		] as const) {
			const emulation = createEmulation('force', {kernel});
			const {control, port} = emulation;
			await control.write(`${patchDir}/force`, '1');
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 2000);
			emulation.kernel.release();
			emulation.advance(50);
			await control.write(`${patchDir}/enabled`, '0');
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone', 3000);
			expect(codeOf(() => emulation.kernel.rmmod('klp_sleeper_patch'))).toBe(afterwards);
		}
	});
});

describe('scheduling hooks', () => {
	it('a busy kthread blocks 6.1 ("is running") but switches in cond_resched() on 6.11', () => {
		for (const [kernel, transition] of [
			['6.1', '1'],
			['6.11', '0'],
		] as const) {
			const emulation = createEmulation('quick', {kernel});
			const {kernel: k, port} = emulation;
			emulation.advance(3000);
			// Spinning on CPU 1 while insmod (CPU 0) and the retries (kworker on CPU 0) look at it.
			k.spawn({pid: 900, comm: 'busy_kthread', kthread: true, cpu: 1});
			k.insmod(
				{
					name: 'klp_other',
					objects: [{name: 'vmlinux', funcs: [{old: 'meminfo_proc_show', new: 'livepatch_meminfo'}]}],
				},
				{cpu: 0},
			);
			emulation.advance(5000);
			expect(attr(port, 'klp_other', 'transition')).toBe(transition);
			if (transition === '1') {
				expect(livepatchLines(emulation).at(-1)).toBe('klp_try_switch_task: busy_kthread:900 is running');
			}
		}
	});
});
