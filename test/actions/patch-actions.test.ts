/*
Reverse, force, disable, enable: what each plans and writes, what it refuses before writing, the
re-check right before the write, and kernel errors in plain words. The world is a tree; its control
port records writes and can answer with any kernel error (the emulator tests check the real rules).
*/
import {afterEach, describe, expect, it} from 'vitest';
import {runActionCommand} from '../../source/actions/commands.js';
import {createActionContext} from '../../source/actions/context.js';
import {
	executePatchAction,
	forceWarning,
	patchMenu,
	planPatchAction,
} from '../../source/actions/sysfs-actions.js';
import type {PatchInfo} from '../../source/model/types.js';
import {fsError, type ControlPort} from '../../source/sources/fs-port.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {readAuditLog} from '../../source/state/audit.js';
import {makeTree, type PatchSpec, type Tree} from '../helpers/tree.js';
import {removeTempDirs, spyControl, tempStateDir} from './helpers.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}

	removeTempDirs();
});

function world(patches: PatchSpec[], failWith?: string) {
	const tree = makeTree({patches});
	trees.push(tree);
	const inner: ControlPort | null = failWith
		? {
				async write(path) {
					throw fsError(failWith, path);
				},
				async kill() {},
			}
		: null;
	const control = spyControl(inner);
	const stateDir = tempStateDir();
	const ctx = createActionContext({
		source: {kind: 'tree', root: tree.root, scenario: null},
		port: createHostPort(tree.root),
		control,
		stateDir,
	});
	return {tree, ctx, control, stateDir};
}

const patching = {name: 'klp_p', enabled: 1, transition: 1};
const unpatching = {name: 'klp_p', enabled: 0, transition: 1};
const applied = {name: 'klp_a', enabled: 1, transition: 0};

describe('reverse', () => {
	it('without a name picks the transition patch and writes the opposite of enabled', async () => {
		const {ctx, control} = world([applied, patching]);
		const planned = planPatchAction(ctx, 'reverse');
		expect(planned.ok && planned.plan).toMatchObject({
			patch: 'klp_p',
			attribute: 'enabled',
			value: '0',
			confirmation: 'yes',
		});
		if (!planned.ok) {
			return;
		}

		const report = await executePatchAction(ctx, planned.plan);
		expect(report).toMatchObject({
			ok: true,
			text: expect.stringMatching(/^reversed the patching transition of 'klp_p' \(wrote 0 to enabled\)/),
		});
		expect(control.calls).toEqual([{op: 'write', path: '/sys/kernel/livepatch/klp_p/enabled', value: '0'}]);
	});

	it('of an unpatching transition writes 1', async () => {
		const {ctx, control} = world([unpatching]);
		const out = await runActionCommand(ctx, 'reverse', {input: ['klp_p']});
		expect(out.code).toBe(0);
		expect(control.calls).toEqual([{op: 'write', path: '/sys/kernel/livepatch/klp_p/enabled', value: '1'}]);
		expect(out.stdout).toEqual([expect.stringMatching(/^reversed the unpatching transition of 'klp_p'/)]);
	});

	it('refuses when nothing or another patch is in transition', async () => {
		const idle = world([applied]);
		expect(planPatchAction(idle.ctx, 'reverse')).toEqual({
			ok: false,
			reason: 'no transition is running: nothing to reverse',
		});
		const other = world([applied, patching]);
		const out = await runActionCommand(other.ctx, 'reverse', {input: ['klp_a']});
		expect(out).toMatchObject({
			code: 1,
			stdout: [],
			stderr: ["klptop: 'klp_a' is not in transition (the transition patch is 'klp_p')"],
		});
		expect(other.control.calls).toEqual([]);
	});
});

describe('force', () => {
	it('needs the patch name typed; y, a wrong name or nothing never forces', async () => {
		const {ctx, control, stateDir} = world([patching]);
		for (const confirm of [undefined, 'y', 'yes', 'klp_P', 'klp_p ']) {
			const out = await runActionCommand(ctx, 'force', {input: ['klp_p'], confirm});
			expect(out.code).toBe(1);
		}

		expect(control.calls).toEqual([]);
		const out = await runActionCommand(ctx, 'force', {input: ['klp_p'], confirm: 'klp_p'});
		expect(out.code).toBe(0);
		expect(control.calls).toEqual([{op: 'write', path: '/sys/kernel/livepatch/klp_p/force', value: '1'}]);
		expect(out.stderr[0]).toMatch(/^klptop: warning: .*consistency .* no longer assured/);
		expect(readAuditLog(stateDir).map((entry) => entry.result)).toEqual([
			'refused',
			'refused',
			'refused',
			'refused',
			'refused',
			'ok',
		]);
	});

	it('is offered only while that patch is in transition, and only where the kernel has `force`', async () => {
		const {ctx, control} = world([applied, {name: 'klp_old', enabled: 1, transition: 1, force: false}]);
		expect(planPatchAction(ctx, 'force', 'klp_a')).toEqual({
			ok: false,
			reason: "'klp_a' is not in transition: there is nothing to force",
		});
		expect(planPatchAction(ctx, 'force', 'klp_old')).toMatchObject({
			ok: false,
			reason: expect.stringContaining('4.16'),
		});
		expect(control.calls).toEqual([]);
	});

	it('warns that a forced unpatch pins the module until reboot', () => {
		const {ctx} = world([unpatching]);
		const planned = planPatchAction(ctx, 'force', 'klp_p');
		expect(planned.ok && planned.plan.warning).toContain('until the next reboot');
		expect(planned.ok && planned.plan.confirmation).toBe('typed-name');
		expect(forceWarning('x', true)).not.toContain('UNPATCHING');
	});
});

describe('disable and enable', () => {
	it('disable writes 0 to an applied patch; refuses one that is patching (that is a reversal)', async () => {
		const {ctx, control} = world([applied, patching]);
		expect(planPatchAction(ctx, 'disable', 'klp_p')).toMatchObject({
			ok: false,
			reason: expect.stringContaining('use reverse'),
		});
		const out = await runActionCommand(ctx, 'disable', {input: ['klp_a']});
		expect(out).toMatchObject({
			code: 0,
			stdout: ["disabled 'klp_a' (wrote 0 to enabled): an unpatching transition started"],
		});
		expect(control.calls).toEqual([{op: 'write', path: '/sys/kernel/livepatch/klp_a/enabled', value: '0'}]);
	});

	it('enable explains the kernel\u2019s EINVAL: already enabled, or re-enabling is not allowed on >= 5.1', async () => {
		const on = world([applied], 'EINVAL');
		const already = await runActionCommand(on.ctx, 'enable', {input: ['klp_a']});
		expect(already.code).toBe(1);
		expect(already.stderr.at(-1)).toBe(
			"klptop: enable 'klp_a' failed: EINVAL: the patch is already in that state",
		);
		const off = world([{name: 'klp_a', enabled: 0, transition: 0}], 'EINVAL');
		const refused = await runActionCommand(off.ctx, 'enable', {input: ['klp_a']});
		expect(refused.stderr.at(-1)).toMatch(
			/does not allow re-enabling a disabled patch \(kernels 5.1 and later\)/,
		);
		expect(off.control.calls).toHaveLength(1);
	});

	it('kernel errors in plain words', async () => {
		const cases: Array<[string, RegExp]> = [
			['EBUSY', /another transition is running/],
			['ENOENT', /the patch is gone/],
			['EPERM', /needs root/],
			['EACCES', /needs root/],
		];
		for (const [code, words] of cases) {
			const {ctx} = world([applied], code);
			const out = await runActionCommand(ctx, 'disable', {input: ['klp_a']});
			expect(out.code).toBe(1);
			expect(out.stderr.at(-1)).toMatch(words);
		}
	});
});

describe('re-check before writing', () => {
	it('abandons the write when the patch changed since it was shown', async () => {
		const {tree, ctx, control} = world([patching]);
		const planned = planPatchAction(ctx, 'reverse');
		expect(planned.ok).toBe(true);
		// The transition completes while the operator reads the confirmation.
		tree.write('/sys/kernel/livepatch/klp_p/transition', '0\n', 0o444);
		const report = await executePatchAction(ctx, planned.ok ? planned.plan : (undefined as never));
		expect(report.ok).toBe(false);
		expect(report.text).toContain('changed since it was shown');
		expect(control.calls).toEqual([]);
	});

	it('abandons the write when the patch is gone', async () => {
		const {tree, ctx, control} = world([applied]);
		const planned = planPatchAction(ctx, 'disable', 'klp_a');
		tree.remove('/sys/kernel/livepatch/klp_a');
		const report = await executePatchAction(ctx, planned.ok ? planned.plan : (undefined as never));
		expect(report.text).toContain('is gone');
		expect(control.calls).toEqual([]);
	});

	it('rejects names that are not patch names', async () => {
		const {ctx} = world([applied]);
		for (const name of ['..', '.', '../klp_a', 'a/b', '']) {
			expect(planPatchAction(ctx, 'disable', name).ok).toBe(false);
		}

		expect(planPatchAction(ctx, 'disable', 'klp_none')).toEqual({
			ok: false,
			reason: "no patch 'klp_none' in /sys/kernel/livepatch (not loaded, or gone)",
		});
	});
});

describe('subcommand usage', () => {
	it('exits 2 with the usage on malformed arguments', async () => {
		const {ctx} = world([applied]);
		expect((await runActionCommand(ctx, 'nudge', {input: []})).code).toBe(2);
		expect((await runActionCommand(ctx, 'nudge', {input: ['12x']})).stderr[0]).toMatch(
			/usage: klptop nudge TID/,
		);
		expect((await runActionCommand(ctx, 'disable', {input: []})).code).toBe(2);
		expect((await runActionCommand(ctx, 'disable', {input: ['a', 'b']})).code).toBe(2);
		expect((await runActionCommand(ctx, 'disable', {input: ['klp_a'], confirm: 'klp_a'})).code).toBe(2);
	});

	it('sanitises names from the world before printing them', async () => {
		const {ctx} = world([{name: 'klp_\u001b[31mred', enabled: 1, transition: 0}]);
		const out = await runActionCommand(ctx, 'disable', {input: ['klp_\u001b[31mred']});
		expect(out.stdout[0]).toBe(
			"disabled 'klp_?[31mred' (wrote 0 to enabled): an unpatching transition started",
		);
	});
});

describe('the patch panel\u2019s menu', () => {
	const info = (enabled: boolean, transition: boolean, hasForce = true): PatchInfo => ({
		name: 'p',
		enabled,
		transition,
		replace: null,
		stackOrder: null,
		hasForce,
		hasSignal: false,
		objects: [],
	});
	const available = (patch: PatchInfo) =>
		patchMenu(patch)
			.filter((item) => item.available)
			.map((item) => item.kind);

	it('offers what the kernel would accept', () => {
		expect(available(info(true, true))).toEqual(['reverse', 'force']);
		expect(available(info(false, true))).toEqual(['reverse', 'force']);
		expect(available(info(true, true, false))).toEqual(['reverse']);
		expect(available(info(true, false))).toEqual(['disable']);
		expect(available(info(false, false))).toEqual(['enable']);
	});
});
