/**
The eight observed scenarios of kernel-livepatch.md §8 (S1-S8, Debian 6.1.0-56 under QEMU),
replayed on the emulated kernel: values (enabled/transition/patch_state histograms), errors,
lifecycle, exact log lines in order, and the 1 s / 15 s cadence. Each scenario only sets the
stage; everything after t=0 follows from the kernel rules and the actions taken here.
*/
import {describe, expect, it} from 'vitest';
import {createEmulation, patchCatalog, spawnReader} from '../../source/emulator/index.js';
import {errorCode} from '../../source/sources/fs-port.js';
import {
	advanceToFraction,
	advanceUntil,
	asyncCodeOf,
	attr,
	codeOf,
	histogram,
	livepatchLines,
	log,
	notYetSwitched,
	stampOf,
	statusField,
	uptimeUs,
} from './helpers.js';

const seeds = [1, 2, 3, 4, 5, 6, 7, 8];

describe('S1 quick: vmlinux patch, no sleepers', () => {
	it('shows every visible task switched from the first poll and completes in 1.1-2.3 s', () => {
		for (const seed of seeds) {
			const emulation = createEmulation('quick', {seed});
			const {port} = emulation;
			expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('1');
			expect(attr(port, 'klp_vmlinux_patch', 'transition')).toBe('1');
			expect(histogram(port)).toEqual({'-1': 0, '0': 0, '1': 52});
			expect(notYetSwitched(port, 'klp_vmlinux_patch')).toEqual([]);
			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'transition') === '0');
			const took = (uptimeUs(emulation) - stampOf(emulation, "enabling patch 'klp_vmlinux_patch'")) / 1e6;
			expect(took).toBeGreaterThanOrEqual(1.1);
			expect(took).toBeLessThanOrEqual(2.3);
			expect(histogram(port)).toEqual({'-1': 52, '0': 0, '1': 0});
		}
	});

	it('logs the observed sequence, held by the running idle task', () => {
		const emulation = createEmulation('quick', {seed: 11});
		emulation.advance(3000);
		expect(livepatchLines(emulation)).toEqual([
			"enabling patch 'klp_vmlinux_patch'",
			"'klp_vmlinux_patch': initializing patching transition",
			"'klp_vmlinux_patch': starting patching transition",
			'klp_try_switch_task: swapper/0:0 is running',
			"'klp_vmlinux_patch': completing patching transition",
			"'klp_vmlinux_patch': patching complete",
		]);
		const kmsg = emulation.port.readKmsg()!;
		expect(kmsg.find((line) => line.includes('starting patching'))).toMatch(
			/^5,\d+,\d+,-;livepatch: 'klp_vmlinux_patch': starting patching transition$/,
		);
		expect(kmsg.find((line) => line.includes('initializing'))).toMatch(/^7,/);
	});

	it('exposes the 6.1 sysfs layout and the patched /proc/cmdline', () => {
		const emulation = createEmulation('quick');
		const {port} = emulation;
		expect(port.readdir('/sys/kernel/livepatch')).toEqual(['klp_vmlinux_patch']);
		expect(port.readdir('/sys/kernel/livepatch/klp_vmlinux_patch').sort()).toEqual([
			'enabled',
			'force',
			'transition',
			'vmlinux',
		]);
		expect(port.readdir('/sys/kernel/livepatch/klp_vmlinux_patch/vmlinux').sort()).toEqual([
			'cmdline_proc_show,1',
			'patched',
		]);
		expect(port.readFile('/sys/kernel/livepatch/klp_vmlinux_patch/vmlinux/patched')).toBe('1\n');
		expect(codeOf(() => port.readFile('/sys/kernel/livepatch/klp_vmlinux_patch/force'))).toBe('EACCES');
		expect(port.readFile('/proc/sys/kernel/osrelease')).toBe('6.1.0-56-amd64\n');
		emulation.advance(3000);
		expect(port.readFile('/proc/cmdline')).toBe('[klp_vmlinux_patch active] /proc/cmdline is live patched\n');
		expect(port.readFile('/proc/sys/kernel/tainted')).toBe('45056\n');
	});

	it('disable: the directory is gone 1.1-1.7 s after echo 0, then rmmod works', async () => {
		for (const seed of seeds) {
			const emulation = createEmulation('quick', {seed});
			const {port, kernel} = emulation;
			emulation.advance(3000);
			expect(codeOf(() => kernel.rmmod('klp_vmlinux_patch'))).toBe('EAGAIN');
			// Written right after a retry tick, as on the idle guest.
			advanceToFraction(emulation, kernel.jiffyPhaseUs / 1e6 + 0.12);
			const writtenAt = uptimeUs(emulation);
			await emulation.control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '0\n');
			expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('0');
			expect(attr(port, 'klp_vmlinux_patch', 'transition')).toBe('1');
			advanceUntil(emulation, () => attr(port, 'klp_vmlinux_patch', 'enabled') === 'gone');
			const took = (uptimeUs(emulation) - writtenAt) / 1e6;
			expect(took).toBeGreaterThanOrEqual(1.1);
			expect(took).toBeLessThanOrEqual(1.7);
			expect(codeOf(() => kernel.rmmod('klp_vmlinux_patch'))).toBe('ok');
			expect(port.readFile('/proc/cmdline')).not.toContain('live patched');
			expect(livepatchLines(emulation, writtenAt)).toEqual([
				"'klp_vmlinux_patch': initializing unpatching transition",
				"'klp_vmlinux_patch': starting unpatching transition",
				'klp_try_switch_task: swapper/0:0 is running',
				"'klp_vmlinux_patch': completing unpatching transition",
				"'klp_vmlinux_patch': unpatching complete",
			]);
		}
	});
});

describe('S2 interruptible sleeper, cleared by SIGSTOP/SIGCONT', () => {
	it('shows cat 182 as the only not-yet-switched task, sleeping in klp_sleeper_wait', () => {
		const emulation = createEmulation('stuck-interruptible');
		const {port} = emulation;
		expect(attr(port, 'klp_sleeper_patch', 'transition')).toBe('1');
		expect(histogram(port)).toEqual({'-1': 0, '0': 1, '1': 52});
		expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([182]);
		expect(port.readFile('/proc/182/task/182/wchan')).toBe('klp_sleeper_wait');
		expect(statusField(port, 182, 'State')).toBe('S (sleeping)');
		expect(port.readFile('/proc/182/cmdline')).toBe('cat\0/proc/klp_sleeper\0');
		const stack = port.readFile('/proc/182/task/182/stack').split('\n');
		expect(stack.slice(0, 4)).toEqual([
			'[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]',
			'[<0>] do_sleep_read.cold+0x28/0x8a [klp_sleeper]',
			'[<0>] proc_reg_read+0x56/0xa0',
			'[<0>] vfs_read+0xa5/0x310',
		]);
		expect(stack.at(-2)).toMatch(/^\[<0>\] entry_SYSCALL_64_after_hwframe\+0x/);
		expect(port.readdir('/sys/kernel/livepatch/klp_sleeper_patch/klp_sleeper').sort()).toEqual([
			'klp_sleeper_kthread_wait,1',
			'klp_sleeper_wait,1',
			'klp_sleeper_wait_killable,1',
			'patched',
		]);
	});

	it('retries about once per second, on whole-second boundaries', () => {
		const emulation = createEmulation('stuck-interruptible', {seed: 5});
		emulation.advance(10_000);
		const phase = emulation.kernel.jiffyPhaseUs;
		const tries = log(emulation)
			.filter(
				(record) =>
					record.text === 'livepatch: klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait',
			)
			.map((record) => record.us);
		expect(tries.length).toBeGreaterThanOrEqual(10);
		// The first is the synchronous try inside insmod; the rest come from the delayed work.
		for (const stamp of tries.slice(1)) {
			const intoSecond = (((stamp - phase) % 1e6) + 1e6) % 1e6;
			expect(intoSecond).toBeLessThan(30_000);
		}

		for (let index = 2; index < tries.length; index++) {
			const gap = tries[index]! - tries[index - 1]!;
			expect(gap).toBeGreaterThan(970_000);
			expect(gap).toBeLessThan(1_030_000);
		}
	});

	it('SIGSTOP switches the reader on its way out; SIGCONT re-runs read() in patched_wait', async () => {
		for (const seed of seeds) {
			const emulation = createEmulation('stuck-interruptible', {seed});
			const {port, control} = emulation;
			emulation.advance(4000);
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([182]);
			await control.kill(182, 'SIGSTOP');
			emulation.advance(20);
			expect(statusField(port, 182, 'State')).toBe('T (stopped)');
			expect(port.readFile('/proc/182/wchan')).toBe('do_signal_stop');
			expect(port.readFile('/proc/182/task/182/patch_state')).toBe('1\n');
			expect(histogram(port)).toEqual({'-1': 0, '0': 0, '1': 53});
			const took = advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0');
			expect(took).toBeLessThanOrEqual(1100);
			expect(port.readFile('/proc/182/task/182/patch_state')).toBe('-1\n');
			expect(
				port
					.readFile('/proc/182/stack')
					.split('\n')
					.slice(0, 5)
					.map((line) => line.replace(/\+0x.*/, '').replace('[<0>] ', '')),
			).toEqual([
				'do_signal_stop',
				'get_signal',
				'arch_do_signal_or_restart',
				'exit_to_user_mode_prepare',
				'syscall_exit_to_user_mode',
			]);
			await control.kill(182, 'SIGCONT');
			emulation.advance(10);
			expect(port.readFile('/proc/182/wchan')).toBe('patched_wait');
			expect(statusField(port, 182, 'State')).toBe('S (sleeping)');
			expect(port.readFile('/proc/182/stack').split('\n')[0]).toBe(
				'[<0>] patched_wait+0xcb/0x15a [klp_sleeper_patch]',
			);
			const texts = log(emulation).map((record) => record.text);
			expect(texts).toContain('klp_sleeper: ORIGINAL klp_sleeper_wait: pid 182 woke, ret=-512 sigpending=1');
			expect(texts.at(-1)).toBe(
				'klp_sleeper_patch: PATCHED klp_sleeper_wait: pid 182 (cat) going to sleep (interruptible)',
			);
			expect(livepatchLines(emulation).slice(-2)).toEqual([
				"'klp_sleeper_patch': completing patching transition",
				"'klp_sleeper_patch': patching complete",
			]);
		}
	});

	it('without help, the first fake-signal round comes 14.8-15.6 s after the start and clears it', () => {
		for (const seed of seeds) {
			const emulation = createEmulation('stuck-interruptible', {seed});
			const {port} = emulation;
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 20_000, 50);
			const start = stampOf(emulation, 'starting patching transition');
			const round = stampOf(emulation, 'signaling remaining tasks');
			expect((round - start) / 1e6).toBeGreaterThanOrEqual(14.8);
			expect((round - start) / 1e6).toBeLessThanOrEqual(15.6);
			const sleeping = livepatchLines(emulation).filter((line) => line.includes('is sleeping on function'));
			expect(sleeping).toHaveLength(16);
			expect(port.readFile('/proc/182/wchan')).toBe('patched_wait');
		}
	});
});

describe('S3 disable while the reader sleeps in the new function', () => {
	it('names the old function in the log while wchan shows patched_wait', () => {
		const emulation = createEmulation('unpatch-fake-signal');
		const {port} = emulation;
		expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('0');
		expect(attr(port, 'klp_sleeper_patch', 'transition')).toBe('1');
		expect(histogram(port)).toEqual({'-1': 0, '0': 52, '1': 1});
		expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([182]);
		expect(port.readFile('/proc/182/wchan')).toBe('patched_wait');
		expect(livepatchLines(emulation).at(-1)).toBe('klp_try_switch_task: swapper/0:0 is running');
		expect(livepatchLines(emulation)).toContain(
			'klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait',
		);
		expect(port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/klp_sleeper/patched')).toBe('1\n');
	});

	it('the automatic signal clears it; the whole disable takes 16.9-17.3 s; patched goes 1 -> 0', () => {
		for (const seed of seeds) {
			const emulation = createEmulation('unpatch-fake-signal', {seed});
			const {port} = emulation;
			const disabledAt = stampOf(emulation, 'initializing unpatching transition');
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone', 20_000, 10);
			const took = (uptimeUs(emulation) - disabledAt) / 1e6;
			expect(took).toBeGreaterThanOrEqual(16.75);
			expect(took).toBeLessThanOrEqual(17.3);
			const lines = log(emulation)
				.filter((record) => record.us >= disabledAt)
				.map((record) => record.text);
			const sleeping = lines.filter((line) =>
				line.endsWith('cat:182 is sleeping on function klp_sleeper_wait'),
			);
			expect(sleeping).toHaveLength(16);
			const tail = lines.slice(lines.indexOf('livepatch: signaling remaining tasks'));
			expect(tail).toEqual([
				'livepatch: signaling remaining tasks',
				'klp_sleeper_patch: PATCHED klp_sleeper_wait: pid 182 woke, ret=-512',
				'klp_sleeper: ORIGINAL klp_sleeper_wait: pid 182 (cat) going to sleep (interruptible)',
				"livepatch: 'klp_sleeper_patch': completing unpatching transition",
				"livepatch: 'klp_sleeper_patch': unpatching complete",
			]);
			expect(port.readFile('/proc/182/wchan')).toBe('klp_sleeper_wait');
			expect(codeOf(() => emulation.kernel.rmmod('klp_sleeper_patch'))).toBe('ok');
		}
	});

	it('the patched flag is 0 once unpatching completes (before the directory goes)', () => {
		const emulation = createEmulation('unpatch-fake-signal', {seed: 3});
		const {port} = emulation;
		const flags = new Set<string>();
		advanceUntil(
			emulation,
			() => {
				const value = attr(port, 'klp_sleeper_patch', 'klp_sleeper/patched');
				flags.add(value);
				return value === 'gone';
			},
			20_000,
			1,
		);
		expect([...flags]).toEqual(['1', '0', 'gone']);
	});
});

describe('S4 kthread sleeping in the function being patched', () => {
	it('is a kthread that signals cannot move; the 15 s round wakes it and it switches while napping', async () => {
		for (const seed of seeds.slice(0, 4)) {
			const emulation = createEmulation('stuck-kthread', {seed});
			const {port, control} = emulation;
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([398]);
			const stat = port.readFile('/proc/398/stat');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			expect(stat.startsWith('398 (klp_sleeper_kt) S 2 ')).toBe(true);
			expect(Number(fields[6]) & 0x00200000).toBe(0x00200000);
			expect(
				port
					.readFile('/proc/398/stack')
					.split('\n')
					.filter(Boolean)
					.map((line) => line.replace('[<0>] ', '')),
			).toEqual([
				'klp_sleeper_kthread_wait+0x4b/0x50 [klp_sleeper]',
				expect.stringMatching(/^kt_main\+0x[0-9a-f]+\/0x[0-9a-f]+ \[klp_sleeper\]$/),
				'kthread+0xd7/0x100',
				'ret_from_fork+0x1f/0x30',
			]);
			await control.kill(398, 'SIGSTOP');
			emulation.advance(1500);
			expect(statusField(port, 398, 'State')).toBe('S (sleeping)');
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([398]);
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 20_000, 20);
			const start = stampOf(emulation, 'starting patching transition');
			expect((uptimeUs(emulation) - start) / 1e6).toBeGreaterThan(15);
			expect((uptimeUs(emulation) - start) / 1e6).toBeLessThan(16.7);
			const texts = log(emulation).map((record) => record.text);
			const round = texts.indexOf('livepatch: signaling remaining tasks');
			expect(texts.slice(round, round + 4)).toEqual([
				'livepatch: signaling remaining tasks',
				'klp_sleeper: ORIGINAL klp_sleeper_kthread_wait: kthread woke up',
				"livepatch: 'klp_sleeper_patch': completing patching transition",
				"livepatch: 'klp_sleeper_patch': patching complete",
			]);
			// Napping outside the function when it switched; back in the new one afterwards.
			expect(port.readFile('/proc/398/wchan')).toBe('msleep_interruptible');
			emulation.advance(3500);
			expect(port.readFile('/proc/398/wchan')).toBe('patched_kthread_wait');
		}
	});

	it('after the kthread is stopped, disabling takes under 2.3 s', async () => {
		const emulation = createEmulation('stuck-kthread', {seed: 2});
		const {port, kernel} = emulation;
		advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0', 20_000, 20);
		kernel.exit(398);
		await emulation.control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0');
		const took = advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone');
		expect(took).toBeGreaterThan(700);
		expect(took).toBeLessThan(2300);
	});
});

describe('S5 killable sleeper (D): signals do not help; reverse', () => {
	it('stays stuck through SIGSTOP/SIGCONT and the fake-signal round', async () => {
		const emulation = createEmulation('stuck-killable', {seed: 4});
		const {port, control} = emulation;
		expect(histogram(port)).toEqual({'-1': 0, '0': 1, '1': 52});
		expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([539]);
		expect(statusField(port, 539, 'State')).toBe('D (disk sleep)');
		expect(port.readFile('/proc/539/wchan')).toBe('klp_sleeper_wait_killable');
		await control.kill(539, 'SIGSTOP');
		emulation.advance(500);
		await control.kill(539, 'SIGCONT');
		emulation.advance(20_000);
		expect(statusField(port, 539, 'State')).toBe('D (disk sleep)');
		expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([539]);
		const texts = livepatchLines(emulation);
		expect(texts.filter((line) => line === 'signaling remaining tasks')).toHaveLength(1);
	});

	it('echo 0 reverses: enabled reads 0 at once, the switched tasks become pending, done in 1.15-2.26 s', async () => {
		for (const seed of seeds) {
			for (const position of [0.355, 0.6, 0.9]) {
				const emulation = createEmulation('stuck-killable', {seed});
				const {port, control, kernel} = emulation;
				emulation.advance(20_000);
				advanceToFraction(emulation, position);
				const writtenAt = uptimeUs(emulation);
				await control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0\n');
				expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('0');
				expect(attr(port, 'klp_sleeper_patch', 'transition')).toBe('1');
				expect(histogram(port)).toEqual({'-1': 0, '0': 1, '1': 52});
				expect(notYetSwitched(port, 'klp_sleeper_patch')).toHaveLength(52);
				advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone', 5000, 2);
				const took = (uptimeUs(emulation) - writtenAt) / 1e6;
				expect(took).toBeGreaterThanOrEqual(1.15);
				expect(took).toBeLessThanOrEqual(2.26);
				expect(
					livepatchLines(emulation, writtenAt).filter((line) => !line.includes('klp_try_switch_task')),
				).toEqual([
					"'klp_sleeper_patch': reversing transition from patching to unpatching",
					"'klp_sleeper_patch': starting unpatching transition",
					"'klp_sleeper_patch': completing unpatching transition",
					"'klp_sleeper_patch': unpatching complete",
				]);
				expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('ok');
			}
		}
	});
});

describe('S6 force a stuck patching transition', () => {
	it('moves every task to the target at once; completes at the next tick; the task keeps the old code', async () => {
		for (const seed of seeds) {
			const emulation = createEmulation('force', {seed});
			const {port, control, kernel} = emulation;
			emulation.advance(1660);
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([539]);
			const forcedAt = uptimeUs(emulation);
			await control.write('/sys/kernel/livepatch/klp_sleeper_patch/force', '1');
			expect(histogram(port)).toEqual({'-1': 0, '0': 0, '1': 53});
			expect(attr(port, 'klp_sleeper_patch', 'transition')).toBe('1');
			const took = advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0');
			expect(took).toBeLessThanOrEqual(1100);
			expect(histogram(port)).toEqual({'-1': 53, '0': 0, '1': 0});
			expect(livepatchLines(emulation, forcedAt)).toEqual([
				'forcing remaining tasks to the patched state',
				"'klp_sleeper_patch': completing patching transition",
				"'klp_sleeper_patch': patching complete",
			]);
			expect(port.readFile('/proc/539/stack').split('\n')[0]).toBe(
				'[<0>] klp_sleeper_wait_killable+0xb8/0x150 [klp_sleeper]',
			);
			expect(port.readFile('/proc/sys/kernel/tainted')).toBe('45056\n');
			// New readers get the new code; the forced one returns through the old code.
			spawnReader(kernel, 600, true);
			expect(port.readFile('/proc/600/wchan')).toBe('patched_wait_killable');
			await control.write('/proc/klp_sleeper_ctl', 'release\n');
			emulation.advance(10);
			const texts = log(emulation).map((record) => record.text);
			expect(texts).toContain('klp_sleeper: ORIGINAL klp_sleeper_wait_killable: pid 539 released');
			expect(texts).toContain('klp_sleeper_patch: PATCHED klp_sleeper_wait_killable: pid 600 released');
			// After a forced *patching*, the module can still be disabled and removed (5.18+).
			await control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', '0');
			advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone');
			expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('ok');
		}
	});

	it('force without a transition, or bad values, is EINVAL; 0 is a no-op', async () => {
		const emulation = createEmulation('quick');
		const {control} = emulation;
		const force = '/sys/kernel/livepatch/klp_vmlinux_patch/force';
		expect(await asyncCodeOf(control.write(force, 'x'))).toBe('EINVAL');
		expect(await asyncCodeOf(control.write(force, '0'))).toBe('ok');
		emulation.advance(3000);
		expect(await asyncCodeOf(control.write(force, '1'))).toBe('EINVAL');
		expect(livepatchLines(emulation)).not.toContain('forcing remaining tasks to the patched state');
	});
});

describe('S7 plain wakeup', () => {
	it('releasing the sleeper lets it leave; the transition completes at the next tick', async () => {
		for (const seed of seeds) {
			const emulation = createEmulation('release', {seed});
			const {port, control} = emulation;
			emulation.advance(3000);
			expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([182]);
			await control.write('/proc/klp_sleeper_ctl', 'release\n');
			const took = advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'transition') === '0');
			expect(took).toBeLessThanOrEqual(1120);
			expect(port.exists('/proc/182')).toBe(false);
			expect(livepatchLines(emulation)).not.toContain('signaling remaining tasks');
		}
	});

	it('the kernel method wakes the same way', () => {
		const emulation = createEmulation('release', {seed: 9});
		expect(emulation.kernel.release()).toBe(1);
		advanceUntil(emulation, () => attr(emulation.port, 'klp_sleeper_patch', 'transition') === '0', 1200);
	});
});

describe('S8 force an unpatching transition', () => {
	it('pins the patch module for good', async () => {
		const emulation = createEmulation('forced-unpatch', {seed: 6});
		const {port, control, kernel} = emulation;
		expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('0');
		expect(histogram(port)).toEqual({'-1': 0, '0': 52, '1': 1});
		expect(notYetSwitched(port, 'klp_sleeper_patch')).toEqual([848]);
		expect(port.readFile('/proc/848/wchan')).toBe('patched_wait_killable');
		expect(livepatchLines(emulation)).toContain(
			'klp_try_switch_task: cat:848 is sleeping on function klp_sleeper_wait_killable',
		);
		emulation.advance(2700);
		const forcedAt = uptimeUs(emulation);
		await control.write('/sys/kernel/livepatch/klp_sleeper_patch/force', '1\n');
		advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === 'gone');
		expect(livepatchLines(emulation, forcedAt)).toEqual([
			'forcing remaining tasks to the patched state',
			"'klp_sleeper_patch': completing unpatching transition",
			"'klp_sleeper_patch': unpatching complete",
		]);
		expect(port.readFile('/sys/module/klp_sleeper_patch/refcnt')).toBe('1\n');
		expect(port.readFile('/proc/modules')).toMatch(/^klp_sleeper_patch 16384 1 - Live/m);
		expect(port.readFile('/proc/modules')).toMatch(/^klp_sleeper 16384 1 klp_sleeper_patch, Live/m);
		for (let attempt = 0; attempt < 3; attempt++) {
			expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('EAGAIN');
			emulation.advance(1000);
		}

		// Even after the task leaves the function.
		kernel.release();
		emulation.advance(100);
		expect(port.exists('/proc/848')).toBe(false);
		expect(codeOf(() => kernel.rmmod('klp_sleeper_patch'))).toBe('EAGAIN');
	});
});

describe('errors of the enabled attribute (doc §2.3)', () => {
	it('EINVAL for the current value and for garbage; EBUSY for insmod and disable during another transition', async () => {
		const emulation = createEmulation('quick');
		const {control, kernel} = emulation;
		const enabled = '/sys/kernel/livepatch/klp_vmlinux_patch/enabled';
		expect(await asyncCodeOf(control.write(enabled, '1'))).toBe('EINVAL');
		expect(await asyncCodeOf(control.write(enabled, 'maybe'))).toBe('EINVAL');
		expect(await asyncCodeOf(control.write(enabled, ''))).toBe('EINVAL');
		emulation.advance(3000);
		spawnReader(kernel, 700, false);
		kernel.insmod(patchCatalog.klp_sleeper_patch);
		// Past the load's init window (it holds klp_mutex; see 'insmod windows').
		emulation.advance(100);
		expect(codeOf(() => kernel.insmod({...patchCatalog.klp_sleeper_patch, name: 'other_patch'}))).toBe(
			'EBUSY',
		);
		expect(await asyncCodeOf(control.write(enabled, '0'))).toBe('EBUSY');
		expect(await asyncCodeOf(control.write(enabled, 'off'))).toBe('EBUSY');
		expect(await asyncCodeOf(control.write(enabled, 'on'))).toBe('EINVAL');
		expect(await asyncCodeOf(control.write('/sys/kernel/livepatch/nope/enabled', '0'))).toBe('ENOENT');
		expect(await asyncCodeOf(control.write('/sys/kernel/livepatch/klp_sleeper_patch/transition', '0'))).toBe(
			'EACCES',
		);
		expect(await asyncCodeOf(control.kill(4242, 'SIGSTOP'))).toBe('ESRCH');
		// Reverse and reverse again: allowed any number of times.
		await control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', 'n');
		await control.write('/sys/kernel/livepatch/klp_sleeper_patch/enabled', 'Y');
		const reversals = livepatchLines(emulation).filter((line) => line.includes('reversing transition'));
		expect(reversals).toEqual([
			"'klp_sleeper_patch': reversing transition from patching to unpatching",
			"'klp_sleeper_patch': reversing transition from unpatching to patching",
		]);
	});

	it('a write during the unpatching completion waits for klp_mutex; 1 to the disabled patch is EINVAL', async () => {
		const emulation = createEmulation('quick', {seed: 2});
		const {control, port} = emulation;
		emulation.advance(3000);
		await control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '0');
		advanceUntil(
			emulation,
			() => livepatchLines(emulation).includes("'klp_vmlinux_patch': completing unpatching transition"),
			3000,
			1,
		);
		expect(attr(port, 'klp_vmlinux_patch', 'transition')).toBe('1');
		expect(port.readFile('/sys/kernel/livepatch/klp_vmlinux_patch/vmlinux/patched')).toBe('0\n');
		const pending = asyncCodeOf(control.write('/sys/kernel/livepatch/klp_vmlinux_patch/enabled', '1'));
		emulation.advance(600);
		expect(await pending).toBe('EINVAL');
		expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('gone');
	});
});

describe('insmod windows (observed on 6.1 under TCG: ~0.3 s init window, ~0.8 s refused directory)', () => {
	it('every insmod: transition 1 with enabled 0, every task 0 and patched 0, for a seeded 5-30 ms', () => {
		const lengths = new Set<number>();
		for (const seed of seeds) {
			const emulation = createEmulation('quick', {seed});
			const {kernel, port} = emulation;
			emulation.advance(5000);
			expect(kernel.transitionPatch).toBeNull();
			kernel.insmod(patchCatalog.klp_sleeper_patch);
			expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('0');
			expect(attr(port, 'klp_sleeper_patch', 'transition')).toBe('1');
			expect(port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/klp_sleeper/patched')).toBe('0\n');
			const {'1': one, '-1': minus} = histogram(port);
			expect({one, minus}).toEqual({one: 0, minus: 0});
			const took = advanceUntil(emulation, () => attr(port, 'klp_sleeper_patch', 'enabled') === '1', 100, 1);
			expect(took).toBeGreaterThanOrEqual(5);
			expect(took).toBeLessThanOrEqual(31);
			lengths.add(took);
			expect(port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/klp_sleeper/patched')).toBe('1\n');
			expect(livepatchLines(emulation).filter((line) => line.includes('klp_sleeper_patch'))).toEqual([
				"enabling patch 'klp_sleeper_patch'",
				"'klp_sleeper_patch': initializing patching transition",
				"'klp_sleeper_patch': starting patching transition",
			]);
		}

		expect(lengths.size).toBeGreaterThan(1);
	});

	it('is configurable, [0, 0] keeps the load instant; a second load inside the window waits, then EBUSY', () => {
		const instant = createEmulation('quick', {insmodInitMs: [0, 0]});
		expect(attr(instant.port, 'klp_vmlinux_patch', 'enabled')).toBe('1');

		const emulation = createEmulation('quick', {insmodInitMs: [300, 300]});
		const {kernel, port} = emulation;
		emulation.advance(5000);
		kernel.insmod(patchCatalog.klp_sleeper_patch);
		let queued: string | null = null;
		expect(
			kernel.insmod(
				{...patchCatalog.klp_sleeper_patch, name: 'other_patch'},
				{onQueued: (error) => (queued = error ? errorCode(error) : 'ok')},
			),
		).toBe('queued');
		emulation.advance(299);
		expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('0');
		expect(queued).toBeNull();
		emulation.advance(2);
		expect(attr(port, 'klp_sleeper_patch', 'enabled')).toBe('1');
		expect(queued).toBe('EBUSY');
	});

	it('a refused load shows its directory, enabled 0 transition 0, until its insmod returns', () => {
		const emulation = createEmulation('stuck-interruptible', {refusedLoadMs: [600, 800]});
		const {kernel, port} = emulation;
		expect(codeOf(() => kernel.insmod(patchCatalog.klp_vmlinux_patch))).toBe('EBUSY');
		expect(attr(port, 'klp_vmlinux_patch', 'enabled')).toBe('0');
		expect(attr(port, 'klp_vmlinux_patch', 'transition')).toBe('0');
		expect(port.readFile('/sys/kernel/livepatch/klp_vmlinux_patch/vmlinux/patched')).toBe('0\n');
		expect(kernel.transitionPatch?.name).toBe('klp_sleeper_patch');
		emulation.advance(599);
		expect(port.exists('/sys/kernel/livepatch/klp_vmlinux_patch')).toBe(true);
		emulation.advance(202);
		expect(port.exists('/sys/kernel/livepatch/klp_vmlinux_patch')).toBe(false);
		expect(kernel.modules.has('klp_vmlinux_patch')).toBe(false);
		expect(livepatchLines(emulation).some((line) => line.includes('klp_vmlinux_patch'))).toBe(false);
	});
});
