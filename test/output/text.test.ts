/*
The human `--once` text: what it must say (source honesty, patches, transition, blockers with
remedies, hidden blocker, warnings) and how it must look (width, no ANSI unless asked).
*/
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import type {Blocker, History, Snapshot} from '../../source/model/types.js';
import {noLivepatchMessage, toText} from '../../source/output/text.js';
import {blocker, idle, klog, patch, patching, snap} from '../model/snapshots.js';

const esc = '\u001b';
const bel = '\u0007';

/** Terminal cells, measured independently of the code under test: CJK ideographs take two. */
function columns(line: string): number {
	let n = 0;
	for (const ch of line) {
		const cp = ch.codePointAt(0)!;
		n += cp >= 0x4e00 && cp <= 0x9fff ? 2 : 1;
	}

	return n;
}

function hasAnsi(text: string): boolean {
	return text.includes(esc);
}

const sleeper = patch('klp_sleeper_patch', {
	transition: true,
	objects: [
		{
			name: 'klp_sleeper',
			patched: true,
			functions: [
				{name: 'klp_sleeper_wait', sympos: 1},
				{name: 'klp_sleeper_wait_killable', sympos: 1},
				{name: 'klp_sleeper_kthread_wait', sympos: 1},
			],
		},
	],
});

const interruptible = blocker(182, {comm: 'cat'});
const killable = blocker(539, {
	comm: 'cat',
	state: 'D',
	class: 'uninterruptible',
	function: 'klp_sleeper_wait_killable',
	wchan: 'klp_sleeper_wait_killable',
	killable: true,
	remedies: ['reverse', 'kill', 'force'],
});
const kthread = blocker(398, {
	comm: 'klp_sleeper_kt',
	kthread: true,
	ppid: 2,
	function: 'klp_sleeper_kthread_wait',
	remedies: ['wait', 'reverse', 'force'],
});

/** Stuck transition started at boot second 101 (t0 + 1 s), polled at 2 and 9 s. */
function stuck(
	blockers: readonly Blocker[] = [interruptible, killable, kthread],
	extra: Partial<Snapshot> = {},
): History {
	let h = foldSnapshot(null, idle(0));
	h = foldSnapshot(
		h,
		patching(2, 'klp_sleeper_patch', blockers.length, {
			patches: [sleeper],
			blockers,
			kernelLog: [klog(101, "'klp_sleeper_patch': starting patching transition")],
		}),
	);
	h = foldSnapshot(h, {
		...patching(9, 'klp_sleeper_patch', blockers.length, {patches: [sleeper], blockers}),
		...extra,
	});
	return h;
}

describe('toText', () => {
	it('says where the data comes from, and never passes emulated data off as real', () => {
		const emulated = toText(stuck(), {width: 200});
		expect(emulated.split('\n')[0]).toMatch(
			/^Source: EMULATOR, scenario stuck-interruptible \(emulated kernel, not this host\)/,
		);

		const tree = toText(
			foldSnapshot(null, snap({at: 0, source: {kind: 'tree', root: '/tmp/t', scenario: null}})),
			{width: 200},
		);
		expect(tree.split('\n')[0]).toMatch(
			/^Source: tree \/tmp\/t \(files under a directory, not necessarily this host's kernel\)/,
		);

		const host = toText(foldSnapshot(null, snap({at: 0, source: {kind: 'host', root: '/', scenario: null}})));
		expect(host.split('\n')[0]).toMatch(/^Source: this host/);
		expect(host).not.toMatch(/EMULATOR/);
	});

	it('shows the kernel release and privileges', () => {
		const text = toText(stuck());
		expect(text).toContain('Kernel: 6.1.0-56-amd64; livepatch present; root, stacks readable');
		const nonRoot = toText(foldSnapshot(null, snap({at: 0, root: false})), {width: 200});
		expect(nonRoot).toContain('not root: stacks unreadable, functions from wchan only');
	});

	it('lists each patch on one line with its fields and a state word', () => {
		const lines = toText(
			foldSnapshot(
				null,
				snap({
					at: 0,
					patches: [
						patch('kp_a', {replace: true, stackOrder: 1}),
						patch('kp_b', {enabled: false, transition: true, stackOrder: 2}),
					],
					transition: {patch: 'kp_b', direction: 'unpatching', target: 0},
					byPatchState: {'-1': 0, '0': 54, '1': 0},
				}),
			),
		).split('\n');
		expect(lines).toContain('Patches (2)');
		const header = lines.find((l) => l.includes('NAME'))!;
		expect(header.split(/ +/).filter(Boolean)).toEqual([
			'NAME',
			'STATE',
			'ENABLED',
			'TRANS',
			'REPLACE',
			'ORDER',
			'OBJ',
			'FUNC',
		]);
		expect(
			lines
				.find((l) => l.includes('kp_a'))!
				.split(/ +/)
				.filter(Boolean),
		).toEqual(['kp_a', 'applied', '1', '0', '1', '1', '1', '1']);
		expect(
			lines
				.find((l) => l.includes('kp_b'))!
				.split(/ +/)
				.filter(Boolean),
		).toEqual(['kp_b', 'UNPATCHING', '0', '1', '-', '2', '1', '1']);
		// "None loaded" only when /proc/modules was read and lists no livepatch module (issue 16).
		expect(toText(foldSnapshot(null, idle(0)))).toContain('Patches: none listed');
		expect(toText(foldSnapshot(null, {...idle(0), leftoverModules: []}))).toContain('Patches: none loaded');
		const left = toText(foldSnapshot(null, {...idle(0), leftoverModules: ['kp_a']}), {width: 200});
		expect(left).toContain('Patches: none active');
		expect(left).toContain(
			'livepatch module kp_a is still loaded (disabled, unpatched); unload it with: rmmod kp_a',
		);
	});

	it('gives the transition: patch, direction, elapsed, pending/total, next fake signal', () => {
		const text = toText(stuck());
		expect(text).toContain('Transition: klp_sleeper_patch patching (target patch_state 1)');
		expect(text).toContain('running 8s (start from the kernel log)');
		expect(text).toContain('3 of 54 threads still to switch');
		// 8 s after the start: the first round is 7 s away.
		expect(text).toContain('next kernel fake-signal round in ~7s (estimate: every 15s from the start)');
	});

	it('marks a first-seen elapsed time as a lower bound and old kernels as without fake signals', () => {
		const first = toText(foldSnapshot(null, patching(5, 'p', 1, {blockers: [interruptible]})));
		expect(first).toContain('running at least 0s (start not seen)');
		expect(first).toContain('next kernel fake-signal round unknown (start not seen)');
		const old = toText(foldSnapshot(null, patching(5, 'p', 1, {release: '4.19.0-25-amd64'})));
		expect(old).toContain('no automatic fake signals on this kernel (before 5.1)');
		const none = toText(
			foldSnapshot(foldSnapshot(foldSnapshot(null, idle(0)), patching(1, 'p', 0)), idle(3, [patch('p')])),
		);
		expect(none).toContain('Transition: none running');
		expect(none).toContain('last: p patching completed after 1s, ended 2026-01-01T00:00:02.000Z');
	});

	it('prints the blockers table with class, stuck time, function, object and comm', () => {
		const lines = toText(stuck(), {width: 120}).split('\n');
		const header = lines.find((l) => l.includes('TID'))!;
		expect(header.split(/ +/).filter(Boolean)).toEqual([
			'TID',
			'TGID',
			'S',
			'K',
			'CLASS',
			'STUCK',
			'FUNCTION',
			'[object]',
			'COMM',
		]);
		const row = (tid: number) =>
			lines
				.find((l) => l.trimStart().startsWith(`${tid} `))!
				.split(/ +/)
				.filter(Boolean);
		// Pending since the start (t0 + 1 s), now t0 + 9 s.
		expect(row(182)).toEqual([
			'182',
			'182',
			'S',
			'-',
			'interruptible',
			'8s',
			'klp_sleeper_wait',
			'[klp_sleeper]',
			'cat',
		]);
		expect(row(539)).toEqual([
			'539',
			'539',
			'D',
			'-',
			'uninterruptible',
			'8s',
			'klp_sleeper_wait_killable',
			'[klp_sleeper]',
			'cat',
		]);
		expect(row(398)).toEqual([
			'398',
			'398',
			'S',
			'k',
			'interruptible',
			'8s',
			'klp_sleeper_kthread_wait',
			'[klp_sleeper]',
			'klp_sleeper_kt',
		]);
	});

	it('explains the remedy of each blocker in plain words', () => {
		const text = toText(stuck(), {width: 1000});
		const remedy = (tid: number) => text.split('\n').find((l) => l.startsWith(`  ${tid} `))!;
		expect(remedy(182)).toMatch(/user task in interruptible sleep: nudge it \(SIGSTOP then SIGCONT\)/);
		expect(remedy(182)).toMatch(/fake signal every 15s should free it \(next in ~7s\)/);
		expect(remedy(539)).toMatch(/uninterruptible sleep \(D\): reverse the transition/);
		expect(remedy(539)).not.toMatch(/nudge|fake signal/);
		expect(remedy(539)).toMatch(/or kill it \(SIGKILL ends a killable sleep, and the process dies\)/);
		expect(remedy(539)).toMatch(/Of the signals only SIGKILL reaches a killable sleep/);
		const unknownD = toText(stuck([{...killable, killable: null, remedies: ['reverse', 'force']}]), {
			width: 1000,
		});
		expect(unknownD).toMatch(/No signal but SIGKILL reaches it, and SIGKILL only if the sleep is killable/);
		expect(unknownD).not.toMatch(/kill it/);
		expect(remedy(398)).toMatch(
			/kernel thread in interruptible sleep: wait: the kernel wakes interruptible kernel threads/,
		);
		expect(remedy(398)).toMatch(/cannot be nudged/);
		expect(remedy(398)).not.toMatch(/SIGSTOP/);
	});

	it('groups remedies by situation when there are many blockers', () => {
		const many = Array.from({length: 12}, (_, i) => blocker(1000 + i));
		const text = toText(stuck([...many, killable]), {width: 1000});
		expect(text).toContain(
			'12 threads (1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007 and 4 more), user task in interruptible sleep',
		);
		expect(text).toContain('1 threads (539), user task in uninterruptible sleep (D)');
	});

	it('explains a hidden blocker only after more than two empty polls', () => {
		let h = foldSnapshot(null, patching(0, 'p', 0));
		h = foldSnapshot(h, patching(1, 'p', 0));
		expect(toText(h)).not.toContain('Hidden blocker');
		expect(toText(h)).toContain('No visible blocker');
		h = foldSnapshot(h, patching(2, 'p', 0));
		const text = toText(h, {width: 1000});
		expect(text).toContain('Hidden blocker');
		expect(text).toContain('No visible thread has held this transition for 3 polls in a row');
		expect(text).toMatch(/idle task/);
	});

	it('lists warnings, sanitised', () => {
		const text = toText(foldSnapshot(null, snap({at: 0, warnings: [`stack of 182: EACCES${esc}[2J`]})));
		expect(text).toContain('Warnings (1)');
		expect(text).toContain('  - stack of 182: EACCES?[2J');
	});

	it('sanitises every foreign string', () => {
		const evil = `${esc}]0;pwned${bel}`;
		const h = stuck([
			blocker(7, {
				comm: evil,
				state: `S${evil}`,
				function: `f${evil}`,
				object: `o${evil}`,
				wchan: `w${evil}`,
			}),
		]);
		const s = {
			...h.snapshot,
			patches: [patch(`p${evil}`, {objects: [{name: `obj${evil}`, patched: true, functions: []}]})],
			warnings: [evil],
			kernel: {...h.snapshot.kernel, release: `6.1${evil}`},
		};
		const text = toText({...h, snapshot: s}, {width: 200});
		expect(text.includes(esc) || text.includes(bel)).toBe(false);
		expect(text).toContain('?]0;pwned?');
	});

	it('uses no ANSI unless color is set, and some when it is', () => {
		const h = stuck();
		expect(hasAnsi(toText(h))).toBe(false);
		expect(hasAnsi(toText(h, {color: false}))).toBe(false);
		const colored = toText(h, {color: true});
		expect(hasAnsi(colored)).toBe(true);
		// Colour changes nothing but the escapes.
		expect(colored.replaceAll(new RegExp(`${esc}\\[[0-9;]*m`, 'g'), '')).toBe(toText(h));
	});

	it('never writes a line longer than 80 columns at width 80', () => {
		const longName = 'kpatch_5_14_0_284_11_1_el9_2_x86_64_cumulative_patch_with_a_very_long_name';
		const wide = blocker(9, {
			comm: '测试线程名字',
			function: 'a_function_name_that_is_much_longer_than_any_column',
		});
		const h = stuck([interruptible, killable, kthread, wide], {
			patches: [patch(longName, {transition: true}), sleeper],
			warnings: ['x'.repeat(200), `a warning with ${'many words '.repeat(30)}`],
		});
		for (const text of [toText(h, {width: 80}), toText(h, {width: 80, color: false})]) {
			for (const line of text.split('\n')) {
				expect(columns(line), line).toBeLessThanOrEqual(80);
			}
		}
	});

	it('fits any width from 20 to 200 columns, whatever the names', () => {
		const name = fc.string({unit: fc.constantFrom('a', 'b', '_', ' ', '测', '-', esc), maxLength: 60});
		fc.assert(
			fc.property(fc.integer({min: 20, max: 200}), name, name, name, (width, comm, fn, patchName) => {
				const h = stuck([blocker(1, {comm, function: fn}), killable], {
					patches: [patch(patchName, {transition: true})],
					warnings: [fn],
				});
				for (const line of toText(h, {width}).split('\n')) {
					if (columns(line) > width) {
						return false;
					}
				}

				return true;
			}),
			{numRuns: 300},
		);
	});

	it('explains a tree or kernel without livepatch inside the snapshot text', () => {
		const text = toText(
			foldSnapshot(
				null,
				snap({at: 0, livepatch: false, source: {kind: 'tree', root: '/srv/t', scenario: null}}),
			),
			{
				width: 1000,
			},
		);
		expect(text).toContain('/srv/t/sys/kernel/livepatch does not exist');
		expect(text).not.toContain('Patches');
	});
});

describe('noLivepatchMessage', () => {
	it('says plainly that livepatch is missing and points to the emulator', () => {
		const message = noLivepatchMessage(
			snap({
				at: 0,
				livepatch: false,
				release: '6.8.0-generic',
				source: {kind: 'host', root: '/', scenario: null},
			}),
		);
		const flat = message.replaceAll(/\n +/g, ' ');
		expect(flat).toContain('/sys/kernel/livepatch does not exist (kernel 6.8.0-generic)');
		expect(flat).toContain('built without CONFIG_LIVEPATCH, or this is not Linux');
		expect(flat).toContain('klptop --emulate stuck-interruptible');
		for (const line of message.split('\n')) {
			expect(line.length).toBeLessThanOrEqual(80);
		}

		expect(hasAnsi(message)).toBe(false);
	});
});
