/*
A tree on disk served by an emulator (`klptop emulate X --root DIR`): actions read the tree through
the ordinary host port and act through the emulator's socket (`connectTreeControl`), never on the
host. Without a live emulator the tree gets no control port and every action says why.
*/
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {runActionCommand} from '../../source/actions/commands.js';
import {createActionContext} from '../../source/actions/context.js';
import {readLivePatch} from '../../source/actions/proc.js';
import {createEmulation, mirrorToDisk, type DiskMirror} from '../../source/emulator/index.js';
import {connectTreeControl} from '../../source/emulator/tree-client.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {readAuditLog} from '../../source/state/audit.js';
import {removeTempDirs, tempStateDir} from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	removeTempDirs();
});

async function serve(scenario: string) {
	const emulation = createEmulation(scenario, {seed: 5});
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-served-'));
	cleanups.push(() => rmSync(dir, {recursive: true, force: true}));
	const mirror: DiskMirror = await mirrorToDisk(emulation, dir);
	let open = true;
	const close = async () => {
		if (open) {
			open = false;
			await mirror.close();
		}
	};

	cleanups.push(close);
	const control = await connectTreeControl(dir);
	const stateDir = tempStateDir();
	const ctx = createActionContext({
		source: {kind: 'tree', root: dir, scenario: null},
		port: createHostPort(dir),
		control,
		clock: {
			now: () => emulation.now(),
			async sleep(ms) {
				emulation.advance(ms);
				mirror.sync();
			},
		},
		stateDir,
	});
	return {emulation, dir, mirror, ctx, stateDir, close};
}

describe('a tree served by an emulator', () => {
	it('stuck-interruptible: the nudge goes over the socket and clears cat 182', async () => {
		const world = await serve('stuck-interruptible');
		expect(world.ctx.control).not.toBeNull();
		expect(world.ctx.disabledReason).toBeNull();
		const out = await runActionCommand(world.ctx, 'nudge', {input: ['182']});
		expect(out.code).toBe(0);
		expect(out.stdout[0]).toMatch(/^nudged 182 \(cat\): (switched|the transition ended)/);
		world.emulation.advance(2000);
		world.mirror.sync();
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: true,
			transition: false,
		});
		expect(readAuditLog(world.stateDir)[0]).toMatchObject({world: `tree:${world.dir}`, result: 'ok'});
	});

	it('stuck-killable: reverse over the socket; the tree shows it after the next sync', async () => {
		const world = await serve('stuck-killable');
		const out = await runActionCommand(world.ctx, 'reverse', {input: []});
		expect(out.code).toBe(0);
		world.mirror.sync();
		expect(readLivePatch(world.ctx.port, 'klp_sleeper_patch')).toMatchObject({
			enabled: false,
			transition: true,
		});
	});

	it('replace: the emulator\u2019s EBUSY comes back through the socket in plain words', async () => {
		const world = await serve('replace');
		const out = await runActionCommand(world.ctx, 'disable', {input: ['klp_sleeper_patch']});
		expect(out.code).toBe(1);
		expect(out.stderr.at(-1)).toMatch(/EBUSY: another transition is running/);
	});

	it('once the emulator stops serving, the tree gets no control port and actions say why', async () => {
		const world = await serve('stuck-interruptible');
		await world.close();
		const control = await connectTreeControl(world.dir);
		expect(control).toBeNull();
		const ctx = createActionContext({
			source: {kind: 'tree', root: world.dir, scenario: null},
			port: createHostPort(world.dir),
			control,
			stateDir: tempStateDir(),
		});
		const out = await runActionCommand(ctx, 'nudge', {input: ['182']});
		expect(out.code).toBe(1);
		expect(out.stderr).toContain(
			'klptop: not nudging 182: this tree is not served by an emulator; actions need a live kernel',
		);
	});
});
