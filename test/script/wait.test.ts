import {afterEach, describe, expect, it} from 'vitest';
import {patchNameOf, progressLine, runWait} from '../../source/script/wait.js';
import {makeTree, type Tree} from '../helpers/tree.js';
import {emulated, memoryIo, ndjson, stateEnv, treeSource} from './helpers.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

function lines(text: string): string[] {
	return text.split('\n').filter((line) => line !== '');
}

describe('patch names', () => {
	it('accepts the module name or file, as the kernel names the patch', () => {
		expect(patchNameOf('p')).toBe('p');
		expect(patchNameOf('my-patch.ko')).toBe('my_patch');
		expect(patchNameOf('/lib/modules/6.1/livepatch/kpatch-fix-1.ko.xz')).toBe('kpatch_fix_1');
		expect(patchNameOf('..')).toBeNull();
		expect(patchNameOf('')).toBeNull();
	});
});

describe('wait on the emulator (virtual time)', () => {
	it('returns 0 at once with one final line when a quick patch completes', async () => {
		const opened = emulated('quick');
		const start = opened.emulation.now();
		const io = memoryIo();
		expect(await runWait({opened, timeoutS: 75}, io)).toBe(0);
		expect(io.stdout.text()).toBe('');
		const out = lines(io.stderr.text());
		expect(out).toHaveLength(1);
		expect(out[0]).toMatch(
			/^klptop wait: 'klp_vmlinux_patch' patching complete \(.+\); no transition running$/,
		);
		expect(opened.emulation.now() - start).toBeLessThanOrEqual(3000);
	});

	it('waits through the 15 s fake-signal round of stuck-interruptible and returns 0', async () => {
		const opened = emulated('stuck-interruptible');
		const start = opened.emulation.now();
		const io = memoryIo();
		expect(await runWait({opened, patch: 'klp_sleeper_patch.ko', timeoutS: 75}, io)).toBe(0);
		const waited = (opened.emulation.now() - start) / 1000;
		expect(waited).toBeGreaterThan(13);
		expect(waited).toBeLessThan(18);
		expect(lines(io.stderr.text())).toEqual([
			expect.stringMatching(
				/^klptop wait: 'klp_sleeper_patch' patching complete \(1\ds\); 'klp_sleeper_patch' is applied$/,
			),
		]);
	});

	it('times out with exit 1 on a D-state sleeper, naming the blocker', async () => {
		const opened = emulated('stuck-killable');
		const start = opened.emulation.now();
		const io = memoryIo();
		expect(await runWait({opened, timeoutS: 20}, io)).toBe(1);
		expect(opened.emulation.now() - start).toBe(20_000);
		const out = lines(io.stderr.text());
		expect(out).toHaveLength(1);
		expect(out[0]).toContain('timed out after 20s');
		expect(out[0]).toContain("'klp_sleeper_patch' patching, 1 of");
		expect(out[0]).toMatch(/blockers: 539 cat in klp_sleeper_wait_killable \[uninterruptible\]/);
		// Nothing was reversed.
		expect(opened.port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/enabled')).toBe('1\n');
	});

	it('reverses on timeout when asked, waits for the reversal, and still exits 1', async () => {
		const opened = emulated('stuck-killable');
		const io = memoryIo();
		const code = await runWait({opened, timeoutS: 20, reverseOnTimeout: true, env: stateEnv()}, io);
		expect(code).toBe(1);
		const out = lines(io.stderr.text());
		expect(out).toHaveLength(1);
		expect(out[0]).toContain('timed out after 20s');
		expect(out[0]).toMatch(/reversed: 'klp_sleeper_patch' is unpatched and removed/);
		expect(opened.port.exists('/sys/kernel/livepatch/klp_sleeper_patch')).toBe(false);
	});

	it('refuses --reverse-on-timeout up front with exit 2 when it could not act (read-only)', async () => {
		const opened = emulated('stuck-killable');
		const start = opened.emulation.now();
		const io = memoryIo();
		const code = await runWait(
			{opened, timeoutS: 20, reverseOnTimeout: true, readonly: true, env: stateEnv()},
			io,
		);
		expect(code).toBe(2);
		expect(opened.emulation.now()).toBe(start);
		expect(io.stderr.text()).toContain('--reverse-on-timeout cannot act here: read-only mode');
	});

	it('refuses --reverse-on-timeout up front with exit 2 for a non-root reader', async () => {
		const opened = emulated('non-root');
		const start = opened.emulation.now();
		const io = memoryIo();
		const code = await runWait({opened, timeoutS: 3, reverseOnTimeout: true, env: stateEnv()}, io);
		expect(code).toBe(2);
		expect(io.stderr.text()).toMatch(/cannot act here: actions need root \(you are uid 1000\)/);
		expect(opened.emulation.now()).toBe(start);
		expect(opened.port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/enabled')).toBe('1\n');
	});

	it('refuses --reverse-on-timeout without --timeout', async () => {
		const io = memoryIo();
		expect(
			await runWait({opened: emulated('stuck-killable'), reverseOnTimeout: true, env: stateEnv()}, io),
		).toBe(2);
		expect(io.stderr.text()).toBe('klptop wait: --reverse-on-timeout needs --timeout SECONDS\n');
	});

	it('checks once with --timeout 0: 1 while in transition', async () => {
		const opened = emulated('stuck-killable');
		const start = opened.emulation.now();
		const io = memoryIo();
		expect(await runWait({opened, timeoutS: 0}, io)).toBe(1);
		expect(opened.emulation.now()).toBe(start);
	});

	it('returns 0 for a patch that is not loaded, like kpatch (not in transition)', async () => {
		const io = memoryIo();
		expect(await runWait({opened: emulated('stuck-killable'), patch: 'other-patch'}, io)).toBe(0);
		expect(io.stderr.text()).toContain("no patch 'other_patch' in /sys/kernel/livepatch");
	});

	it('waits only for the named patch, and sees an unpatching end with the patch removed', async () => {
		const opened = emulated('unpatch-fake-signal');
		const io = memoryIo();
		expect(await runWait({opened, patch: 'klp_sleeper_patch', timeoutS: 60}, io)).toBe(0);
		expect(lines(io.stderr.text())).toEqual([
			expect.stringMatching(/'klp_sleeper_patch' is unpatched and removed|unpatching complete/),
		]);
	});

	it('shows one updating progress line on a terminal: pending, blockers, next fake signal, time', async () => {
		const io = memoryIo({ttyErr: true, columns: 200});
		expect(await runWait({opened: emulated('stuck-killable'), timeoutS: 5}, io)).toBe(1);
		const text = io.stderr.text();
		const updates = text.split('\r\u001b[K').filter((part) => part !== '');
		// One update per second of waiting (0..5 s), then the final line on a cleared line.
		expect(updates.length).toBeGreaterThanOrEqual(6);
		expect(updates[0]).toMatch(
			/^klptop wait: 'klp_sleeper_patch' patching, 1 of \d+ threads pending; 1 blocker \(1 D-state\); next fake signal ~\d+s; 0s\/5s$/,
		);
		expect(text.split('\n')).toHaveLength(2);
		expect(updates.at(-1)).toMatch(/^klptop wait: timed out after 5s/);
	});

	it('cuts the progress line to the terminal width', async () => {
		const io = memoryIo({ttyErr: true, columns: 40});
		await runWait({opened: emulated('many', {threads: 2000}), timeoutS: 2}, io);
		const parts = io.stderr
			.text()
			.split('\r\u001b[K')
			.filter((part) => part !== '');
		// The last part is the final line (whole, on its own cleared line).
		expect(parts.at(-1)).toMatch(/^klptop wait: timed out after 2s: .*\n$/);
		const updates = parts.slice(0, -1);
		expect(updates.length).toBeGreaterThanOrEqual(3);
		for (const update of updates) {
			expect([...update].length).toBeLessThanOrEqual(39);
		}

		expect(updates[0]!.endsWith('~')).toBe(true);
	});

	it('prints the last JSON document on stdout with --json', async () => {
		const io = memoryIo();
		expect(await runWait({opened: emulated('quick'), json: true, timeoutS: 10}, io)).toBe(0);
		const docs = ndjson(io.stdout.text());
		expect(docs).toHaveLength(1);
		expect(docs[0]).toMatchObject({schema_version: 1, transition: null});
	});

	it('returns 130 when interrupted', async () => {
		const controller = new AbortController();
		const opened = emulated('stuck-killable');
		const io = memoryIo();
		const wait = runWait({opened, signal: controller.signal}, io);
		setTimeout(() => {
			controller.abort();
		}, 20);
		expect(await wait).toBe(130);
		expect(io.stderr.text()).toMatch(/^klptop wait: interrupted after .*'klp_sleeper_patch' patching/);
	});
});

describe('wait on a tree (real clock)', () => {
	it('returns 0 when the transition ends on disk', async () => {
		const tree = makeTree({
			patches: [{name: 'p', enabled: 1, transition: 1, objects: [{name: 'vmlinux', functions: ['f,1']}]}],
			threads: [{pid: 9, comm: 'sleepy', patchState: 0, wchan: 'f'}],
		});
		trees.push(tree);
		setTimeout(() => {
			tree.write('/proc/9/task/9/patch_state', '-1\n', 0o400);
			tree.write('/sys/kernel/livepatch/p/transition', '0\n', 0o444);
		}, 150);
		const io = memoryIo();
		const started = Date.now();
		expect(await runWait({opened: treeSource(tree.root), patch: 'p', timeoutS: 10, delayS: 0.02}, io)).toBe(
			0,
		);
		expect(Date.now() - started).toBeGreaterThanOrEqual(140);
		expect(io.stderr.text()).toMatch(/'p' patching complete .*'p' is applied/);
	});

	it('times out with 1 and refuses to reverse a tree no emulator serves (2)', async () => {
		const tree = makeTree({
			patches: [{name: 'p', enabled: 1, transition: 1}],
			threads: [{pid: 9, comm: 'sleepy', patchState: 0}],
		});
		trees.push(tree);
		const io = memoryIo();
		expect(await runWait({opened: treeSource(tree.root), timeoutS: 0.1, delayS: 0.02}, io)).toBe(1);
		const refused = memoryIo();
		expect(
			await runWait(
				{opened: treeSource(tree.root), timeoutS: 0.1, delayS: 0.02, reverseOnTimeout: true, env: stateEnv()},
				refused,
			),
		).toBe(2);
		expect(refused.stderr.text()).toContain('not served by an emulator');
	});

	it('exits 2 without /sys/kernel/livepatch', async () => {
		const tree = makeTree({livepatch: false});
		trees.push(tree);
		const io = memoryIo();
		expect(await runWait({opened: treeSource(tree.root)}, io)).toBe(2);
		expect(io.stderr.text()).toContain('no /sys/kernel/livepatch under');
	});

	it('sanitises names in its lines', async () => {
		const tree = makeTree({
			patches: [{name: 'p', enabled: 1, transition: 1}],
			threads: [{pid: 9, comm: 'x\u001b[2Jy', patchState: 0}],
		});
		trees.push(tree);
		const io = memoryIo();
		await runWait({opened: treeSource(tree.root), timeoutS: 0}, io);
		expect(io.stderr.text()).toContain('9 x?[2Jy');
		expect(io.stderr.text()).not.toContain('\u001b');
	});
});

describe('progress line', () => {
	it('says when no blocker is visible', async () => {
		const opened = emulated('hidden-blocker');
		const io = memoryIo({ttyErr: true, columns: 300});
		await runWait({opened, timeoutS: 4}, io);
		expect(io.stderr.text()).toContain('blocker not visible');
		expect(typeof progressLine).toBe('function');
	});
});
