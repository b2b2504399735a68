import {Profiler} from 'react';
import {render} from 'ink-testing-library';
import {describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import type {History, Snapshot} from '../../source/model/types.js';
import {App, drawsNothingNew} from '../../source/ui/app.js';
import {initialState} from '../../source/dashboard/state.js';
import type {UiState} from '../../source/dashboard/state.js';
import {reduce} from '../../source/ui/reducer.js';
import {formatAgo} from '../../source/views/format.js';
import {lastTransitionWords} from '../../source/views/header.js';
import {samePicture} from '../../source/views/same-picture.js';
import {FakeFeed, blocker, historyOf, patch, snapshot, t0} from './fixtures.js';
import {appProps, plain, waitForFrame} from './helpers.js';

/** A patching transition that completed at t0 + 2 s, then idle polls. */
const ended = historyOf(snapshot({time: t0}), snapshot({time: t0 + 1000}), idleAt(2));

function idleAt(seconds: number, over: Partial<Snapshot> = {}): Snapshot {
	return {...snapshot({transition: false, time: t0 + seconds * 1000}), ...over};
}

const fold = (history: History, snap: Snapshot) => foldSnapshot(history, snap);

describe('formatAgo', () => {
	it('says seconds for the first minute, minutes for the first hour, then hours and minutes', () => {
		expect([0, 59.9, 60, 61, 3599, 3600, 5040, 90_000].map(formatAgo)).toEqual([
			'0s',
			'59s',
			'1m',
			'1m',
			'59m',
			'1h00m',
			'1h24m',
			'1d01h',
		]);
	});
});

describe('samePicture', () => {
	it('an idle poll that changes nothing shown is the same picture, until the age of the last transition moves', () => {
		const a = fold(ended, idleAt(70));
		const b = fold(a, idleAt(71));
		expect(lastTransitionWords(a)).toBe('patching klp_sleeper_patch completed 1m ago');
		expect(samePicture(a, b)).toBe(true);
		// 2 minutes after the end: the header says so.
		expect(samePicture(a, fold(b, idleAt(122)))).toBe(false);
		// In the first minute the seconds move.
		const c = fold(ended, idleAt(10));
		expect(samePicture(c, fold(c, idleAt(11)))).toBe(false);
	});

	it('differs when anything the views draw changes', () => {
		const a = fold(ended, idleAt(70));
		const changes: Array<[string, Partial<Snapshot>]> = [
			['patch list', {patches: [patch('klp_sleeper_patch', {transition: false, enabled: false})]}],
			['thread count', {tasks: {total: 59, byPatchState: {'-1': 59, '0': 0, '1': 0}}}],
			['warnings', {warnings: ['stacks unreadable']}],
			['leftover modules', {leftoverModules: ['klp_old']}],
			['privileges', {privileges: {root: false, stacksReadable: false}}],
			['kernel', {kernel: {release: '6.12.0', livepatch: true, bootTime: t0 - 3_600_000}}],
			['threads listed (all-threads view)', {threads: []}],
		];
		for (const [what, over] of changes) {
			expect([what, samePicture(a, fold(a, idleAt(71, over)))]).toEqual([what, false]);
		}

		// A new event (a kernel log line) and a transition starting.
		const line = {bootSeconds: 3671, text: "livepatch: 'klp_other': completing patching transition"};
		const logged = fold(a, idleAt(71, {kernelLog: [line]}));
		expect(logged.events.length).toBeGreaterThan(a.events.length);
		expect(samePicture(a, logged)).toBe(false);
		expect(samePicture(a, fold(a, snapshot({time: t0 + 71_000})))).toBe(false);
	});

	it('is never the same picture while a transition runs, however still', () => {
		const a = historyOf(snapshot({time: t0}), snapshot({time: t0 + 1000, blockers: [blocker(4242)]}));
		const b = fold(a, snapshot({time: t0 + 1000, blockers: [blocker(4242)]}));
		expect(samePicture(a, b)).toBe(false);
	});
});

describe('drawsNothingNew', () => {
	const base = (): UiState =>
		reduce(initialState({width: 120, height: 40, delayS: 1, readonlyReason: null, pids: null, tids: null}), {
			type: 'history',
			history: fold(ended, idleAt(70)),
		});

	it('skips the frame on the main screen and on help only, with no scan error to clear', () => {
		const next = fold(base().history!, idleAt(71));
		expect(drawsNothingNew(base(), next)).toBe(true);
		expect(drawsNothingNew({...base(), screen: {kind: 'help', scroll: 0}}, next)).toBe(true);
		expect(drawsNothingNew({...base(), scanError: 'EACCES'}, next)).toBe(false);
		expect(drawsNothingNew({...base(), view: {...base().view, showAll: true}}, next)).toBe(false);
		expect(drawsNothingNew({...base(), screen: {kind: 'patch-detail', name: 'p', menu: 0}}, next)).toBe(
			false,
		);
		expect(drawsNothingNew({...base(), history: null}, next)).toBe(false);
	});
});

describe('an idle dashboard', () => {
	it('commits a frame only when what it shows changed, and its header still ages', async () => {
		// One poll every 50 ms, each 20 s of the host's time later: the age moves every third poll.
		let poll = 0;
		const feed = new FakeFeed([() => idleAt(62 + 20 * poll++)]);
		let commits = 0;
		const props = appProps({feed, history: ended, delayS: 0.05});
		const app = render(
			<Profiler id="app" onRender={() => commits++}>
				<App {...props} />
			</Profiler>,
		);
		try {
			await waitForFrame(app.lastFrame, (f) => plain(f).includes('completed 6m ago'), 5000);
			const commitsBefore = commits;
			const pollsBefore = feed.polls.length;
			await waitForFrame(app.lastFrame, (f) => plain(f).includes('completed 9m ago'), 5000);
			// Three polls a minute: from within 6m to the first of 9m at least 7 polls, of which three moved the age
			// (each one commit; without the skip every poll is one).
			expect(feed.polls.length - pollsBefore).toBeGreaterThanOrEqual(7);
			expect(commits - commitsBefore).toBeLessThanOrEqual(4);
			expect(commits - commitsBefore).toBeGreaterThanOrEqual(3);
		} finally {
			app.unmount();
		}
	});
});
