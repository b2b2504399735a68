import {describe, expect, it} from 'vitest';
import {
	analysisContext,
	analyzeBlocker,
	blockerDirection,
	buildMatcher,
	classifyState,
	explainBlocker,
	findBlockingFunction,
	hasFakeSignals,
	isBlocking,
	remediesFor,
} from '../../source/model/analysis.js';
import type {PatchInfo, StackFrame, ThreadInfo, TransitionInfo} from '../../source/model/types.js';
import {parseStack} from '../../source/sources/parse.js';
import {toJsonDocument} from '../../source/output/json.js';
import {toText} from '../../source/output/text.js';
import {emulatedAt} from '../helpers/emulated.js';
import {STACKS} from '../helpers/tree.js';

function frames(lines: readonly string[]): StackFrame[] {
	return parseStack(lines.join('\n'));
}

function patch(name: string, objects: Record<string, string[]>, extra: Partial<PatchInfo> = {}): PatchInfo {
	return {
		name,
		enabled: true,
		transition: true,
		replace: null,
		stackOrder: null,
		hasForce: true,
		hasSignal: false,
		objects: Object.entries(objects).map(([object, functions]) => ({
			name: object,
			patched: true,
			functions: functions.map((fn) => ({name: fn, sympos: 1})),
		})),
		...extra,
	};
}

const sleeper = patch('klp_sleeper_patch', {
	klp_sleeper: ['klp_sleeper_kthread_wait', 'klp_sleeper_wait', 'klp_sleeper_wait_killable'],
});
const patching: TransitionInfo = {patch: 'klp_sleeper_patch', direction: 'patching', target: 1};
const unpatching: TransitionInfo = {patch: 'klp_sleeper_patch', direction: 'unpatching', target: 0};
const kernel61 = {release: '6.1.0-56-cloud-amd64', livepatch: true, bootTime: null};

function thread(overrides: Partial<ThreadInfo> & {patchState: 0 | 1}): ThreadInfo & {patchState: 0 | 1} {
	return {
		tid: 182,
		tgid: 182,
		comm: 'cat',
		state: 'S',
		ppid: 150,
		flags: 0x400000,
		kthread: false,
		starttime: 1,
		uid: 0,
		...overrides,
	};
}

describe('classifyState', () => {
	it.each([
		['R', 'running'],
		['W', 'running'],
		['S', 'interruptible'],
		['D', 'uninterruptible'],
		['I', 'uninterruptible'],
		['P', 'uninterruptible'],
		['K', 'uninterruptible'],
		['T', 'stopped'],
		['t', 'stopped'],
		['Z', 'zombie'],
		['X', 'zombie'],
		['x', 'zombie'],
		['?', 'unknown'],
		['', 'unknown'],
		['Q', 'unknown'],
	] as const)('%s is %s', (state, expected) => {
		expect(classifyState(state)).toBe(expected);
	});
});

describe('blocking and direction', () => {
	it('blocks when patch_state is 0 or 1 and differs from the target', () => {
		expect(isBlocking(0, 1)).toBe(true);
		expect(isBlocking(1, 0)).toBe(true);
		expect(isBlocking(1, 1)).toBe(false);
		expect(isBlocking(0, 0)).toBe(false);
		expect(isBlocking(-1, 1)).toBe(false);
		expect(isBlocking(-1, 0)).toBe(false);
		expect(isBlocking(null, 1)).toBe(false);
		expect(blockerDirection(0)).toBe('patching');
		expect(blockerDirection(1)).toBe('unpatching');
	});
});

describe('fake signals and remedies', () => {
	it('knows the 15 s fake signal from the release, else from the patch files', () => {
		expect(hasFakeSignals({release: '6.1.0-56-cloud-amd64'})).toBe(true);
		expect(hasFakeSignals({release: '5.1.0'})).toBe(true);
		expect(hasFakeSignals({release: '5.0.21'})).toBe(false);
		expect(hasFakeSignals({release: '4.19.0-6-amd64'})).toBe(false);
		expect(hasFakeSignals({release: null}, {hasForce: true, hasSignal: false})).toBe(true);
		expect(hasFakeSignals({release: null}, {hasForce: true, hasSignal: true})).toBe(false);
		expect(hasFakeSignals({release: null}, {hasForce: false, hasSignal: false})).toBeNull();
		expect(hasFakeSignals({release: 'garbage'})).toBeNull();
	});

	it('orders remedies by what the kernel can still do', () => {
		expect(remediesFor('interruptible', false, true)).toEqual(['nudge', 'wait', 'reverse', 'force']);
		expect(remediesFor('interruptible', false, false)).toEqual(['nudge', 'reverse', 'force']);
		expect(remediesFor('interruptible', true, true)).toEqual(['wait', 'reverse', 'force']);
		expect(remediesFor('interruptible', true, null)).toEqual(['reverse', 'force']);
		expect(remediesFor('uninterruptible', false, true)).toEqual(['reverse', 'force']);
		expect(remediesFor('uninterruptible', true, true)).toEqual(['reverse', 'force']);
		expect(remediesFor('running', false, true)).toEqual(['wait', 'reverse', 'force']);
		expect(remediesFor('running', true, false)).toEqual(['wait', 'reverse', 'force']);
		expect(remediesFor('stopped', false, true)).toEqual(['wait', 'reverse', 'force']);
		expect(remediesFor('zombie', false, true)).toEqual(['reverse', 'force']);
		expect(remediesFor('unknown', false, true)).toEqual(['reverse', 'force']);
	});

	it('offers force only where the patch has a force file (4.16+; 4.12-4.15 have none)', () => {
		expect(remediesFor('interruptible', false, false, false)).toEqual(['nudge', 'reverse']);
		expect(remediesFor('uninterruptible', false, false, false)).toEqual(['reverse']);
		expect(remediesFor('running', false, false, true)).toEqual(['wait', 'reverse', 'force']);
		const old = {release: '4.12.14'};
		const noForce = {...sleeper, hasForce: false};
		const stuck = analyzeBlocker(
			thread({patchState: 0, state: 'D'}),
			null,
			frames(STACKS.killableReader),
			analysisContext(old, [noForce], patching),
		);
		expect(stuck.remedies).toEqual(['reverse', 'kill']);
		const text = explainBlocker(stuck, old, noForce).join('\n');
		expect(text).not.toMatch(/forcing|force: write/);
		expect(text).toContain('force: not on this kernel');
	});
});

describe('findBlockingFunction: patching', () => {
	const matcher = buildMatcher([sleeper], patching);

	it('S2: the interruptible reader sits in klp_sleeper_wait [klp_sleeper]', () => {
		expect(findBlockingFunction(matcher, frames(STACKS.interruptibleReader), 'klp_sleeper_wait')).toEqual({
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			matchedFrame: 0,
			matchedBy: 'stack',
			newCode: null,
		});
	});

	it('S4/S5: kthread and killable sleeper', () => {
		expect(findBlockingFunction(matcher, frames(STACKS.kthread), null)).toMatchObject({
			function: 'klp_sleeper_kthread_wait',
			matchedFrame: 0,
		});
		expect(findBlockingFunction(matcher, frames(STACKS.killableReader), null)).toMatchObject({
			function: 'klp_sleeper_wait_killable',
			object: 'klp_sleeper',
		});
	});

	it('a deeper frame matches too; a frame of the right name in the wrong module does not', () => {
		const deep = frames(['[<0>] schedule+0x5/0x10', '[<0>] klp_sleeper_wait+0xb4/0x14c [klp_sleeper]']);
		expect(findBlockingFunction(matcher, deep, null)).toMatchObject({
			matchedFrame: 1,
			function: 'klp_sleeper_wait',
		});
		const wrongModule = frames([
			'[<0>] klp_sleeper_wait+0xb4/0x14c [other]',
			'[<0>] klp_sleeper_wait+0xb4/0x14c',
		]);
		expect(findBlockingFunction(matcher, wrongModule, null)).toEqual({
			function: null,
			object: null,
			matchedFrame: null,
			matchedBy: null,
			newCode: null,
		});
	});

	it('S2 after SIGSTOP: nothing checked on the stack', () => {
		expect(findBlockingFunction(matcher, frames(STACKS.stopped), 'do_signal_stop').function).toBeNull();
	});

	it('vmlinux functions match frames without a module only', () => {
		const vmlinux = buildMatcher([patch('klp_vmlinux_patch', {vmlinux: ['cmdline_proc_show']})], {
			patch: 'klp_vmlinux_patch',
			direction: 'patching',
			target: 1,
		});
		expect(findBlockingFunction(vmlinux, frames(STACKS.cmdline), null)).toMatchObject({
			function: 'cmdline_proc_show',
			object: 'vmlinux',
		});
		expect(
			findBlockingFunction(vmlinux, frames(['[<0>] cmdline_proc_show+0x1/0x2 [klp_vmlinux_patch]']), null)
				.function,
		).toBeNull();
	});

	it('falls back to wchan only when the stack is unreadable or empty, and only on checked names', () => {
		expect(findBlockingFunction(matcher, null, 'klp_sleeper_wait')).toEqual({
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			matchedFrame: null,
			matchedBy: 'wchan',
			newCode: null,
		});
		expect(findBlockingFunction(matcher, [], 'klp_sleeper_wait_killable')).toMatchObject({
			matchedBy: 'wchan',
		});
		expect(findBlockingFunction(matcher, null, 'do_signal_stop').function).toBeNull();
		expect(findBlockingFunction(matcher, null, 'livepatch_klp_sleeper_wait').function).toBeNull();
		expect(findBlockingFunction(matcher, null, null).function).toBeNull();
		expect(findBlockingFunction(matcher, null, '0').function).toBeNull();
	});

	it("an older patch's new code for a shared function is checked (atomic replace / stacking)", () => {
		const older = patch(
			'old_patch',
			{vmlinux: ['cmdline_proc_show', 'other_fn']},
			{transition: false, stackOrder: 1},
		);
		const newer = patch('new_patch', {vmlinux: ['cmdline_proc_show']}, {replace: true, stackOrder: 2});
		const transition: TransitionInfo = {patch: 'new_patch', direction: 'patching', target: 1};
		const stacking = buildMatcher([older, newer], transition);
		expect(
			findBlockingFunction(stacking, frames(['[<0>] livepatch_cmdline_proc_show+0x1/0x2 [old_patch]']), null),
		).toEqual({
			function: 'livepatch_cmdline_proc_show',
			object: 'vmlinux',
			matchedFrame: 0,
			matchedBy: 'stack',
			// The frame is old_patch's replacement code, not vmlinux's: it says so (issue 16).
			newCode: {patch: 'old_patch', module: 'old_patch', replaces: 'cmdline_proc_show'},
		});
		// kpatch-style: same name, patch module suffix.
		expect(
			findBlockingFunction(stacking, frames(['[<0>] cmdline_proc_show+0x1/0x2 [old_patch]']), null),
		).toMatchObject({function: 'cmdline_proc_show', object: 'vmlinux'});
		// Another frame of the older module: a weaker match, behind an exact one.
		const helperThenExact = frames([
			'[<0>] helper+0x1/0x2 [old_patch]',
			'[<0>] livepatch_cmdline_proc_show+0x1/0x2 [old_patch]',
		]);
		expect(findBlockingFunction(stacking, helperThenExact, null)).toMatchObject({matchedFrame: 1});
		expect(findBlockingFunction(stacking, frames(['[<0>] helper+0x1/0x2 [old_patch]']), null)).toMatchObject({
			function: 'helper',
			object: 'vmlinux',
			matchedFrame: 0,
			newCode: {patch: 'old_patch', module: 'old_patch', replaces: null},
		});
		// wchan of the older patch's new code.
		expect(findBlockingFunction(stacking, null, 'livepatch_cmdline_proc_show')).toMatchObject({
			function: 'livepatch_cmdline_proc_show',
			object: 'vmlinux',
			matchedBy: 'wchan',
			newCode: {patch: 'old_patch', module: 'old_patch', replaces: 'cmdline_proc_show'},
		});
		// An older patch that shares nothing is not checked.
		const unrelated = patch('unrelated', {vmlinux: ['meminfo_proc_show']}, {transition: false});
		const matcher2 = buildMatcher([unrelated, newer], transition);
		expect(
			findBlockingFunction(matcher2, frames(['[<0>] helper+0x1/0x2 [unrelated]']), null).function,
		).toBeNull();
	});

	it('no matcher without the transition patch', () => {
		expect(buildMatcher([], patching)).toBeNull();
		expect(
			findBlockingFunction(null, frames(STACKS.interruptibleReader), 'klp_sleeper_wait').function,
		).toBeNull();
	});
});

describe('findBlockingFunction: unpatching', () => {
	const matcher = buildMatcher([{...sleeper, enabled: false}], unpatching);

	it('S3: the reader sleeps in the new code patched_wait [klp_sleeper_patch]', () => {
		expect(findBlockingFunction(matcher, frames(STACKS.newCode), 'patched_wait')).toEqual({
			function: 'patched_wait',
			object: 'klp_sleeper',
			matchedFrame: 0,
			matchedBy: 'stack',
			newCode: {patch: 'klp_sleeper_patch', module: 'klp_sleeper_patch', replaces: null},
		});
	});

	it('old code is not checked while unpatching', () => {
		expect(findBlockingFunction(matcher, frames(STACKS.interruptibleReader), null).function).toBeNull();
	});

	it('names the old function when the new code keeps or prefixes its name', () => {
		const two = buildMatcher(
			[patch('p-x', {vmlinux: ['cmdline_proc_show'], mod_a: ['a_fn']}, {enabled: false})],
			{patch: 'p-x', direction: 'unpatching', target: 0},
		);
		expect(findBlockingFunction(two, frames(['[<0>] a_fn+0x1/0x2 [p_x]']), null)).toMatchObject({
			function: 'a_fn',
			object: 'mod_a',
		});
		expect(
			findBlockingFunction(two, frames(['[<0>] livepatch_cmdline_proc_show+0x1/0x2 [p_x]']), null),
		).toMatchObject({function: 'livepatch_cmdline_proc_show', object: 'vmlinux'});
		// Several objects and an unknown name: the patch module is all that can be said.
		expect(findBlockingFunction(two, frames(['[<0>] new_thing+0x1/0x2 [p_x]']), null)).toMatchObject({
			function: 'new_thing',
			object: 'p-x',
		});
	});

	it('wchan of the new code matches only on names that stand for a checked function', () => {
		expect(findBlockingFunction(matcher, null, 'patched_wait').function).toBeNull();
		expect(findBlockingFunction(matcher, null, 'livepatch_klp_sleeper_wait')).toMatchObject({
			function: 'livepatch_klp_sleeper_wait',
			object: 'klp_sleeper',
			matchedBy: 'wchan',
		});
	});
});

describe('analyzeBlocker and explainBlocker', () => {
	const context = analysisContext(kernel61, [sleeper], patching);

	it('every class, both directions', () => {
		const reader = analyzeBlocker(
			thread({patchState: 0}),
			'klp_sleeper_wait',
			frames(STACKS.interruptibleReader),
			context,
		);
		expect(reader).toMatchObject({
			class: 'interruptible',
			function: 'klp_sleeper_wait',
			object: 'klp_sleeper',
			wchan: 'klp_sleeper_wait',
			remedies: ['nudge', 'wait', 'reverse', 'force'],
		});
		const explained = explainBlocker(reader, kernel61);
		expect(explained[0]).toBe(
			'cat (tid 182) is a user task in an interruptible sleep (state S); its patch_state is 0, the patching transition needs 1.',
		);
		expect(explained[1]).toContain('klp_sleeper_wait (klp_sleeper) at frame #0');
		expect(explained.join('\n')).toContain('fake signal every 15 s');
		expect(explained.slice(-4).map((line) => line.split(':')[0])).toEqual([
			'nudge',
			'wait',
			'reverse',
			'force',
		]);

		const kt = analyzeBlocker(
			thread({patchState: 0, tid: 398, tgid: 398, comm: 'klp_sleeper_kt', kthread: true, ppid: 2}),
			'klp_sleeper_kthread_wait',
			frames(STACKS.kthread),
			context,
		);
		expect(kt.remedies).toEqual(['wait', 'reverse', 'force']);
		expect(explainBlocker(kt, kernel61).join('\n')).toContain('cannot be nudged');

		const killable = analyzeBlocker(
			thread({patchState: 0, state: 'D'}),
			null,
			frames(STACKS.killableReader),
			context,
		);
		expect(killable.class).toBe('uninterruptible');
		expect(killable.killable).toBe(true);
		expect(killable.remedies).toEqual(['reverse', 'kill', 'force']);
		const killText = explainBlocker(killable, kernel61).join('\n');
		expect(killText).toContain(
			'not ended by the fake signal or a nudge, but SIGKILL ends it, killing the process',
		);
		expect(killText).toContain('kill: SIGKILL (kill -KILL 182) ends a killable sleep');

		const idle = analyzeBlocker(thread({patchState: 0, state: 'I', kthread: true}), null, [], context);
		expect(explainBlocker(idle, kernel61).join('\n')).toContain('TASK_IDLE');

		const spinning = analyzeBlocker(
			thread({patchState: 0, state: 'R', tid: 601, tgid: 600}),
			null,
			[],
			context,
		);
		expect(spinning).toMatchObject({
			class: 'running',
			function: null,
			remedies: ['wait', 'reverse', 'force'],
		});
		const spinText = explainBlocker(spinning, kernel61);
		expect(spinText[0]).toContain('(tid 601, pid 600)');
		expect(spinText[1]).toContain('simply running');

		const stopped = analyzeBlocker(
			thread({patchState: 0, state: 'T'}),
			'do_signal_stop',
			frames(STACKS.stopped),
			context,
		);
		expect(stopped).toMatchObject({class: 'stopped', function: null, remedies: ['wait', 'reverse', 'force']});

		const zombie = analyzeBlocker(thread({patchState: 0, state: 'Z'}), null, [], context);
		expect(zombie.remedies).toEqual(['reverse', 'force']);
		expect(explainBlocker(zombie, kernel61).join('\n')).toContain('zombie');

		const unpatchContext = analysisContext(kernel61, [{...sleeper, enabled: false}], unpatching);
		const back = analyzeBlocker(
			thread({patchState: 1}),
			'patched_wait',
			frames(STACKS.newCode),
			unpatchContext,
		);
		expect(back).toMatchObject({function: 'patched_wait', object: 'klp_sleeper', matchedFrame: 0});
		const backText = explainBlocker(back, kernel61).join('\n');
		expect(backText).toContain('the unpatching transition needs 0');
		expect(backText).toContain("patch's new code");
		expect(backText).toContain('reverse: write 1 to enabled');
	});

	it('offers SIGKILL only for a D sleep known to be killable, and says when it cannot tell', () => {
		const plainD = ['[<0>] io_schedule_wait+0x10/0x40', ...STACKS.killableReader.slice(1)];
		const unknown = analyzeBlocker(thread({patchState: 0, state: 'D'}), null, frames(plainD), context);
		expect(unknown.killable).toBeNull();
		expect(unknown.remedies).toEqual(['reverse', 'force']);
		const unknownText = explainBlocker(unknown, kernel61).join('\n');
		expect(unknownText).toContain('If it is a killable sleep (TASK_KILLABLE: /proc shows D for both');
		expect(unknownText).toContain('SIGKILL would end it, killing the process');
		expect(unknownText).not.toContain('kill: SIGKILL');

		// Known by wchan when the stack is unreadable.
		const byWchan = analyzeBlocker(
			thread({patchState: 0, state: 'D'}),
			'klp_sleeper_wait_killable',
			null,
			context,
		);
		expect(byWchan.remedies).toEqual(['reverse', 'kill', 'force']);

		// A kernel thread ignores SIGKILL; an S sleep is not a D sleep whatever its name.
		const kthread = analyzeBlocker(
			thread({patchState: 0, state: 'D', kthread: true}),
			null,
			frames(STACKS.killableReader),
			context,
		);
		expect(kthread.remedies).toEqual(['reverse', 'force']);
		expect(explainBlocker(kthread, kernel61).join('\n')).toContain('ignores even SIGKILL');
		const sleeping = analyzeBlocker(
			thread({patchState: 0, state: 'S'}),
			null,
			frames(STACKS.killableReader),
			context,
		);
		expect(sleeping.killable).toBe(false);
		expect(sleeping.remedies).not.toContain('kill');
	});

	it('explains an unreadable stack and sanitises foreign strings', () => {
		const blocker = analyzeBlocker(thread({patchState: 0, comm: 'evil\u001b[2J'}), 'some_fn', null, context);
		const text = explainBlocker(blocker, kernel61);
		expect(text.join('\n')).not.toContain('\u001b');
		expect(text[0]).toContain('evil?[2J');
		expect(text[1]).toContain('stack is unreadable');
		expect(text[1]).toContain('wchan is some_fn');
	});

	it('4.16-5.0: mentions the signal file and promises no automatic signal', () => {
		const old = {release: '4.19.0'};
		const blocker = analyzeBlocker(thread({patchState: 0}), null, frames(STACKS.interruptibleReader), {
			...analysisContext(old, [{...sleeper, hasSignal: true}], patching),
		});
		expect(blocker.remedies).toEqual(['nudge', 'reverse', 'force']);
		const text = explainBlocker(blocker, old, {...sleeper, hasSignal: true}).join('\n');
		expect(text).toContain('klp_sleeper_patch/signal');
		expect(text).not.toContain('every 15 s');
	});
});

describe("the emulator's replace scenario: blockers asleep in the previous patch's code", () => {
	it('names the module the frame is in and says it is the previous patch replacement function', () => {
		const history = emulatedAt('replace', 5).history();
		const cat = history.snapshot.blockers.find((b) => b.tid === 182)!;
		expect(cat).toMatchObject({
			function: 'patched_wait',
			object: 'klp_sleeper',
			newCode: {patch: 'klp_sleeper_patch', module: 'klp_sleeper_patch', replaces: null},
		});
		expect(cat.stack![cat.matchedFrame!]!.module).toBe('klp_sleeper_patch');
		const v2 = history.snapshot.patches.find((p) => p.name === 'klp_sleeper_patch_v2')!;
		const explained = explainBlocker(cat, history.snapshot.kernel, v2).join('\n');
		expect(explained).toContain('Its stack holds patched_wait (klp_sleeper_patch) at frame #0');
		expect(explained).toContain(
			'patched_wait is not the original: it is the replacement code of the previous patch klp_sleeper_patch, which klp_sleeper_patch_v2 replaces in turn.',
		);
		const text = toText(history, {width: 160});
		const row = text.split('\n').find((line) => /^ +182 /.test(line))!;
		expect(row).toContain('patched_wait [klp_sleeper_patch]');
		expect(toJsonDocument(history).blockers.find((b) => b.tid === 182)).toMatchObject({
			function: 'patched_wait',
			object: 'klp_sleeper',
			new_code: {patch: 'klp_sleeper_patch', module: 'klp_sleeper_patch', replaces: null},
		});
	});
});
