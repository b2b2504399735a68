/**
Helpers for the emulator tests: read the emulated world the way the doc's status lines do
(`kernel-livepatch.md` §8: enabled, transition, the patch_state histogram, not-yet-switched
tasks) and step the virtual clock until something happens.
*/
import {errorCode, type FsPort} from '../../source/sources/fs-port.js';
import type {Emulation} from '../../source/emulator/index.js';

export type Histogram = {'-1': number; '0': number; '1': number};

/** Histogram over every `/proc/*\/task/*\/patch_state` the port can read. */
export function histogram(port: FsPort): Histogram {
	const counts: Histogram = {'-1': 0, '0': 0, '1': 0};
	for (const pid of port.readdir('/proc')) {
		if (!/^\d+$/.test(pid)) {
			continue;
		}

		for (const tid of port.readdir(`/proc/${pid}/task`)) {
			const value = port.readFile(`/proc/${pid}/task/${tid}/patch_state`).trim() as keyof Histogram;
			counts[value]++;
		}
	}

	return counts;
}

/** Threads whose patch_state is >= 0 and differs from the transition patch's `enabled`. */
export function notYetSwitched(port: FsPort, patch: string): number[] {
	if (attr(port, patch, 'transition') !== '1') {
		return [];
	}

	const target = attr(port, patch, 'enabled');
	const pending: number[] = [];
	for (const pid of port.readdir('/proc')) {
		if (!/^\d+$/.test(pid)) {
			continue;
		}

		for (const tid of port.readdir(`/proc/${pid}/task`)) {
			const value = port.readFile(`/proc/${pid}/task/${tid}/patch_state`).trim();
			if (value !== '-1' && value !== target) {
				pending.push(Number(tid));
			}
		}
	}

	return pending;
}

/** A patch attribute's value, or `gone` once the directory has vanished. */
export function attr(port: FsPort, patch: string, name: string): string {
	try {
		return port.readFile(`/sys/kernel/livepatch/${patch}/${name}`).trim();
	} catch (error) {
		if (errorCode(error) === 'ENOENT') {
			return 'gone';
		}

		throw error;
	}
}

export type Record = {readonly us: number; readonly level: number; readonly text: string};

/** The whole kernel log so far (independent of the port's kmsg cursor). */
export function log(emulation: Emulation): Record[] {
	return emulation.kernel.logSince(0).map(({us, level, text}) => ({us, level, text}));
}

/** Livepatch lines (prefix stripped) since uptime `fromUs`. */
export function livepatchLines(emulation: Emulation, fromUs = 0): string[] {
	return log(emulation)
		.filter((record) => record.us >= fromUs && record.text.startsWith('livepatch: '))
		.map((record) => record.text.slice('livepatch: '.length));
}

/** Stamp (µs) of the first record whose text includes `needle` at or after `fromUs`. */
export function stampOf(emulation: Emulation, needle: string, fromUs = 0): number {
	const record = log(emulation).find((entry) => entry.us >= fromUs && entry.text.includes(needle));
	if (!record) {
		throw new Error(`no log line with '${needle}'`);
	}

	return record.us;
}

export function uptimeUs(emulation: Emulation): number {
	return emulation.kernel.uptimeUs();
}

/**
Advance in `stepMs` steps until `predicate` holds; returns the virtual ms it took (throws after
`limitMs`).
*/
export function advanceUntil(
	emulation: Emulation,
	predicate: () => boolean,
	limitMs = 60_000,
	stepMs = 5,
): number {
	let elapsed = 0;
	while (!predicate()) {
		if (elapsed >= limitMs) {
			throw new Error(`condition not met within ${limitMs} ms`);
		}

		emulation.advance(stepMs);
		elapsed += stepMs;
	}

	return elapsed;
}

/** Advance to the next uptime whose position inside the second is `fraction` (0..1). */
export function advanceToFraction(emulation: Emulation, fraction: number): void {
	const now = uptimeUs(emulation);
	let target = Math.floor(now / 1e6) * 1e6 + Math.round(fraction * 1e6);
	if (target <= now) {
		target += 1e6;
	}

	emulation.advance((target - now) / 1000);
}

/** The error code a thrown or rejected call produced, or 'ok'. */
export function codeOf(run: () => unknown): string {
	try {
		run();
		return 'ok';
	} catch (error) {
		return errorCode(error);
	}
}

export async function asyncCodeOf(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
		return 'ok';
	} catch (error) {
		return errorCode(error);
	}
}

/** Values of `field:` in a status file. */
export function statusField(port: FsPort, pid: number, field: string): string | undefined {
	const line = port
		.readFile(`/proc/${pid}/status`)
		.split('\n')
		.find((entry) => entry.startsWith(`${field}:`));
	return line?.slice(field.length + 1).trim();
}
