/*
The fleet screen in-process (ink-testing-library), over the real fleet and hand-driven streams of
real documents (fake-transport.ts): 80x24 usable, stuck and failing hosts first, a function stuck on
many hosts as one group line, filter, Enter into a host's full dashboard and Esc back, the help from
the key map, read-only without --allow-actions, and an action confirmed by name on one host only.
*/
import {render} from 'ink-testing-library';
import {afterEach, describe, expect, it} from 'vitest';
import {FleetApp} from '../../source/fleet/app.js';
import {createFleet} from '../../source/fleet/fleet.js';
import type {Fleet} from '../../source/fleet/fleet.js';
import {cellWidth} from '../../source/views/format.js';
import {keys, plain, tick, waitForFrame, waitForInputsToBeReady} from '../ui/helpers.js';
import {fakeTransport, host, scenarioLines} from './fake-transport.js';
import type {FakeTransport} from './fake-transport.js';

const stuckLong = scenarioLines('stuck-killable', 70);
const stuckShort = scenarioLines('stuck-killable', 10);
const quick = scenarioLines('quick', 5);
let fleets: Fleet[] = [];

afterEach(async () => {
	for (const fleet of fleets) await fleet.stop();
	fleets = [];
});

function start(): {fleet: Fleet; transport: FakeTransport} {
	const transport = fakeTransport();
	const fleet = createFleet({
		hosts: [
			host('web01', ['web']),
			host('web02', ['web']),
			host('web03', ['web']),
			host('db01'),
			host('db02'),
			host('db03'),
		],
		transport,
		remote: {command: null, sudo: false},
		delayS: 1,
		push: null,
	});
	fleets.push(fleet);
	fleet.start();
	transport.send('web01', stuckLong.at(-1)! + '\n');
	transport.send('web02', stuckShort.at(-1)! + '\n');
	transport.send('web03', quick.at(-1)! + '\n');
	transport.send('db01', 'Welcome to db01 \u001B]0;owned\u0007\n');
	transport.down('db02', 255, 'ssh: connect to host db02 port 22: Connection refused\r\n');
	// Same function as web01, with a hostile process name.
	transport.send('db03', stuckLong.at(-1)!.replace('"comm":"cat"', '"comm":"c\\u001b[2Jat"') + '\n');
	return {fleet, transport};
}

function screen(fleet: Fleet, options: {allow?: boolean; width?: number; height?: number} = {}) {
	return render(
		<FleetApp
			fleet={fleet}
			delayS={1}
			readonlyReason={options.allow === true ? null : 'started without --allow-actions'}
			theme={{color: false, ascii: false}}
			width={options.width ?? 80}
			height={options.height ?? 24}
		/>,
	);
}

/** Wait for the input hooks (a screen that just appeared subscribes after it is drawn), then type. */
async function press(stdin: {write(data: string): void}, ...typed: string[]): Promise<void> {
	for (const key of typed) {
		await waitForInputsToBeReady();
		stdin.write(key);
		await tick(20);
	}
}

function lines(frame: string): string[] {
	return plain(frame).split('\n');
}

describe('the fleet screen', () => {
	it('is usable at 80x24: counts, patches, and the stuck and failing hosts first', async () => {
		const {fleet} = start();
		const {lastFrame} = screen(fleet);
		const frame = await waitForFrame(lastFrame, (f) => f.includes('web03'));
		const all = lines(frame);
		expect(all).toHaveLength(24);
		expect(Math.max(...all.map((line) => cellWidth(line)))).toBeLessThanOrEqual(80);
		expect(all[0]).toMatch(/^klptop fleet · 6 hosts over ssh · every 1s/);
		// 80 columns: the short words, and no zero count beyond the first three.
		expect(all[1]).toBe('1 applied · 3 in trans (2 stuck>60s) · 1 unreach · 1 failing');
		expect(plain(frame)).toMatch(/klp_sleeper_patch +0 +3 +1/);
		const order = all
			.map((line) => /^(web0\d|db0\d) /.exec(line)?.[1])
			.filter((name): name is string => name !== undefined);
		// Failing, then stuck (the longest first: web01 and db03 are as old), in transition, applied.
		expect([order.slice(0, 2), order.slice(2, 4).sort(), order.slice(4)]).toEqual([
			['db01', 'db02'],
			['db03', 'web01'],
			['web02', 'web03'],
		]);
		// A failing host's error runs from TRANSITION to the edge.
		expect(plain(frame)).toMatch(/^db02 +unreach +ssh: connect to host db02 port 22: Connectio$/m);
		expect(plain(frame)).toMatch(/^db01 +garbage +garbage on the stream \(not JSON\): 'Welcome t$/m);
		expect(plain(frame)).toMatch(
			/^web01 +STUCK +6\.1\.0-56-a +1\/1 ▲1m1\ds 1\/5\d +1D +RKF +0s klp_sleeper$/m,
		);
		expect(all.at(-1)).toContain('read-only: started without --allow-actions');
		expect(frame).not.toContain('\u001B]');
	});

	it('groups by blocking function: three hosts stuck in one function are one line, Enter opens it', async () => {
		const {fleet} = start();
		const {lastFrame, stdin} = screen(fleet);
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		await press(stdin, 'g');
		await waitForFrame(lastFrame, (f) => f.includes('grouped by kernel release'));
		await press(stdin, 'g');
		await waitForFrame(lastFrame, (f) => f.includes('grouped by patch'));
		await press(stdin, 'g');
		let frame = await waitForFrame(lastFrame, (f) => f.includes('grouped by blocking function'));
		expect(plain(frame)).toMatch(/▸ klp_sleeper_wait_killable +3 hosts: 2 stuck, 1 transition/);
		expect(plain(frame)).not.toContain('web01');
		// The failing ones first, then the stuck function.
		await press(stdin, keys.down);
		await press(stdin, keys.down);
		await press(stdin, keys.enter);
		frame = await waitForFrame(lastFrame, (f) => f.includes('▾ klp_sleeper_wait_killable'));
		expect(lines(frame).filter((line) => /^ {2}(web01|web02|db03) /.test(line))).toHaveLength(3);
	});

	it('filters, opens a host full dashboard from its stream, and Esc comes back', async () => {
		const {fleet, transport} = start();
		const {lastFrame, stdin} = screen(fleet, {width: 100, height: 30});
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		await press(stdin, '\\');
		await press(stdin, 'web0');
		await press(stdin, keys.enter);
		let frame = await waitForFrame(lastFrame, (f) => f.includes("filter 'web0'"));
		expect(plain(frame)).not.toMatch(/^db0/m);
		// web01 is the first row: stuck.
		await press(stdin, keys.enter);
		frame = await waitForFrame(lastFrame, (f) => f.includes('FUNCTION [object]'));
		expect(plain(frame)).toMatch(/cat +$|klp_sleeper_wait_killable \[klp_sleeper\] +cat/m);
		expect(plain(frame)).toContain('emulator stuck-killable');
		// The host's own figures: its elapsed time, not a fresh count from zero.
		expect(plain(frame)).toMatch(/patching klp_sleeper_patch +1m1\ds/);
		// The next document of that host reaches its dashboard.
		transport.send('web01', stuckLong.at(-1)!.replace('"pending":1', '"pending":1') + '\n');
		await press(stdin, keys.escape);
		frame = await waitForFrame(lastFrame, (f) => f.includes('klptop fleet'));
		expect(plain(frame)).toContain("filter 'web0'");
		// Strings from a host are sanitised there too: db03's process is named 'c<ESC>[2Jat'.
		await press(stdin, keys.escape, '\\', 'db03', keys.enter, keys.enter);
		frame = await waitForFrame(lastFrame, (f) => f.includes('FUNCTION [object]'));
		expect(plain(frame)).toMatch(/klp_sleeper_wait_killable +c\?\[2Jat/);
		expect(frame).not.toContain('\u001B[2J');
		// And the garbage host's excerpt on the fleet screen.
		await press(stdin, keys.escape, keys.escape, '\\', 'db01', keys.enter);
		frame = await waitForFrame(lastFrame, (f) => f.includes("filter 'db01'"));
		expect(plain(frame)).toContain("garbage on the stream (not JSON): 'Welcome to db01 ?]0;owned?'");
	});

	it('lists its keys in the help, from its key map', async () => {
		const {fleet} = start();
		const {lastFrame, stdin} = screen(fleet);
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		await press(stdin, 'h');
		const frame = await waitForFrame(lastFrame, (f) => f.includes('Help: every key of the fleet screen'));
		expect(plain(frame)).toContain("open the host's full dashboard, fed by its stream");
	});
});

describe('actions from the fleet screen', () => {
	it('are off without --allow-actions, and say so', async () => {
		const {fleet, transport} = start();
		const {lastFrame, stdin} = screen(fleet);
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		await press(stdin, keys.down);
		await press(stdin, keys.down);
		await press(stdin, 'R');
		await waitForFrame(
			lastFrame,
			(f) => f.includes('read-only: started without --allow-actions') && !f.includes('Confirm'),
		);
		expect(transport.runs).toEqual([]);
	});

	it('reverse on one host after a confirmation naming it; force only with its name typed', async () => {
		const {fleet, transport} = start();
		transport.answer = (_host, command) => ({
			code: 0,
			signal: null,
			stdout: Buffer.from(
				command.includes('reverse')
					? "reversed the patching transition of 'klp_sleeper_patch'\n"
					: 'forced\n',
			),
			stderr: '',
		});
		const {lastFrame, stdin} = screen(fleet, {allow: true});
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		// db03 (third row) is stuck.
		await press(stdin, keys.down);
		await press(stdin, keys.down);
		await press(stdin, 'R');
		let frame = await waitForFrame(lastFrame, (f) => f.includes('Confirm: reverse on db03'));
		expect(plain(frame)).toContain('Runs on db03: klptop reverse klp_sleeper_patch');
		await press(stdin, 'n');
		await waitForFrame(lastFrame, (f) => f.includes('cancelled: nothing was done'));
		expect(transport.runs).toEqual([]);
		await press(stdin, 'R');
		await waitForFrame(lastFrame, (f) => f.includes('Confirm: reverse on db03'));
		await press(stdin, 'y');
		frame = await waitForFrame(lastFrame, (f) => f.includes('db03: klptop reverse: reversed the patching'));
		expect(transport.runs).toEqual([{host: 'db03', command: 'klptop reverse klp_sleeper_patch'}]);

		await press(stdin, 'F');
		await waitForFrame(lastFrame, (f) => f.includes('Confirm: force on db03'));
		await press(stdin, 'db0');
		await press(stdin, keys.enter);
		await waitForFrame(lastFrame, (f) => f.includes("type the host's name exactly (db03) to force"));
		expect(transport.runs).toHaveLength(1);
		await press(stdin, '3');
		await press(stdin, keys.enter);
		await waitForFrame(lastFrame, (f) => f.includes('db03: klptop force: forced'));
		expect(transport.runs.at(-1)).toEqual({
			host: 'db03',
			command: 'klptop force klp_sleeper_patch --confirm klp_sleeper_patch',
		});
		await tick(10);
	});

	it('refuses a nudge where no blocker can be nudged (a D-state sleeper)', async () => {
		const {fleet, transport} = start();
		const {lastFrame, stdin} = screen(fleet, {allow: true});
		await waitForFrame(lastFrame, (f) => f.includes('web03'));
		await waitForInputsToBeReady();
		await press(stdin, keys.down);
		await press(stdin, keys.down);
		await press(stdin, 'k');
		await waitForFrame(lastFrame, (f) => f.includes('db03: no blocker a nudge can help'));
		expect(transport.runs).toEqual([]);
	});
});
