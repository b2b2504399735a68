/*
A transport the test drives by hand, in place of ssh: each host's stream gets the bytes and the end
the test gives it, and `run` records the commands and answers what the test says. The documents are
real ones (the emulator's scenarios through the reader and `toJsonLine`), so everything above the
transport (the fleet, its states, the screen) runs as with ssh.
*/
import {createEmulation} from '../../source/emulator/index.js';
import {foldSnapshot} from '../../source/model/history.js';
import type {History} from '../../source/model/types.js';
import {toJsonLine} from '../../source/output/json.js';
import {createReader} from '../../source/sources/reader.js';
import type {FleetHost} from '../../source/fleet/inventory.js';
import type {SshResult, StreamHandlers, Transport} from '../../source/fleet/ssh.js';

export type FakeTransport = Transport & {
	/** Commands run (not streams), in order. */
	readonly runs: Array<{host: string; command: string}>;
	/** Hosts with a stream open, and the command each was started with. */
	readonly streams: Map<string, string>;
	send(host: string, text: string): void;
	end(host: string, code: number | null, stderr?: string): void;
	/** The host fails this way now and at every later attempt (unreachable, a refused key ...). */
	down(host: string, code: number, stderr: string): void;
	/** The answer to the next `run`. */
	answer: (host: string, command: string) => SshResult;
};

export function fakeTransport(): FakeTransport {
	const handlers = new Map<string, StreamHandlers>();
	const downs = new Map<string, {code: number; stderr: string}>();
	const fake: FakeTransport = {
		runs: [],
		streams: new Map(),
		answer: () => ({code: 0, signal: null, stdout: Buffer.from(''), stderr: ''}),
		stream(host: FleetHost, command: string, h: StreamHandlers) {
			handlers.set(host.name, h);
			const down = downs.get(host.name);
			if (down !== undefined) {
				setTimeout(() => h.onExit(down.code, null, down.stderr), 0);
				return {stop() {}};
			}

			fake.streams.set(host.name, command);
			return {
				stop() {
					fake.streams.delete(host.name);
				},
			};
		},
		async run(host, command) {
			fake.runs.push({host: host.name, command});
			return fake.answer(host.name, command);
		},
		async close() {},
		send(host, text) {
			handlers.get(host)!.onData(Buffer.from(text));
		},
		down(host, code, stderr) {
			downs.set(host, {code, stderr});
			fake.end(host, code, stderr);
		},
		end(host, code, stderr = '') {
			fake.streams.delete(host);
			handlers.get(host)!.onExit(code, null, stderr);
		},
	};
	return fake;
}

/** `seconds` of a scenario as `klptop -b --json` lines, one a second (virtual time). */
export function scenarioLines(scenario: string, seconds: number, seed = 1): string[] {
	const emulation = createEmulation(scenario, {seed, startTime: Date.UTC(2026, 0, 1)});
	const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
	const lines: string[] = [];
	let history: History | null = null;
	for (let s = 0; s <= seconds; s++) {
		history = foldSnapshot(history, reader.scan({threads: 'blockers', clock: emulation.now}));
		lines.push(toJsonLine(history));
		emulation.advance(1000);
	}

	return lines;
}

export function host(name: string, groups: string[] = []): FleetHost {
	return {name, destination: name, port: null, user: null, groups};
}
