import {describe, expect, it} from 'vitest';
import {actionsFromEvents, compareSequences, errnoOf, foldObservations, normaliseView} from './normalise.mjs';
import type {Step} from './normalise.mjs';

const cat = {comm: 'cat', class: 'interruptible', function: 'klp_sleeper_wait', object: 'klp_sleeper'};
const patching = (blockers: unknown[]) => ({
	patches: [{name: 'p', enabled: true, transition: true}],
	transition: {patch: 'p', direction: 'patching', pending: 1},
	blockers,
});
const applied = {patches: [{name: 'p', enabled: true, transition: false}], transition: null, blockers: []};

describe('normaliseView', () => {
	it('keeps patches, direction and who blocks; folds unexplained blockers into `others`', () => {
		const view = patching([
			{tid: 9, ...cat, kthread: false, remedies: ['nudge']},
			{tid: 10, ...cat, kthread: false},
			{tid: 11, comm: 'kworker/0:1', class: 'interruptible', function: null, object: null, kthread: true},
		]);
		expect(normaliseView(view)).toEqual({
			patches: [{name: 'p', enabled: true, transition: true}],
			transition: {patch: 'p', direction: 'patching'},
			blockers: [{...cat, kthread: false}],
			others: true,
		});
	});

	it('reads the sysfs strings of the rig reader like klptop booleans', () => {
		const raw = {patches: [{name: 'p', enabled: '0', transition: '1'}], transition: null, blockers: []};
		expect(normaliseView(raw).patches).toEqual([{name: 'p', enabled: false, transition: true}]);
	});
});

describe('foldObservations', () => {
	it('merges equal consecutive states and times each step until the next one', () => {
		const steps = foldObservations(
			[
				{t: 0, view: patching([{...cat, kthread: false}])},
				{t: 0.5, view: patching([{...cat, kthread: false}])},
				{t: 1, view: applied},
			],
			3,
		);
		expect(steps.map((step) => [step.samples, step.first_s, step.until_s])).toEqual([
			[2, 0, 1],
			[1, 1, 3],
		]);
	});
});

describe('compareSequences', () => {
	const step = (view: unknown, first: number, until: number): Step => ({
		state: normaliseView(view),
		samples: 1,
		first_s: first,
		until_s: until,
	});
	const stuck = patching([{...cat, kthread: false}]);
	const between = patching([]);

	it('accepts a brief step that one side missed', () => {
		const real = [step(stuck, 0, 5), step(between, 5, 5.6), step(applied, 5.6, 9)];
		const emulated = [step(stuck, 0, 5.5), step(applied, 5.5, 9)];
		expect(compareSequences(real, emulated)).toEqual({ok: true, explain: ''});
		expect(compareSequences(emulated, real).ok).toBe(true);
	});

	it('rejects a missing long step, a different blocker class and a different order', () => {
		const real = [step(stuck, 0, 5), step(between, 5, 8), step(applied, 8, 9)];
		const emulated = [step(stuck, 0, 5.5), step(applied, 5.5, 9)];
		expect(compareSequences(real, emulated).ok).toBe(false);
		const dState = patching([{...cat, class: 'uninterruptible', kthread: false}]);
		expect(compareSequences([step(stuck, 0, 5)], [step(dState, 0, 5)]).ok).toBe(false);
		const swapped = [step(applied, 0, 4), step(stuck, 4, 9)];
		const result = compareSequences([step(stuck, 0, 5), step(applied, 5, 9)], swapped);
		expect(result.ok).toBe(false);
		expect(result.explain).toContain(
			'- [p=1(T) | patching p | cat:interruptible:klp_sleeper_wait@klp_sleeper]',
		);
	});

	it('matches one long step against the same state split by a missed brief step', () => {
		const real = [step(stuck, 0, 3), step(between, 3, 3.3), step(stuck, 3.3, 6)];
		expect(compareSequences(real, [step(stuck, 0, 6)]).ok).toBe(true);
	});
});

describe('actions and errors', () => {
	it('names the errno of an action from its message', () => {
		expect(errnoOf("insmod: can't insert 'x.ko': Device or resource busy")).toBe('EBUSY');
		expect(errnoOf('sh: write error: Invalid argument')).toBe('EINVAL');
		expect(errnoOf("rmmod: can't unload module 'x': Resource temporarily unavailable")).toBe('EAGAIN');
		expect(errnoOf('')).toBeNull();
	});

	it('turns the guest events into fixture actions relative to the scenario start', () => {
		const actions = actionsFromEvents(
			[
				{name: 'insmod', module: 'p', rc: 1, stderr: 'Device or resource busy', t0: 12.5, t1: 12.8},
				{name: 'action', kind: 'nudge', args: [182], targets: ['cat'], via: 'shell', rc: 0, t0: 14, t1: 14.3},
				{name: 'write', path: '/sys/kernel/livepatch/p/enabled', value: 0, rc: 0, t0: 15, t1: 15.1},
				{name: 'action', kind: 'force', args: ['p', '--confirm', 'p'], via: 'klptop', rc: 0, t0: 16, t1: 18},
				{name: 'reader', file: '/proc/klp_sleeper_killable', pid: 7, wchan: 'x', t: 11},
				{name: 'sample', t: 11.5},
			],
			10,
			[
				{t: 12.6, msg: "livepatch: enabling patch 'p'"},
				{t: 15.05, msg: "livepatch: 'p': initializing unpatching transition"},
				{t: 17.5, msg: 'livepatch: forcing remaining tasks to the patched state'},
			],
		);
		expect(actions).toEqual([
			{t_s: 2.5, end_s: 2.8, action: 'insmod p', result: 'EBUSY'},
			{t_s: 4, end_s: 4.3, action: 'nudge 182', via: 'shell', targets: ['cat'], result: 'ok'},
			{t_s: 5, end_s: 5.1, kernel_s: 5.05, action: 'p/enabled=0', result: 'ok'},
			{t_s: 6, end_s: 8, kernel_s: 7.5, action: 'force p --confirm p', via: 'klptop', result: 'ok'},
			// A reader the rig started (replayed by the calibration), dated when it slept in the kernel.
			{t_s: 1, end_s: 1, action: 'reader /proc/klp_sleeper_killable', result: 'ok'},
		]);
	});
});
