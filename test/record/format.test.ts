// The recording's framing (source/record/format.ts): records come back as written, a torn last
// record is left out and counted, and every kind of damage is a one-line RecordingError.
import {describe, expect, it} from 'vitest';
import {crc32} from 'node:zlib';
import {
	decodeRecords,
	encodeRecord,
	magicLine,
	readMagic,
	RecordingError,
	recordingSchema,
} from '../../source/record/format.js';
import type {RecordPayload} from '../../source/record/format.js';

const records: RecordPayload[] = [
	{k: 'd', t: 1000},
	{k: 'end', t: 2000, reason: 'stopped by a signal'},
	{
		k: 'd',
		t: 3000,
		log: [{bootSeconds: 12.5, text: "livepatch: 'p': starting patching transition \u001B[31m"}],
	},
];

function file(payloads: readonly RecordPayload[]): Buffer {
	return Buffer.concat([magicLine(), ...payloads.map((payload) => encodeRecord(payload))]);
}

describe('recording records', () => {
	it('decode to what was encoded, raw strings included', () => {
		const bytes = file(records);
		const {schema, offset} = readMagic(bytes, 'f');
		expect(schema).toBe(recordingSchema);
		expect(bytes.subarray(0, offset).toString()).toBe('klptop-recording 1\n');
		expect(decodeRecords(bytes, offset, 'f')).toEqual({records, tornBytes: 0});
	});

	it('are compressed: a delta that only says "polled" costs a handful of bytes', () => {
		const one = encodeRecord({k: 'd', t: 86_399_000});
		expect(one.length).toBeLessThan(24);
		// length prefix, CRC-32 of the payload
		expect(one.readUInt32BE(0)).toBe(one.length - 8);
		expect(one.readUInt32BE(4)).toBe(crc32(one.subarray(8)));
	});

	it('leave a torn last record out and say how many bytes it had', () => {
		const bytes = file(records);
		for (const cut of [1, 5, 9, 12]) {
			const torn = bytes.subarray(0, bytes.length - cut);
			const {records: read, tornBytes} = decodeRecords(torn, readMagic(torn, 'f').offset, 'f');
			expect(read).toEqual(records.slice(0, 2));
			expect(tornBytes).toBe(encodeRecord(records[2]!).length - cut);
		}
	});

	it('refuse a damaged record with its offset', () => {
		const bytes = Buffer.from(file(records));
		const second = magicLine().length + encodeRecord(records[0]!).length;
		bytes[second + 10] = bytes[second + 10]! ^ 0xff;
		expect(() => decodeRecords(bytes, readMagic(bytes, 'f').offset, 'f')).toThrow(
			new RecordingError(`f: corrupt record at byte ${second} (checksum mismatch)`),
		);
		const huge = Buffer.from(file(records));
		huge.writeUInt32BE(0xfffffff0, second);
		expect(() => decodeRecords(huge, readMagic(huge, 'f').offset, 'f')).toThrow(
			/corrupt record at byte \d+ \(length/,
		);
	});

	it('tell a non-recording, a newer schema and a cut header apart', () => {
		expect(() => readMagic(Buffer.from('#!/bin/sh\necho hi\n'), 'x.sh')).toThrow(
			"x.sh: not a klptop recording (it does not start with 'klptop-recording')",
		);
		expect(() => readMagic(Buffer.from('klptop-recording 2\n'), 'new.rec')).toThrow(
			'new.rec: recording schema 2 is newer than this klptop reads (1): use a newer klptop',
		);
		expect(() => readMagic(Buffer.from('klptop-rec'), 'cut.rec')).toThrow('cut.rec: truncated recording');
		expect(() => readMagic(Buffer.alloc(0), 'empty.rec')).toThrow('empty.rec: truncated recording');
	});
});
