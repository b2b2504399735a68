/**
A host's stream as it arrives from ssh: bytes, cut into lines, each line either a schema_version 1
document (`klptop -b --json`) or garbage. A line is bounded (`maxLineBytes`): a host that sends a
megabyte without a newline costs that much memory once, is reported, and the rest of its line is
dropped unread. Garbage is reported with a short, sanitised excerpt (a banner, a shell's error, a
binary): never printed raw, never a crash.
*/
import type {JsonDocument} from '../output/json.js';
import {DocumentError, parseJsonDocument} from '../output/json-snapshot.js';
import {clean} from '../model/sanitize.js';

/** What one complete line was. */
export type StreamLine =
	| {readonly type: 'frame'; readonly doc: JsonDocument; readonly bytes: number}
	| {readonly type: 'garbage'; readonly reason: string; readonly excerpt: string};

/**
A line may be this long. A document of 10,000 blockers is about 4 MB; a line past the bound is
garbage, whatever follows. @default 16 MiB
*/
export const defaultMaxLineBytes = 16 * 1024 * 1024;

/** How much of a garbage line is shown (after sanitising). */
const excerptChars = 60;

export function excerptOf(text: string): string {
	const shown = [...text.trim()].slice(0, excerptChars).join('');
	return clean(shown) + ([...text.trim()].length > excerptChars ? '...' : '');
}

export type LineReader = {
	/** Bytes from the stream; returns the lines they completed. */
	push(chunk: Uint8Array): StreamLine[];
	/** The stream ended: a last line without its newline is garbage (a document ends with one). */
	end(): StreamLine[];
};

export function createLineReader(maxLineBytes = defaultMaxLineBytes): LineReader {
	const decoder = new TextDecoder('utf-8');
	let parts: Uint8Array[] = [];
	let pending = 0;
	/** The current line went past the bound: skip to its end. */
	let skipping = false;

	const finish = (bytes: Uint8Array): StreamLine => {
		const text = decoder.decode(bytes);
		if (text.trim() === '') return {type: 'garbage', reason: 'an empty line', excerpt: ''};
		try {
			return {type: 'frame', doc: parseJsonDocument(text), bytes: bytes.length};
		} catch (error) {
			const reason = error instanceof DocumentError ? error.message : String(error);
			return {type: 'garbage', reason, excerpt: excerptOf(text)};
		}
	};

	const join = (last: Uint8Array): Uint8Array => {
		if (parts.length === 0) return last;
		const all = new Uint8Array(pending + last.length);
		let at = 0;
		for (const part of parts) {
			all.set(part, at);
			at += part.length;
		}

		all.set(last, at);
		return all;
	};

	return {
		push(chunk) {
			const lines: StreamLine[] = [];
			let start = 0;
			for (;;) {
				const newline = chunk.indexOf(0x0a, start);
				if (newline < 0) break;
				const piece = chunk.subarray(start, newline);
				if (skipping) {
					skipping = false;
				} else if (pending + piece.length > maxLineBytes) {
					lines.push(tooLong(maxLineBytes));
				} else {
					lines.push(finish(join(piece)));
				}

				parts = [];
				pending = 0;
				start = newline + 1;
			}

			const rest = chunk.subarray(start);
			if (!skipping && rest.length > 0) {
				if (pending + rest.length > maxLineBytes) {
					lines.push(tooLong(maxLineBytes));
					parts = [];
					pending = 0;
					skipping = true;
				} else {
					// A copy: the caller may reuse its buffer.
					parts.push(rest.slice());
					pending += rest.length;
				}
			}

			return lines;
		},
		end() {
			if (skipping || pending === 0) return [];
			const text = decoder.decode(join(new Uint8Array(0)));
			parts = [];
			pending = 0;
			return [{type: 'garbage', reason: 'a last line without its newline', excerpt: excerptOf(text)}];
		},
	};
}

function tooLong(maxLineBytes: number): StreamLine {
	return {type: 'garbage', reason: `a line longer than ${maxLineBytes} bytes`, excerpt: ''};
}
