/**
The kernel log ring and taint (source/emulator/kernel/printk.ts): sequence numbers keep counting when
old records fall off the ring, pr_debug needs dynamic debug, and each taint flag is logged once
while the mask keeps every bit (kernel-livepatch.md §2.6: O+E = 12288, O+E+K = 45056).
*/
import {describe, expect, it} from 'vitest';
import {Clock} from '../../../source/emulator/kernel/clock.js';
import {KernelLog} from '../../../source/emulator/kernel/printk.js';
import {createPrng} from '../../../source/emulator/prng.js';

function kernelLog(options: {dynamicDebug?: boolean; capacity?: number} = {}): KernelLog {
	const clock = new Clock(createPrng(1), 1_000_000, 0);
	return new KernelLog(clock, {
		dynamicDebug: options.dynamicDebug ?? true,
		capacity: options.capacity ?? 100,
	});
}

describe('KernelLog', () => {
	it('reads from a sequence number on, and keeps numbering when the ring drops old records', () => {
		const log = kernelLog({capacity: 4});
		for (let index = 0; index < 10; index++) {
			log.log(6, `line ${index}`);
		}

		expect(log.endSeq).toBe(10);
		const kept = log.since(0);
		// Never more than 1.25 x capacity, never fewer than capacity, and always the newest ones.
		expect(kept.length).toBeGreaterThanOrEqual(4);
		expect(kept.length).toBeLessThanOrEqual(5);
		expect(kept.at(-1)).toMatchObject({seq: 9, text: 'line 9'});
		expect(kept.map((record) => record.seq)).toEqual(
			Array.from({length: kept.length}, (_, index) => 10 - kept.length + index),
		);
		expect(log.since(8).map((record) => record.text)).toEqual(['line 8', 'line 9']);
		expect(log.since(10)).toEqual([]);
	});

	it('drops pr_debug (level 7) without dynamic debug, and prefixes livepatch messages', () => {
		const quiet = kernelLog({dynamicDebug: false});
		quiet.lp(7, 'klp_try_switch_task: cat:182 is running');
		quiet.lp(5, "'p': starting patching transition");
		expect(quiet.since(0).map((record) => [record.level, record.text])).toEqual([
			[5, "livepatch: 'p': starting patching transition"],
		]);
		const verbose = kernelLog();
		verbose.lp(7, 'klp_try_switch_task: cat:182 is running');
		expect(verbose.since(0)).toHaveLength(1);
	});

	it('logs each taint flag once and keeps every bit in the mask', () => {
		const log = kernelLog();
		log.taint('a', 'O', 4096, 'loading out-of-tree module taints kernel.');
		log.taint('a', 'E', 8192, 'module verification failed');
		expect(log.taintedMask).toBe(12_288);
		log.taint('b', 'O', 4096, 'loading out-of-tree module taints kernel.');
		log.taint('b', 'K', 32_768, 'tainting kernel with TAINT_LIVEPATCH');
		expect(log.taintedMask).toBe(45_056);
		expect(log.since(0).map((record) => [record.level, record.text])).toEqual([
			[4, 'a: loading out-of-tree module taints kernel.'],
			[5, 'a: module verification failed'],
			[5, 'b: tainting kernel with TAINT_LIVEPATCH'],
		]);
	});
});
