/*
Every action against the emulated kernel's scenarios (`kernel-livepatch.md` §8), through the same
subcommand code the CLI runs, on virtual time: the nudge's waits advance the emulator's clock.
The emulator applies the kernel's rules and answers with the kernel's errors.
*/
import {afterEach, describe, expect, it} from 'vitest';
import {runActionCommand} from '../../source/actions/commands.js';
import {createActionContext, type ActionContext} from '../../source/actions/context.js';
import {executeNudge} from '../../source/actions/nudge.js';
import {planNudge} from '../../source/actions/plan.js';
import {readLivePatch, readLiveTransition} from '../../source/actions/proc.js';
import {createEmulation, type Emulation, type KernelGeneration} from '../../source/emulator/index.js';
import {createReader} from '../../source/sources/reader.js';
import {readAuditLog} from '../../source/state/audit.js';
import {removeTempDirs, spyControl, tempStateDir} from './helpers.js';

afterEach(() => {
	removeTempDirs();
});

type World = {emulation: Emulation; ctx: ActionContext; stateDir: string};

function open(scenario: string, kernel?: KernelGeneration): World {
	const emulation = createEmulation(scenario, {seed: 3, ...(kernel === undefined ? {} : {kernel})});
	const stateDir = tempStateDir();
	const ctx = createActionContext({
		source: {kind: 'emulator', root: null, scenario},
		port: emulation.port,
		control: emulation.control,
		clock: {
			now: () => emulation.now(),
			async sleep(ms) {
				emulation.advance(ms);
			},
		},
		stateDir,
	});
	return {emulation, ctx, stateDir};
}

function state(world: World, tid: number): string {
	const text = world.emulation.port.readFile(`/proc/${tid}/stat`);
	return text.slice(text.lastIndexOf(')') + 2).split(' ')[0]!;
}

/** Advance in 100 ms steps until `done()` or `limitMs`; returns the virtual ms it took. */
function advanceUntil(world: World, done: () => boolean, limitMs = 30_000): number {
	let elapsed = 0;
	while (!done() && elapsed < limitMs) {
		world.emulation.advance(100);
		elapsed += 100;
	}

	return elapsed;
}

describe('nudge', () => {
	it('stuck-interruptible: the nudge switches cat 182 and the transition completes about a second later', async () => {
		const world = open('stuck-interruptible');
		expect(readLiveTransition(world.ctx.port)).toEqual({patch: 'klp_sleeper_patch', target: 1});
		expect(state(world, 182)).toBe('S');
		const out = await runActionCommand(world.ctx, 'nudge', {input: ['182']});
		expect(out.code).toBe(0);
		expect(out.stdout[0]).toMatch(/^nudged 182 \(cat\): (switched|the transition ended) after 0\.\d\d s$/);
		expect(out.stdout[1]).toMatch(/^resumed 182 \(cat\) after/);
		expect(state(world, 182)).not.toBe('T');
		const took = advanceUntil(world, () => readLiveTransition(world.ctx.port) === null, 5000);
		expect(took).toBeLessThanOrEqual(2000);
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toEqual({
			name: 'klp_sleeper_patch',
			enabled: true,
			transition: false,
		});
		expect(readAuditLog(world.stateDir)).toMatchObject([
			{action: 'nudge', target: 'tid 182', result: 'ok', world: 'emulator:stuck-interruptible'},
		]);
	});

	it('stuck-interruptible from a dashboard row: the reader\u2019s blocker is nudgeable and is nudged', async () => {
		const world = open('stuck-interruptible');
		const snapshot = createReader(world.ctx.port, world.ctx.source).scan({threads: 'blockers'});
		const blocker = snapshot.blockers.find((candidate) => candidate.tid === 182);
		expect(blocker?.remedies).toContain('nudge');
		const plan = planNudge(world.ctx, [blocker!]);
		expect(plan.refused).toEqual([]);
		const report = await executeNudge(world.ctx, plan);
		expect(report.groups[0]?.threads[0]?.result).toMatch(/switched|transition-ended/);
	});

	it('unpatch-fake-signal: a nudge also clears an unpatching stall (target 0)', async () => {
		const world = open('unpatch-fake-signal');
		expect(readLiveTransition(world.ctx.port)?.target).toBe(0);
		const out = await runActionCommand(world.ctx, 'nudge', {input: ['182']});
		expect(out.code).toBe(0);
		expect(
			advanceUntil(world, () => readLivePatch(world.ctx.port, 'klp_sleeper_patch') === null, 5000),
		).toBeLessThan(5000);
	});

	it('stuck-killable: the D sleeper is refused as useless, nothing is signalled, the stall stays', async () => {
		const world = open('stuck-killable');
		const spy = spyControl(world.emulation.control);
		const ctx = {...world.ctx, control: spy};
		expect(state(world, 539)).toBe('D');
		const out = await runActionCommand(ctx, 'nudge', {input: ['539']});
		expect(out.code).toBe(1);
		expect(out.stderr.join('\n')).toMatch(/not nudging 539: in uninterruptible sleep \(D\).*reverse .*force/);
		expect(spy.calls).toEqual([]);
		world.emulation.advance(20_000);
		expect(readLiveTransition(ctx.port)).toEqual({patch: 'klp_sleeper_patch', target: 1});
	});

	it('stuck-kthread: the kernel thread is refused with what helps (the 15 s wakeup)', async () => {
		const world = open('stuck-kthread');
		const out = await runActionCommand(world.ctx, 'nudge', {input: ['398']});
		expect(out.code).toBe(1);
		expect(out.stderr.join('\n')).toMatch(/not nudging 398: a kernel thread: .*15 s/);
	});

	it('PID 1 of the emulated world is refused', async () => {
		const world = open('stuck-interruptible');
		const out = await runActionCommand(world.ctx, 'nudge', {input: ['1']});
		expect(out.stderr.join('\n')).toMatch(/not nudging 1: PID 1/);
	});
});

describe('reverse', () => {
	it('stuck-killable: reverse unpatches; the patch is gone 1-3 s later', async () => {
		const world = open('stuck-killable');
		const out = await runActionCommand(world.ctx, 'reverse', {input: []});
		expect(out).toMatchObject({
			code: 0,
			stdout: [expect.stringMatching(/^reversed the patching transition/)],
		});
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: false,
			transition: true,
		});
		const took = advanceUntil(
			world,
			() => readLivePatch(world.ctx.port, 'klp_sleeper_patch') === null,
			10_000,
		);
		expect(took).toBeGreaterThanOrEqual(1000);
		expect(took).toBeLessThanOrEqual(3000);
	});

	it('reversing twice goes back to patching', async () => {
		const world = open('stuck-killable');
		expect((await runActionCommand(world.ctx, 'reverse', {input: []})).code).toBe(0);
		const again = await runActionCommand(world.ctx, 'reverse', {input: ['klp_sleeper_patch']});
		expect(again.stdout[0]).toMatch(/^reversed the unpatching transition/);
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: true,
			transition: true,
		});
	});
});

describe('force', () => {
	it('force: with the typed name the stall completes; without it nothing happens', async () => {
		const world = open('force');
		const refused = await runActionCommand(world.ctx, 'force', {input: ['klp_sleeper_patch'], confirm: 'y'});
		expect(refused.code).toBe(1);
		world.emulation.advance(3000);
		expect(readLiveTransition(world.ctx.port)?.patch).toBe('klp_sleeper_patch');

		const out = await runActionCommand(world.ctx, 'force', {
			input: ['klp_sleeper_patch'],
			confirm: 'klp_sleeper_patch',
		});
		expect(out.code).toBe(0);
		expect(out.stderr[0]).toMatch(/warning: Forcing marks every task/);
		const took = advanceUntil(world, () => readLiveTransition(world.ctx.port) === null, 5000);
		expect(took).toBeLessThanOrEqual(2000);
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: true,
			transition: false,
		});
	});

	it('forced-unpatch: the warning says the module stays pinned until reboot', async () => {
		const world = open('forced-unpatch');
		expect(readLiveTransition(world.ctx.port)?.target).toBe(0);
		const out = await runActionCommand(world.ctx, 'force', {
			input: ['klp_sleeper_patch'],
			confirm: 'klp_sleeper_patch',
		});
		expect(out.code).toBe(0);
		expect(out.stderr[0]).toMatch(/UNPATCHING .*until the next reboot/);
		expect(out.stdout[0]).toMatch(/stays pinned until reboot/);
	});

	it('no transition: force is refused before anything is written', async () => {
		const world = open('quick');
		advanceUntil(world, () => readLiveTransition(world.ctx.port) === null);
		const out = await runActionCommand(world.ctx, 'force', {
			input: ['klp_vmlinux_patch'],
			confirm: 'klp_vmlinux_patch',
		});
		expect(out).toMatchObject({
			code: 1,
			stderr: ["klptop: 'klp_vmlinux_patch' is not in transition: there is nothing to force"],
		});
	});
});

describe('the kernel\u2019s errors', () => {
	it('EBUSY: disabling a patch while another patch is in transition (replace)', async () => {
		const world = open('replace');
		expect(readLiveTransition(world.ctx.port)?.patch).toBe('klp_sleeper_patch_v2');
		const out = await runActionCommand(world.ctx, 'disable', {input: ['klp_sleeper_patch']});
		expect(out.code).toBe(1);
		expect(out.stderr.at(-1)).toBe(
			"klptop: disable 'klp_sleeper_patch' failed: EBUSY: another transition is running (the kernel runs one at a time); wait for it to finish or reverse it first",
		);
		expect(readAuditLog(world.stateDir)).toMatchObject([{action: 'disable', result: 'failed'}]);
	});

	it('EINVAL: enabling a patch that is already enabled', async () => {
		const world = open('quick');
		advanceUntil(world, () => readLiveTransition(world.ctx.port) === null);
		const out = await runActionCommand(world.ctx, 'enable', {input: ['klp_vmlinux_patch']});
		expect(out.code).toBe(1);
		expect(out.stderr.at(-1)).toBe(
			"klptop: enable 'klp_vmlinux_patch' failed: EINVAL: the patch is already in that state",
		);
	});

	it('disable then enable on 6.1: unpatching starts; the patch is freed, so it cannot come back', async () => {
		const world = open('quick');
		advanceUntil(world, () => readLiveTransition(world.ctx.port) === null);
		expect((await runActionCommand(world.ctx, 'disable', {input: ['klp_vmlinux_patch']})).code).toBe(0);
		advanceUntil(world, () => readLivePatch(world.ctx.port, 'klp_vmlinux_patch') === null, 10_000);
		const out = await runActionCommand(world.ctx, 'enable', {input: ['klp_vmlinux_patch']});
		expect(out).toMatchObject({code: 1, stderr: [expect.stringContaining("no patch 'klp_vmlinux_patch'")]});
	});

	it('4.12: a disabled patch stays registered and can be enabled again', async () => {
		const world = open('quick', '4.12');
		advanceUntil(world, () => readLiveTransition(world.ctx.port) === null);
		expect((await runActionCommand(world.ctx, 'disable', {input: ['klp_vmlinux_patch']})).code).toBe(0);
		advanceUntil(world, () => readLiveTransition(world.ctx.port) === null, 10_000);
		expect(readLivePatch(world.ctx.port, 'klp_vmlinux_patch')).toMatchObject({
			enabled: false,
			transition: false,
		});
		const out = await runActionCommand(world.ctx, 'enable', {input: ['klp_vmlinux_patch']});
		expect(out.code).toBe(0);
		expect(readLivePatch(world.ctx.port, 'klp_vmlinux_patch')?.enabled).toBe(true);
	});
});

describe('non-root', () => {
	it('the non-root scenario disables actions and says root is needed', async () => {
		const world = open('non-root');
		expect(world.ctx.disabledReason).toMatch(/^actions need root \(you are uid 1000\)/);
		const out = await runActionCommand(world.ctx, 'reverse', {input: []});
		expect(out).toMatchObject({code: 1, stderr: [expect.stringMatching(/actions need root/)]});
	});
});
