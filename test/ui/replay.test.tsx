// The dashboard on a recording (--replay): the same App and views as live, a replay feed
// (source/ui/replay-feed.ts) instead of a poller, and the time keys of the key map.
import {describe, expect, it} from 'vitest';
import {formatDateTime} from '../../source/views/header.js';
import {formatDuration} from '../../source/views/format.js';
import {loadRecording} from '../../source/record/load.js';
import {createReplay} from '../../source/record/replay.js';
import {createReplayFeed} from '../../source/ui/replay-feed.js';
import {keymap, displayKey} from '../../source/keymap.js';
import {recordScenario} from '../record/helpers.js';
import {keys, renderApp, waitForFrame} from './helpers.js';

async function demoReplay() {
	const {file} = await recordScenario('demo', 30);
	return createReplay(loadRecording(file));
}

const position = (frame: string) =>
	/\((\d+)\/(\d+)\)/.exec(frame.split('\n')[0]!)?.slice(1).map(Number) ?? null;

describe('the dashboard on a recording', () => {
	it('says REPLAY with the recorded host, kernel and time, and moves through time with the keys', async () => {
		const replay = await demoReplay();
		const {frame, press} = renderApp({
			feed: createReplayFeed(replay, 0),
			readonlyReason: 'a recording (replay)',
		});
		let screen = await waitForFrame(frame, (f) => f.includes('REPLAY'));
		const first = screen.split('\n')[0]!;
		expect(first).toContain('REPLAY paused');
		expect(first).toContain(formatDateTime(replay.timeAt(0)));
		expect(first).toContain(`(1/${replay.count})`);
		expect(first).toContain('host testhost');
		expect(first).toContain('kernel 6.1.0-56-amd64');
		expect(screen).toContain('klp_sleeper_wait_killable');

		await press(keys.right);
		await press('.');
		screen = await waitForFrame(frame, (f) => position(f)?.[0] === 3);
		expect(screen.split('\n')[0]).toContain(formatDateTime(replay.timeAt(2)));
		await press(keys.left);
		await waitForFrame(frame, (f) => position(f)?.[0] === 2);

		// ] jumps to the next event: the kernel's first fake-signal round, which frees 182 and 398.
		const round = replay.jumps.find((jump) => jump.event.kind === 'fake-signal')!;
		await press(']');
		screen = await waitForFrame(frame, (f) => position(f)?.[0] === round.index + 1);
		expect(screen).toContain('next event');
		// The body is that poll's history, in the same frame as its time.
		const elapsed = replay.historyAt(round.index).transition!.elapsedS;
		expect(screen).toContain(`▶ patching klp_sleeper_patch  ${formatDuration(elapsed)}  `);
		// The transition panel's timeline: a sparkline and the round's mark.
		expect(screen).toMatch(/ pending +[▁▂▃▄▅▆▇█ ]+ \d+→\d+ /);
		expect(screen).toMatch(/ marks +S* *S fake signal/);
		// The patch detail lists the transition's history so far, each moment with its time.
		await press(keys.tab);
		await press(keys.tab);
		await press(keys.enter);
		screen = await waitForFrame(frame, (f) => f.includes('Transition history (patching, running)'));
		expect(screen).toMatch(/\+0s +started +klp_sleeper_patch: patching transition started \(kernel log\)/);
		// The round is the one ] jumped to (estimated from the start when no kernel line came with it).
		expect(screen).toMatch(/\+15s +signalled +fake-signal round/);
		await press(keys.escape);
		await press(keys.tab);
		await press('[');
		await waitForFrame(frame, (f) => position(f)?.[0] === replay.jumps[0]!.index + 1);

		// Actions are off: it is a recording.
		await press('k');
		await waitForFrame(frame, (f) => f.includes('read-only: a recording (replay)'));
	});

	it('plays to the end at the chosen speed and stops there', async () => {
		const replay = await demoReplay();
		const {frame, press} = renderApp({
			feed: createReplayFeed(replay, 0),
			readonlyReason: 'a recording (replay)',
		});
		await waitForFrame(frame, (f) => f.includes('REPLAY'));
		for (let i = 0; i < 6; i++) await press('f');
		await waitForFrame(frame, (f) => f.includes('replay speed 64x'));
		await press('Z');
		await waitForFrame(frame, (f) => f.split('\n')[0]!.includes('playing 64x'));
		const end = await waitForFrame(frame, (f) => position(f)?.[0] === replay.count, 10_000);
		await waitForFrame(frame, (f) => f.split('\n')[0]!.includes('REPLAY paused'));
		expect(end).toContain('klp_sleeper_wait_killable');
	});

	it('lists the time keys in its help, and only there', async () => {
		const replay = await demoReplay();
		const replaying = renderApp({feed: createReplayFeed(replay, 0), height: 120, width: 160});
		await replaying.press('h');
		const help = await waitForFrame(replaying.frame, (f) => f.includes('Help: every key'));
		expect(help).toContain('Replaying a recording (--replay)');
		for (const binding of keymap.filter((b) => b.category === 'replay')) {
			expect(help).toContain(binding.description);
			for (const key of binding.keys) expect(help).toContain(displayKey(key));
		}
	});
});
