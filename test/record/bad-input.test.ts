// Bad recordings through the command line (source/cli/main.ts -> source/record): a file that is not a
// recording, a newer schema, a truncated or damaged file, a missing one, a capture without a
// recording: one line on stderr and status 2 for `--replay` and `report`, never a trace. A torn
// last record is not an error: it is read up to it, with a warning.
import {readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {main} from '../../source/cli/main.js';
import type {Flags} from '../../source/cli/flags.js';
import {magicLine, encodeRecord} from '../../source/record/format.js';
import {memoryIo} from '../script/helpers.js';
import {recordScenario, tempDir} from './helpers.js';

const base: Flags = {
	once: false,
	json: false,
	readonly: false,
	color: false,
	ascii: false,
	list: false,
	batch: false,
	reverseOnTimeout: false,
};

async function run(input: string[], flags: Partial<Flags>) {
	const io = memoryIo();
	const code = await main(input, {...base, ...flags}, io as unknown as Parameters<typeof main>[2]);
	return {code, stdout: io.stdout.text(), stderr: io.stderr.text()};
}

/** `--replay FILE --once` and `report FILE`, both. */
async function both(file: string) {
	return [await run([], {replay: file, once: true}), await run(['report', file], {})];
}

describe('a bad recording', () => {
	it('gets one clear line and status 2, never a crash', async () => {
		const {file} = await recordScenario('stuck-interruptible', 5);
		const good = readFileSync(file);
		const dir = tempDir();
		const write = (name: string, bytes: Buffer | string) => {
			const target = path.join(dir, name);
			writeFileSync(target, bytes);
			return target;
		};

		const cases: Array<[string, RegExp]> = [
			[
				write('notes.txt', 'just some text\n'),
				/: not a klptop recording \(it does not start with 'klptop-recording'\)$/,
			],
			[
				write('future.rec', Buffer.concat([magicLine(2), good.subarray(magicLine().length)])),
				/: recording schema 2 is newer than this klptop reads \(1\): use a newer klptop$/,
			],
			[write('cut.rec', good.subarray(0, 30)), /: truncated recording \(its header is cut short\)$/],
			[
				write('header-only.rec', Buffer.concat([magicLine(), encodeRecord({k: 'end', t: 0, reason: 'x'})])),
				/: corrupt recording \(no header record\)$/,
			],
			[
				write('flipped.rec', Buffer.from(good).fill(0x55, good.length - 200, good.length - 180)),
				/: corrupt record at byte \d+ \(/,
			],
			[path.join(dir, 'missing.rec'), /^klptop: cannot read .*missing\.rec: no such file or directory$/],
			[dir, /^klptop: cannot read .*: is a directory \(give a recording file\)$/],
			[write('empty.rec', ''), /: truncated recording \(0 bytes, no header\)$/],
		];
		for (const [target, message] of cases) {
			for (const result of await both(target)) {
				expect(result.code, target).toBe(2);
				expect(result.stdout).toBe('');
				const lines = result.stderr.trimEnd().split('\n');
				expect(lines, target).toHaveLength(1);
				expect(lines[0]).toMatch(/^klptop: /);
				expect(lines[0]).toMatch(message);
			}
		}
	});

	it('with a torn last record is read up to it, with a warning', async () => {
		const {file} = await recordScenario('stuck-interruptible', 12);
		const bytes = readFileSync(file);
		writeFileSync(file, bytes.subarray(0, bytes.length - 3));
		for (const result of await both(file)) {
			expect(result.code).toBe(0);
			expect(result.stderr).toMatch(
				/^klptop: warning: .*the last record is torn \(\d+ bytes: the recorder was stopped mid-write\); read up to it\n$/,
			);
			expect(result.stdout).toContain('klp_sleeper_patch');
		}
	});

	it('a capture taken while no recorder ran says so', async () => {
		const dir = tempDir();
		const archive = path.join(dir, 'cap.tar.gz');
		const captured = await run(['capture'], {emulate: 'stuck-interruptible', output: archive});
		expect(captured.code).toBe(0);
		const [replayed] = await both(archive);
		expect(replayed!.code).toBe(2);
		expect(replayed!.stderr).toBe(
			`klptop: ${archive}: this capture holds no recording (no klptop record was running when it was taken)\n`,
		);
	});

	it('and bad arguments are usage errors', async () => {
		expect((await run(['report'], {})).stderr).toBe(
			'klptop: report takes one recording: klptop report FILE\n',
		);
		expect((await run(['record'], {})).stderr).toBe('klptop: record needs -o FILE\n');
		const both = await run([], {replay: 'x.rec', emulate: 'quick'});
		expect(both.code).toBe(2);
		expect(both.stderr).toBe('klptop: --replay reads a recording: it takes neither --root nor --emulate\n');
		expect((await run([], {emulate: 'quick', once: true, at: '03:00'})).stderr).toBe(
			'klptop: --at with --emulate takes seconds between 0 and 86400 (e.g. 20 or +20s)\n',
		);
	});
});
