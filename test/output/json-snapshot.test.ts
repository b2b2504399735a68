/*
The way back from the JSON document to the model (what a fleet host's stream is drawn from): the
snapshot a document was made of comes back field for field, a history seeded from a document writes
that same document again, older documents (without the fields added for the fleet) still convert,
and a document from a hostile or broken host is either refused with the field named or sanitised.
*/
import {describe, expect, it} from 'vitest';
import {createEmulation} from '../../source/emulator/index.js';
import {foldSnapshot} from '../../source/model/history.js';
import type {History, Snapshot} from '../../source/model/types.js';
import {toJsonDocument} from '../../source/output/json.js';
import type {JsonDocument} from '../../source/output/json.js';
import {
	DocumentError,
	historyFromJson,
	parseJsonDocument,
	snapshotFromJson,
} from '../../source/output/json-snapshot.js';
import {createReader} from '../../source/sources/reader.js';

/** Scans of an emulated scenario, one per virtual second, folded as batch mode does. */
function run(scenario: string, seconds: number): {history: History; snapshots: Snapshot[]} {
	const emulation = createEmulation(scenario, {seed: 3, startTime: Date.UTC(2026, 0, 1)});
	const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
	const snapshots: Snapshot[] = [];
	let history: History | null = null;
	for (let s = 0; s <= seconds; s++) {
		const snapshot = reader.scan({threads: 'blockers', clock: emulation.now});
		snapshots.push(snapshot);
		history = foldSnapshot(history, snapshot);
		emulation.advance(1000);
	}

	return {history: history!, snapshots};
}

/** Through text, as a stream carries it. */
function roundTrip(history: History): JsonDocument {
	return parseJsonDocument(JSON.stringify(toJsonDocument(history)));
}

/** The boot time is written to the millisecond; what the producer's own scan cost is not sent. */
function normalised(snapshot: Snapshot): Snapshot {
	const bootTime = snapshot.kernel.bootTime === null ? null : Math.round(snapshot.kernel.bootTime);
	const {scanCost: _scanCost, ...rest} = snapshot;
	return {...rest, threads: null, kernel: {...snapshot.kernel, bootTime}};
}

describe('snapshotFromJson', () => {
	it.each(['demo', 'stuck-killable', 'replace', 'non-root', 'quick', 'churn'])(
		'gives back the snapshot of every frame of %s',
		(scenario) => {
			const emulation = createEmulation(scenario, {seed: 3, startTime: Date.UTC(2026, 0, 1)});
			const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
			let history: History | null = null;
			let stacks = 0;
			for (let s = 0; s <= 20; s++) {
				const snapshot = reader.scan({threads: 'blockers', clock: emulation.now});
				history = foldSnapshot(history, snapshot);
				const back = snapshotFromJson(roundTrip(history));
				expect(back).toEqual(normalised(snapshot));
				stacks += snapshot.blockers.filter((b) => b.stack !== null).length;
				emulation.advance(1000);
			}

			// The stacks went through too, where the scenario has readable ones.
			if (scenario !== 'non-root' && scenario !== 'quick') expect(stacks).toBeGreaterThan(0);
		},
	);

	it('shares one stacks entry between blockers sleeping in one place', () => {
		const {history} = run('many', 2);
		const doc = toJsonDocument(history);
		expect(doc.blockers.length).toBeGreaterThan(50);
		expect(doc.stacks!.length).toBeLessThan(doc.blockers.length / 5);
	});
});

describe('historyFromJson', () => {
	it.each(['demo', 'stuck-killable', 'unpatch-fake-signal', 'replace'])(
		'writes the document it was seeded from again (%s)',
		(scenario) => {
			const {history} = run(scenario, 8);
			const doc = roundTrip(history);
			const again = toJsonDocument(historyFromJson(doc));
			expect(again).toEqual({...doc, kernel_log: []});
		},
	);

	it('folds later snapshots onto the producer figures: elapsed and stuck times go on', () => {
		const {history, snapshots} = run('stuck-killable', 12);
		const seeded = historyFromJson(roundTrip(history));
		const elapsed = seeded.transition!.elapsedS!;
		const next = snapshotFromJson(roundTrip(history));
		const folded = foldSnapshot(seeded, {...next, time: next.time + 1000, kernelLog: []});
		expect(folded.transition!.elapsedS).toBeCloseTo(elapsed + 1, 2);
		expect(folded.transition!.startedFrom).toBe(history.transition!.startedFrom);
		const doc = toJsonDocument(folded);
		expect(doc.blockers[0]!.stuck_s).toBeCloseTo(toJsonDocument(history).blockers[0]!.stuck_s! + 1, 2);
		expect(snapshots.length).toBe(13);
	});
});

describe('parseJsonDocument', () => {
	const good = () =>
		JSON.parse(JSON.stringify(toJsonDocument(run('demo', 3).history))) as Record<string, unknown>;

	it('converts a document without the fields added for the fleet (an older klptop)', () => {
		const doc = good();
		delete doc['stacks'];
		delete doc['kernel_log'];
		for (const b of doc['blockers'] as Array<Record<string, unknown>>) {
			for (const key of ['ppid', 'flags', 'starttime', 'uid', 'matched_by', 'matched_frame', 'stack']) {
				delete b[key];
			}
		}

		const snapshot = snapshotFromJson(parseJsonDocument(JSON.stringify(doc)));
		expect(snapshot.blockers.length).toBeGreaterThan(0);
		expect(snapshot.blockers.every((b) => b.stack === null && b.starttime === 0)).toBe(true);
	});

	it('sanitises every string as local ones are', () => {
		const doc = good();
		const blockers = doc['blockers'] as Array<Record<string, unknown>>;
		blockers[0]!['comm'] = 'evil\u001B]0;owned\u0007\u009B2J';
		(doc['patches'] as Array<Record<string, unknown>>)[0]!['name'] = 'p\u202Eatch';
		(doc['warnings'] as string[]).push('\u001B[31mred');
		const parsed = parseJsonDocument(JSON.stringify(doc));
		expect(parsed.blockers[0]!.comm).toBe('evil?]0;owned??2J');
		expect(parsed.patches[0]!.name).toBe('p?atch');
		expect(parsed.warnings.at(-1)).toBe('?[31mred');
	});

	it.each([
		['not JSON', 'Welcome to host 7', /not JSON/],
		['another schema', JSON.stringify({schema_version: 2}), /schema_version: not 1/],
		['a bad field', null, /blockers\[0\]\.tid: not a number/],
		['a stack index out of range', null, /blockers\[0\]\.stack: no such entry/],
	])('refuses %s, naming what is wrong', (_name, text, message) => {
		let line = text;
		if (line === null) {
			const doc = good();
			const b = (doc['blockers'] as Array<Record<string, unknown>>)[0]!;
			if (String(message).includes('tid')) b['tid'] = 'x';
			else b['stack'] = 99;
			line = JSON.stringify(doc);
		}

		expect(() => parseJsonDocument(line)).toThrow(DocumentError);
		expect(() => parseJsonDocument(line)).toThrow(message);
	});
});
