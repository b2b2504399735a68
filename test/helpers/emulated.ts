/** An emulated scenario `seconds` in, read by the real reader: one snapshot at a time, folded or not. */
import {createEmulation, type Emulation} from '../../source/emulator/index.js';
import {foldSnapshot} from '../../source/model/history.js';
import type {History, Snapshot} from '../../source/model/types.js';
import {createReader} from '../../source/sources/reader.js';

export type Emulated = {
	readonly emulation: Emulation;
	/** A fresh scan (blockers only) at the emulator's present. */
	scan(): Snapshot;
	/** A history of one scan at the emulator's present. */
	history(): History;
};

export function emulatedAt(scenario: string, seconds: number, seed = 1): Emulated {
	const emulation = createEmulation(scenario, {seed});
	emulation.advance(seconds * 1000);
	const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
	const scan = () => reader.scan({threads: 'blockers', clock: emulation.now});
	return {emulation, scan, history: () => foldSnapshot(null, scan())};
}
