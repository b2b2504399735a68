/** Shared helpers of the script-mode tests: in-memory streams and opened sources. */
import {EventEmitter} from 'node:events';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createEmulation} from '../../source/emulator/index.js';
import type {Emulation, EmulationOptions} from '../../source/emulator/index.js';
import type {ScriptSource} from '../../source/script/common.js';
import {createHostPort} from '../../source/sources/host-port.js';

export type MemoryStream = EventEmitter & {
	isTTY: boolean;
	columns: number;
	chunks: string[];
	write(chunk: string): boolean;
	text(): string;
};

export function memoryStream(options: {tty?: boolean; columns?: number} = {}): MemoryStream {
	const stream = new EventEmitter() as MemoryStream;
	stream.isTTY = options.tty ?? false;
	stream.columns = options.columns ?? 100;
	stream.chunks = [];
	stream.write = (chunk: string) => {
		stream.chunks.push(chunk);
		return true;
	};

	stream.text = () => stream.chunks.join('');
	return stream;
}

export type MemoryIo = {readonly stdout: MemoryStream; readonly stderr: MemoryStream};

export function memoryIo(options: {ttyErr?: boolean; columns?: number} = {}): MemoryIo {
	return {
		stdout: memoryStream({columns: options.columns}),
		stderr: memoryStream({tty: options.ttyErr ?? false, columns: options.columns}),
	};
}

export type EmulatedSource = ScriptSource & {readonly emulation: Emulation};

export function emulated(scenario: string, options: EmulationOptions = {}): EmulatedSource {
	const emulation = createEmulation(scenario, {seed: 1, ...options});
	return {source: {kind: 'emulator', root: null, scenario}, port: emulation.port, emulation};
}

export function treeSource(root: string): ScriptSource {
	return {source: {kind: 'tree', root, scenario: null}, port: createHostPort(root), emulation: null};
}

/** A private state directory for the audit log of actions taken in tests. */
export function stateEnv(): NodeJS.ProcessEnv {
	return {KLPTOP_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'klptop-state-'))};
}

/** Every line of NDJSON output, parsed. */
export function ndjson(text: string): Array<Record<string, unknown>> {
	return text
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Whether a string holds C0 control characters other than newline (escapes that would reach a terminal). */
export function hasControl(text: string): boolean {
	return [...text].some((ch) => {
		const cp = ch.codePointAt(0)!;
		return (cp < 0x20 && cp !== 0x0a) || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f);
	});
}
