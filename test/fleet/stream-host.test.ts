/*
A host's stream and state, without ssh: lines cut from arbitrary chunks, the byte bound of a line,
garbage named and sanitised; the state machine from ssh's real messages (OpenSSH 9, dash, bash,
sudo), stall detection after three intervals, and the reconnect backoff.
*/
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {createEmulation} from '../../source/emulator/index.js';
import {foldSnapshot} from '../../source/model/history.js';
import type {History} from '../../source/model/types.js';
import {toJsonLine} from '../../source/output/json.js';
import {createReader} from '../../source/sources/reader.js';
import {backoffMs, classifyExit, initialHostState, reduceHost} from '../../source/fleet/host.js';
import type {HostEvent, HostState} from '../../source/fleet/host.js';
import {createLineReader} from '../../source/fleet/stream.js';

function frames(scenario: string, n: number): string[] {
	const emulation = createEmulation(scenario, {seed: 1, startTime: Date.UTC(2026, 0, 1)});
	const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
	const lines: string[] = [];
	let history: History | null = null;
	for (let i = 0; i < n; i++) {
		history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: emulation.now}));
		lines.push(toJsonLine(history));
		emulation.advance(1000);
	}

	return lines;
}

const encode = (text: string) => new TextEncoder().encode(text);

describe('the line reader', () => {
	const lines = frames('demo', 4);
	const bytes = encode(lines.join('\n') + '\n');

	it('gives the same documents however the bytes are cut', () => {
		fc.assert(
			fc.property(fc.array(fc.integer({min: 1, max: bytes.length - 1}), {maxLength: 12}), (cuts) => {
				const reader = createLineReader();
				const points = [0, ...new Set(cuts.sort((a, b) => a - b)), bytes.length];
				const got = [];
				for (let i = 1; i < points.length; i++)
					got.push(...reader.push(bytes.subarray(points[i - 1], points[i])));
				got.push(...reader.end());
				expect(got.map((line) => line.type)).toEqual(['frame', 'frame', 'frame', 'frame']);
				expect(got.map((line) => (line.type === 'frame' ? line.doc.time : null))).toEqual(
					lines.map((line) => (JSON.parse(line) as {time: string}).time),
				);
			}),
			{numRuns: 50},
		);
	});

	it('reports a line past the bound once and skips the rest of it', () => {
		const reader = createLineReader(1000);
		const got = [
			...reader.push(encode('x'.repeat(600))),
			...reader.push(encode('y'.repeat(600))),
			...reader.push(encode('z'.repeat(600) + '\n' + lines[0]!.slice(0, 10))),
		];
		expect(got).toEqual([{type: 'garbage', reason: 'a line longer than 1000 bytes', excerpt: ''}]);
		// The next line is read again (here too long as well: a document is bigger than 1000 bytes).
		expect(reader.push(encode(lines[0]!.slice(10) + '\n'))[0]).toMatchObject({type: 'garbage'});
		const roomy = createLineReader(lines[0]!.length + 1);
		expect(roomy.push(encode(lines[0]! + '\n'))[0]!.type).toBe('frame');
	});

	it('names garbage with a short sanitised excerpt', () => {
		const reader = createLineReader();
		const [line] = reader.push(encode('Welcome!\u001B]0;owned\u0007 ' + 'a'.repeat(100) + '\n'));
		expect(line).toEqual({
			type: 'garbage',
			reason: 'not JSON',
			excerpt: `Welcome!?]0;owned? ${'a'.repeat(41)}...`,
		});
		expect(reader.push(encode('{"schema_version":1}\n'))[0]).toMatchObject({
			type: 'garbage',
			reason: 'source: not an object',
		});
		expect(reader.push(encode('half a line'))).toEqual([]);
		expect(reader.end()).toEqual([
			{type: 'garbage', reason: 'a last line without its newline', excerpt: 'half a line'},
		]);
	});
});

const host = {name: 'web01', destination: 'web01', port: null, user: null, groups: []};

function run(events: readonly HostEvent[]): HostState {
	return events.reduce(reduceHost, initialHostState(host, 0));
}

describe('classifyExit: what ssh says, as a host status', () => {
	it.each([
		[255, 'ssh: connect to host 127.0.0.9 port 2: Connection refused', 'unreachable'],
		[255, 'ssh: connect to host 10.1.1.1 port 22: Connection timed out', 'unreachable'],
		[255, 'ssh: Could not resolve hostname nohost: Name or service not known', 'unreachable'],
		[255, 'Timeout, server web01 not responding.', 'unreachable'],
		[255, 'root@127.0.0.3: Permission denied (publickey).', 'auth-failed'],
		[
			255,
			'No ED25519 host key is known for fleet-unknown and you have requested strict checking.\r\nHost key verification failed.',
			'host-key-unknown',
		],
		[
			255,
			'@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.',
			'host-key-unknown',
		],
		[127, 'sh: 1: klptop: not found', 'no-klptop'],
		[127, 'bash: line 1: klptop: command not found', 'no-klptop'],
		[1, 'sudo: a password is required', 'sudo-failed'],
		[1, 'sudo: klptop: command not found', 'no-klptop'],
		[0, '', 'exited'],
		[2, 'klptop: --delay takes seconds between 0.1 and 3600', 'exited'],
	] as const)('status %i, %j: %s', (code, stderr, status) => {
		expect(classifyExit(code, null, stderr).status).toBe(status);
	});

	it('says a changed key is not an unknown one, and never prints stderr raw', () => {
		expect(classifyExit(255, null, 'WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!').error).toMatch(
			/CHANGED/,
		);
		expect(classifyExit(2, null, 'klptop: \u001B[2Jboom').error).toBe(
			'remote klptop exited (status 2): klptop: ?[2Jboom',
		);
	});
});

describe('the host state machine', () => {
	const doc = JSON.parse(frames('quick', 1)[0]!) as never;

	it('is ok with documents, stalled after three silent intervals, ok again with the next one', () => {
		let state = run([
			{type: 'connect', at: 0},
			{type: 'frame', at: 500, doc},
		]);
		expect(state).toMatchObject({status: 'ok', frames: 1, lastFrameAt: 500, error: null});
		const tick = (at: number) => ({type: 'tick', at, intervalMs: 1000, connectTimeoutMs: 10_000}) as const;
		state = reduceHost(state, tick(3400));
		expect(state.status).toBe('ok');
		state = reduceHost(state, tick(3600));
		expect(state).toMatchObject({status: 'stalled', error: 'stream stalled: no document for 3s'});
		// Further ticks change nothing (the same state: no redraw); the document's age says how long.
		const stalled = state;
		expect(reduceHost(state, tick(9600))).toBe(stalled);
		state = reduceHost(state, {type: 'frame', at: 9700, doc});
		expect(state).toMatchObject({status: 'ok', error: null, frames: 2});
	});

	it("takes a kernel without livepatch's document and status 2 as its whole report, not a failure", () => {
		const noLivepatch = {
			...(doc as object),
			kernel: {release: '5.14.0', livepatch: false},
			patches: [],
		} as never;
		const tick = (at: number) => ({type: 'tick', at, intervalMs: 1000, connectTimeoutMs: 10_000}) as const;
		const exit = (code: number) =>
			({type: 'exit', at: 700, code, signal: null, stderr: 'klptop: no livepatch\n', random: 0}) as const;
		let state = run([{type: 'connect', at: 0}, {type: 'frame', at: 600, doc: noLivepatch}, exit(2)]);
		expect(state).toMatchObject({status: 'ok', error: null, failures: 0, retryAt: 60_700});
		// Not connected: never called stalled while it waits for the next attempt.
		state = reduceHost(state, tick(30_000));
		expect(state.status).toBe('ok');
		// Any other end, or a kernel with livepatch that ends, is a failure of its row.
		expect(run([{type: 'connect', at: 0}, {type: 'frame', at: 600, doc: noLivepatch}, exit(3)]).status).toBe(
			'exited',
		);
		expect(run([{type: 'connect', at: 0}, {type: 'frame', at: 600, doc}, exit(2)]).status).toBe('exited');
	});

	it('waits the connect timeout before calling a silent new connection stalled', () => {
		const tick = (at: number) => ({type: 'tick', at, intervalMs: 1000, connectTimeoutMs: 10_000}) as const;
		expect(run([{type: 'connect', at: 0}, tick(12_000)]).status).toBe('connecting');
		expect(run([{type: 'connect', at: 0}, tick(13_500)])).toMatchObject({
			status: 'stalled',
			error: 'stream stalled: connected 14s ago, no document yet',
		});
	});

	it('keeps the last document through a failure, and schedules the next attempt with a growing backoff', () => {
		const exit = (at: number): HostEvent => ({
			type: 'exit',
			at,
			code: 255,
			signal: null,
			stderr: 'Connection refused',
			random: 0,
		});
		let state = run([{type: 'connect', at: 0}, {type: 'frame', at: 100, doc}, exit(200)]);
		expect(state).toMatchObject({status: 'unreachable', failures: 1, retryAt: 1200, doc});
		state = reduceHost(reduceHost(state, {type: 'connect', at: 1200}), exit(1300));
		expect(state).toMatchObject({failures: 2, retryAt: 3300});
		state = reduceHost(reduceHost(state, {type: 'connect', at: 3300}), exit(3400));
		expect(state.retryAt).toBe(7400);
	});

	it('keeps garbage as the reason when the stream then ends', () => {
		const state = run([
			{type: 'connect', at: 0},
			{type: 'garbage', at: 10, reason: 'not JSON', excerpt: 'hello'},
			{type: 'exit', at: 20, code: 0, signal: null, stderr: '', random: 0},
		]);
		expect(state).toMatchObject({status: 'garbage', error: "garbage on the stream (not JSON): 'hello'"});
	});

	it('backs off 1, 2, 4 ... 60 s, from 16 s for what needs a person, jitter at most 20%', () => {
		expect([1, 2, 3, 4, 6, 7, 12].map((n) => backoffMs(n, 'unreachable', 0))).toEqual([
			1000, 2000, 4000, 8000, 32_000, 60_000, 60_000,
		]);
		expect(backoffMs(1, 'auth-failed', 0)).toBe(16_000);
		expect(backoffMs(1, 'unreachable', 0.999)).toBe(800);
	});
});
