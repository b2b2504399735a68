/**
The walk planner's reading of the kernel's PID allocation (`outOfOrder` in sources/walk-plan.ts),
with the two counters a real kernel serves and the emulator cannot make disagree: a fork under way
has its PID (`ns_last_pid` moved) before `/proc/stat` counts it.
*/
import {describe, expect, it} from 'vitest';
import type {FsPort, TaskWalk} from '../../source/sources/fs-port.js';
import {createTaskSetProbe, createWalkPlanner} from '../../source/sources/walk-plan.js';

const transition = {patch: 'klp_p', direction: 'patching', target: 1} as const;

/** A walk of one thread, for `settle`. */
const walk: TaskWalk = {
	total: 1,
	minus: 0,
	zero: 0,
	one: 1,
	threads: [],
	errors: {},
	firstTask: null,
	maxTid: 100,
};

/**
A planner over counters the test sets, and one marked walk per `poll`: its mode and reason.
`withStat` false: `/proc/stat` and `/proc/loadavg` cannot be read.
*/
function plannerOver({withStat = true} = {}) {
	const kernel = {lastPid: 0, forks: 0, threads: 500};
	const files = (path: string): string | null => {
		if (!withStat) return null;
		if (path === '/proc/loadavg') return `0.00 0.00 0.00 1/${kernel.threads} ${kernel.lastPid}\n`;
		if (path === '/proc/stat') return `cpu  1 2 3 4\nprocesses ${kernel.forks}\nprocs_running 1\n`;
		return null;
	};

	const port = {identity: () => 'the same directory'} as unknown as FsPort;
	const planner = createWalkPlanner(port, {
		incremental: true,
		fullScanEveryMs: 1_000_000,
		readLastPid: () => kernel.lastPid,
		taskSet: createTaskSetProbe(files),
	});
	let time = 0;
	const poll = (lastPid: number, forks = 0) => {
		kernel.lastPid = lastPid;
		kernel.forks = forks;
		time += 1000;
		const {marks, reason} = planner.plan(transition, [], time, ['1', '100'], false);
		planner.settle(marks, walk, transition, time);
		return {mode: marks?.mode, reason};
	};

	return {poll};
}

describe('the walk planner and the TIDs the kernel hands out', () => {
	it('reads incrementally while ns_last_pid moves over every task created', () => {
		const {poll} = plannerOver();
		expect(poll(100, 1000)).toEqual({mode: 'full', reason: 'first poll of this transition'});
		expect(poll(105, 1005)).toEqual({mode: 'incremental', reason: null});
		expect(poll(105, 1005)).toEqual({mode: 'incremental', reason: null});
	});

	it('takes a fork under way at a reading (its PID handed out, not yet counted) for no TID out of order', () => {
		const {poll} = plannerOver();
		poll(100, 1000);
		// PID 106 handed out, the fork not counted yet: the count lags one behind.
		expect(poll(106, 1005)).toEqual({mode: 'incremental', reason: null});
		// Counted now, no PID since: one more task than ns_last_pid moved over since the last reading.
		expect(poll(106, 1006)).toEqual({mode: 'incremental', reason: null});
		expect(poll(110, 1010)).toEqual({mode: 'incremental', reason: null});
	});

	it('reads every thread when a task was made without moving ns_last_pid (a TID asked for)', () => {
		const {poll} = plannerOver();
		poll(100, 1000);
		expect(poll(100, 1001)).toEqual({mode: 'full', reason: 'a TID handed out out of order'});
		// Said once: the next poll reads incrementally again.
		expect(poll(103, 1004)).toEqual({mode: 'incremental', reason: null});
		// Asked for during a dip: told at the next reading, once the lagging fork is counted.
		expect(poll(104, 1004)).toEqual({mode: 'incremental', reason: null});
		expect(poll(104, 1006)).toEqual({mode: 'full', reason: 'a TID handed out out of order'});
	});

	it('forgets a fork that failed after taking its PID after a few polls, and then tells a TID asked for', () => {
		const {poll} = plannerOver();
		poll(100, 1000);
		// PID 101 taken, the fork failed (never counted): ns_last_pid stays one ahead of the count.
		for (let i = 0; i < 3; i++) expect(poll(101, 1000)).toEqual({mode: 'incremental', reason: null});
		expect(poll(101, 1001)).toEqual({mode: 'full', reason: 'a TID handed out out of order'});
	});

	it('reads every thread when PIDs wrapped, then counts from there', () => {
		const {poll} = plannerOver();
		poll(32_000, 1000);
		expect(poll(320, 1050)).toEqual({mode: 'full', reason: 'PIDs wrapped'});
		expect(poll(330, 1060)).toEqual({mode: 'incremental', reason: null});
		expect(poll(330, 1061)).toEqual({mode: 'full', reason: 'a TID handed out out of order'});
	});

	it('without the count of forks, reads incrementally and trusts ns_last_pid (only the safety net checks)', () => {
		const {poll} = plannerOver({withStat: false});
		expect([100, 100, 120].map((lastPid) => poll(lastPid))).toEqual([
			{mode: 'full', reason: 'first poll of this transition'},
			{mode: 'incremental', reason: null},
			{mode: 'incremental', reason: null},
		]);
	});
});
