// The dashboard's screens at the widths people use (80, 120, 200 columns): what is on them, that no
// line is wider than the terminal and the frame never taller, colour and ASCII modes, and that a
// hostile process name cannot put escape sequences on the screen.
import {render} from 'ink-testing-library';
import {describe, expect, it} from 'vitest';
import {keymap, displayKey} from '../../source/keymap.js';
import {minHeight, minWidth} from '../../source/dashboard/layout.js';
import {cellWidth, functionLabel} from '../../source/views/format.js';
import {EventLog} from '../../source/views/event-log.js';
import {PatchDetail} from '../../source/views/patch-detail.js';
import {patchActions} from '../../source/dashboard/patch-menu.js';
import {TaskTable} from '../../source/views/task-table.js';
import {deriveRows, defaultViewOptions} from '../../source/dashboard/rows.js';
import {blocker, FakeFeed, manyBlockers, patch, snapshot, stuckHistory, t0, historyOf} from './fixtures.js';
import {isAscii, keys, plain, renderApp, waitForFrame, withChalkLevel} from './helpers.js';
import {foldSnapshot} from '../../source/model/history.js';
import {toJsonDocument} from '../../source/output/json.js';
import {toText} from '../../source/output/text.js';
import {emulatedAt} from '../helpers/emulated.js';

const sizes = [
	[80, 24],
	[120, 40],
	[200, 50],
] as const;

function lines(frame: string): string[] {
	return frame.split('\n');
}

describe.each(sizes)('the main screen at %i x %i', (width, height) => {
	const history = stuckHistory(20, {
		blockers: [blocker(42, {comm: 'sleeper'}), ...manyBlockers(60)],
	});

	it('fits the terminal exactly: never wider, never taller', () => {
		const {frame} = renderApp({feed: new FakeFeed([snapshot()]), history, width, height});
		const shown = lines(frame());
		expect(shown).toHaveLength(height);
		for (const line of shown) {
			expect(cellWidth(line)).toBeLessThanOrEqual(width);
		}
	});

	it('names the source and shows the transition, the patch and the blockers', () => {
		const {frame} = renderApp({feed: new FakeFeed([snapshot()]), history, width, height});
		const text = frame();
		expect(text).toContain('emulator stuck-interruptible');
		expect(text).toContain('kernel 6.1.0-56-amd64');
		expect(text).toMatch(/patching klp_sleeper_patch/);
		expect(text).toMatch(/61\/61 pending|61\/\d+ pending/);
		expect(text).toContain('klp_sleeper_patch');
		expect(text).toMatch(/TID +TGID|TID +USER|TID/);
		const row = lines(text).find((line) => line.includes(' 42 '));
		expect(row).toBeDefined();
		expect(row).toContain('klp_sleeper_wait');
		expect(row).toContain('sleeper');
		expect(row).toContain('0->1');
		expect(row).toContain('20s');
		expect(text).toContain('q Quit');
	});

	it('shows the longer forms where there is room', () => {
		const {frame} = renderApp({feed: new FakeFeed([snapshot()]), history, width, height});
		const row = lines(frame()).find((line) => line.includes(' 42 '))!;
		if (width >= 120) {
			expect(row).toContain('klp_sleeper_wait [klp_sleeper]');
			expect(row).toContain('interruptible');
		} else {
			expect(row).toContain('intr');
		}
	});
});

describe('styles', () => {
	const history = stuckHistory(20);

	it('uses colour when asked and none with color: false (NO_COLOR, --no-color)', () => {
		withChalkLevel(1, () => {
			const colored = renderApp({
				feed: new FakeFeed([snapshot()]),
				history,
				theme: {color: true, ascii: false},
			});
			// eslint-disable-next-line no-control-regex
			expect(colored.lastFrame()).toMatch(/\u001B\[3[1-7]m/);
			const mono = renderApp({
				feed: new FakeFeed([snapshot()]),
				history,
				theme: {color: false, ascii: false},
			});
			// eslint-disable-next-line no-control-regex
			expect(mono.lastFrame()).not.toMatch(/\u001B\[(3[0-7]|9[0-7]|4[0-7]|38;|48;)/);
			// Selection and focus stay visible without colour.
			expect(mono.lastFrame()).toContain('\u001B[7m');
		});
	});

	it('draws only ASCII with ascii: true', () => {
		const {frame, press} = renderApp({
			feed: new FakeFeed([snapshot()]),
			history,
			theme: {color: false, ascii: true},
		});
		expect(isAscii(frame())).toBe(true);
		expect(frame()).toContain('0->1');
		return (async () => {
			await press(keys.enter);
			await waitForFrame(
				() => frame(),
				(text) => text.includes('Kernel stack'),
			);
			expect(isAscii(frame())).toBe(true);
		})();
	});
});

describe('hostile strings', () => {
	// OSC 52 (clipboard write), clear screen, a C1 CSI, a real SGR colour, a bidi override.
	const evil = '\u001B]52;c;ZXZpbA==\u0007\u001B[2J\u009B31mEVIL\u001B[31mRED\u202Eexe.sh';

	it('never lets escape sequences from a comm, function or patch name reach the frame', async () => {
		const history = stuckHistory(3, {
			blockers: [
				blocker(666, {
					comm: evil,
					function: `${evil}fn`,
					stack: [{raw: `[<0>] ${evil}+0x1/0x2`, func: evil, module: null}],
				}),
			],
			patches: [patch(`p${evil}`, {transition: true})],
		});
		const {lastFrame, press} = renderApp({feed: new FakeFeed([snapshot()]), history, width: 200, height: 40});
		const check = (frame: string | undefined) => {
			// Only the dashboard's own SGR styles may remain; strip exactly those and nothing else.
			const text = plain(frame);
			// eslint-disable-next-line no-control-regex
			expect(text).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202E]/);
			expect(text).toContain('EVIL');
			// The process's own colour code arrives as visible text, defused.
			expect(text).toContain('?[31mRED');
		};

		check(lastFrame());
		await press(keys.enter);
		await waitForFrame(lastFrame, (frame) => frame.includes('Kernel stack'));
		check(lastFrame());
	});
});

describe('function labels', () => {
	it('name the object in brackets, sanitised; the task table leaves vmlinux out', () => {
		expect(functionLabel('klp_sleeper_wait', 'klp_sleeper')).toBe('klp_sleeper_wait [klp_sleeper]');
		expect(functionLabel('cmdline_proc_show', 'vmlinux')).toBe('cmdline_proc_show [vmlinux]');
		expect(functionLabel('cmdline_proc_show', 'vmlinux', {hideVmlinux: true})).toBe('cmdline_proc_show');
		expect(functionLabel('fn', 'mod', {hideVmlinux: true})).toBe('fn [mod]');
		expect(functionLabel('fn', null)).toBe('fn');
		const label = functionLabel('f\u001B[2Jn', 'm\u009Bod');
		expect(label.includes('\u001B') || label.includes('\u009B')).toBe(false);
	});
});

describe('notices', () => {
	it('asks for a bigger terminal below the minimum, within the frame', () => {
		const {frame} = renderApp({
			feed: new FakeFeed([snapshot()]),
			history: stuckHistory(1),
			width: 50,
			height: 10,
		});
		expect(frame()).toContain(`terminal too small: need ${minWidth}x${minHeight}`);
		expect(lines(frame()).length).toBeLessThanOrEqual(10);
		for (const line of lines(frame())) expect(cellWidth(line)).toBeLessThanOrEqual(50);
	});

	it('says plainly when the host has no livepatch and opens the emulator with e', async () => {
		const emulated = new FakeFeed([snapshot()]);
		const asked: string[] = [];
		const {frame, press} = renderApp({
			feed: null,
			makeEmulatorFeed: (scenario) => {
				asked.push(scenario);
				return emulated;
			},
			delayS: 0.05,
		});
		expect(frame()).toContain('has no /sys/kernel/livepatch');
		expect(frame()).toContain('Press e');
		expect(frame()).not.toContain('emulator stuck-interruptible');
		await press('e');
		expect(asked).toEqual(['stuck-interruptible']);
		await waitForFrame(
			frame,
			(text) => text.includes('emulator stuck-interruptible') && text.includes('4242'),
		);
	});
});

describe('help and footer come from the key map', () => {
	it('lists every key and every description of the map', async () => {
		const {frame, press} = renderApp({
			feed: new FakeFeed([snapshot()]),
			history: stuckHistory(1),
			width: 200,
			height: 120,
		});
		await press('h');
		const text = await waitForFrame(frame, (t) => t.includes('Help: every key'));
		// Keys that do nothing where help opens (the no-livepatch screen's `e`) are left out (issue 16).
		for (const binding of keymap.filter((candidate) => candidate.helpWhen === undefined)) {
			for (const key of binding.keys) {
				expect(text).toContain(displayKey(key));
			}

			expect(text).toContain(binding.description);
		}
	});

	it('says in the footer and the help why actions are off when read-only', async () => {
		const {frame, press} = renderApp({
			feed: new FakeFeed([snapshot()]),
			history: stuckHistory(1),
			readonlyReason: 'not root',
			width: 120,
			height: 100,
		});
		expect(lines(frame()).at(-1)).toContain('read-only: not root');
		expect(lines(frame()).at(-1)).not.toContain('Nudge');
		await press('?');
		const text = await waitForFrame(frame, (t) => t.includes('Help: every key'));
		expect(text).toMatch(/nudge the selected.*\(read-only: not root\)/);
	});
});

describe('details', () => {
	it('shows a thread with its matched frame highlighted and what can help', async () => {
		const {frame, press} = withChalkLevel(1, () =>
			renderApp({feed: new FakeFeed([snapshot()]), history: stuckHistory(20), width: 120, height: 40}),
		);
		await press(keys.enter);
		const text = await waitForFrame(frame, (t) => t.includes('Kernel stack'));
		expect(text).toContain('sleeper');
		expect(text).toContain('blocking for 20s');
		expect(text).toContain('wchan klp_sleeper_wait');
		expect(text).toContain('interruptible sleep');
		const matched = lines(text).find((line) => line.includes('klp_sleeper_wait+0xb4/0x14c'));
		expect(matched).toMatch(/^▶ #0/);
		expect(matched).toContain('patched function');
		expect(lines(text).find((line) => line.includes('vfs_read+'))).not.toContain('▶');
		await press(keys.escape);
		await waitForFrame(frame, (t) => t.includes('FUNCTION'));
	});

	it.each([false, true])(
		'shows a patch: boxed table of functions (ascii %s) and its action menu',
		(ascii) => {
			const history = historyOf(snapshot({time: t0}));
			const p = patch('klp_sleeper_patch', {transition: true});
			const {lastFrame} = render(
				<PatchDetail
					patch={p}
					name={p.name}
					history={history}
					actions={patchActions(p, history.snapshot.transition)}
					menu={1}
					readonlyReason={null}
					height={30}
					width={100}
					theme={{color: false, ascii}}
				/>,
			);
			const text = plain(lastFrame());
			expect(text).toContain('klp_sleeper_wait');
			expect(text).toContain('do_sleep_read');
			expect(text).toMatch(/function/);
			expect(text).toContain(ascii ? '+--' : '┌─');
			if (ascii) expect(isAscii(text)).toBe(true);
			expect(text).toMatch(/R +reverse: turn patching into unpatching/);
			expect(text).toMatch(/D +disable: start unpatching +\(in transition: use reverse\)/);
			expect(text).toMatch(/F +force .*\(asks for confirmation\)/);
			for (const line of lines(text)) expect(cellWidth(line)).toBeLessThanOrEqual(100);
		},
	);
});

describe('task table', () => {
	it('groups thousands of blockers into one line per function', () => {
		const history = historyOf(snapshot({blockers: manyBlockers(4000)}));
		const rows = deriveRows(history, {...defaultViewOptions, group: 'function'});
		const {lastFrame} = render(
			<TaskTable
				rows={rows}
				top={0}
				selectedIndex={0}
				height={10}
				width={120}
				sort={defaultViewOptions.sort}
				tagged={new Set()}
				focused
				target={1}
				processes={false}
				emptyText=""
				theme={{color: false, ascii: false}}
			/>,
		);
		const text = plain(lastFrame());
		expect(lines(text).filter((line) => line.trim() !== '')).toHaveLength(5);
		expect(text).toMatch(/▸ klp_sleeper_wait \[klp_sleeper\] +1000 threads \(1000 interruptible\)/);
		expect(text).toMatch(/▸ do_exit +1000 threads \(1000 uninterruptible\)/);
	});
});

describe('threads whose patch_state is unreadable (not root)', () => {
	it('are counted as unknown in the header, the patch panel, --once and JSON, not as switched', () => {
		// The non-root scenario: uid 1000 reads its own 4 threads' patch_state, 53 root-owned ones fail.
		const history = emulatedAt('non-root', 5).history();
		expect(history.snapshot.tasks).toEqual({total: 57, unknown: 53, byPatchState: {'-1': 0, '0': 1, '1': 3}});
		expect(history.transition).toMatchObject({pending: 1, total: 57, unknown: 53});
		const {frame} = renderApp({feed: new FakeFeed([history.snapshot]), history, width: 160, height: 30});
		const text = frame();
		// 3 of 57 known to have switched: 5%, not the 98% that counted the unreadable ones as done.
		expect(text).toMatch(/1\/57 pending 53 unknown \S+ 5%/);
		expect(text).toContain('(3 patched, 1 unpatched, 53 unknown: patch_state unreadable)');
		expect(text).toMatch(/klp_sleeper_patch .*patching 5%/);
		expect(text).not.toContain('98%');
		expect(toText(history)).toContain('1 of 57 threads still to switch, 53 unknown');
		const doc = toJsonDocument(history);
		expect(doc.tasks.unknown).toBe(53);
		expect(doc.transition?.unknown).toBe(53);
	});
});

describe('after a patch is disabled and unpatched', () => {
	it('says its module is still loaded and how to unload it, not that no module is loaded', () => {
		// echo 0 > enabled; the fake signal frees the last blocker at ~15 s; the directory goes, the module stays.
		const emulated = emulatedAt('unpatch-fake-signal', 30);
		const snapshot = emulated.scan();
		expect(snapshot.patches).toEqual([]);
		expect(snapshot.leftoverModules).toEqual(['klp_sleeper_patch']);
		const history = foldSnapshot(null, snapshot);
		const {frame} = renderApp({feed: new FakeFeed([snapshot]), history, width: 120, height: 30});
		const text = frame();
		expect(text).toContain('no patch is active; still loaded (disabled): klp_sleeper_patch');
		expect(text).toContain('unload with: rmmod klp_sleeper_patch');
		expect(text).not.toContain('no livepatch module is loaded');
		// Once unloaded, it says so.
		emulated.emulation.kernel.rmmod('klp_sleeper_patch');
		const after = emulated.scan();
		expect(after.leftoverModules).toEqual([]);
		const unloaded = renderApp({
			feed: new FakeFeed([after]),
			history: foldSnapshot(null, after),
			width: 120,
			height: 30,
		});
		expect(unloaded.frame()).toContain('no livepatch module is loaded');
	});
});

describe('event log', () => {
	it('shows a repeated line once, with its count before the text (a narrow terminal keeps it)', () => {
		const line = 'livepatch: klp_try_switch_task: cat:182 is sleeping on function klp_sleeper_wait';
		const events = [
			{time: t0, kind: 'transition-started', patch: 'p', tid: null, text: 'p: patching transition started'},
			{time: t0 + 9000, kind: 'kernel-log', patch: null, tid: 182, text: line, repeats: 9},
		] as const;
		const {lastFrame} = render(
			<EventLog
				events={events}
				scroll={0}
				height={4}
				width={60}
				focused={false}
				theme={{color: false, ascii: false}}
			/>,
		);
		const frame = plain(lastFrame()!);
		expect(frame).toMatch(/\d\d:\d\d:\d\d x9 livepatch: klp_try_switch/);
		expect(frame.match(/is sleeping|klp_try_switch/g)).toHaveLength(1);
	});
});
