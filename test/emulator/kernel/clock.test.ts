/**
The clock (source/emulator/kernel/clock.ts): events run in time order, ties in the order they were
scheduled, never in the past; the ~1 s retry lands on a whole jiffies second; log stamps move with
CPU time spent inside an operation but never go backwards.
*/
import {describe, expect, it} from 'vitest';
import {Clock, HZ_US} from '../../../source/emulator/kernel/clock.js';
import {createPrng} from '../../../source/emulator/prng.js';

function clockAt(uptimeUs: number, seed = 1): Clock {
	return new Clock(createPrng(seed), uptimeUs, 1_000_000);
}

describe('Clock', () => {
	it('fires events in time order, ties in scheduling order, and stops at the target', () => {
		const clock = clockAt(5_000_000);
		const fired: string[] = [];
		clock.at(5_300_000, () => fired.push('c'));
		clock.at(5_100_000, () => fired.push('a'));
		clock.at(5_100_000, () => fired.push('b'));
		clock.at(9_000_000, () => fired.push('late'));
		clock.runUntil(6_000_000);
		expect(fired).toEqual(['a', 'b', 'c']);
		expect(clock.uptimeUs()).toBe(6_000_000);
		clock.advance(3000);
		expect(fired).toEqual(['a', 'b', 'c', 'late']);
		expect(clock.uptimeUs()).toBe(9_000_000);
	});

	it('runs an event scheduled in the past now, and sees its own time while it runs', () => {
		const clock = clockAt(2_000_000);
		const seen: number[] = [];
		clock.at(1_000_000, () => seen.push(clock.uptimeUs()));
		clock.after(250, () => seen.push(clock.uptimeUs()));
		clock.advance(1);
		expect(seen).toEqual([2_000_000, 2_000_250]);
	});

	it('derives the epoch from the uptime', () => {
		const clock = clockAt(3_000_000);
		expect(clock.epochMs()).toBe(1_000_000 + 3000);
		clock.advance(500);
		expect(clock.epochMs()).toBe(1_000_000 + 3500);
	});

	it('refuses to run backwards', () => {
		expect(() => {
			clockAt(1_000_000).advance(-1);
		}).toThrow(RangeError);
	});

	it('puts the next tick on a whole jiffies second (+ up to 20 ms) 0.75-1.75 s ahead (round_jiffies)', () => {
		for (const seed of [1, 2, 3, 4, 5]) {
			const clock = clockAt(7_654_321, seed);
			const tick = clock.nextTickUs();
			const intoSecond = (tick - clock.jiffyPhaseUs) % HZ_US;
			expect(intoSecond).toBeGreaterThanOrEqual(0);
			expect(intoSecond).toBeLessThanOrEqual(20_000);
			expect(tick - clock.uptimeUs()).toBeGreaterThanOrEqual(0.75 * HZ_US);
			expect(tick - clock.uptimeUs()).toBeLessThanOrEqual(1.75 * HZ_US + 20_000);
		}
	});

	it('stamps records after each other and after CPU time spent, without moving the clock', () => {
		const clock = clockAt(1_000_000);
		const first = clock.stamp(0);
		const second = clock.stamp(0);
		clock.spend(5000);
		const third = clock.stamp(0);
		expect(first).toBeGreaterThanOrEqual(1_000_000);
		expect(second).toBe(first + 1);
		expect(third).toBeGreaterThanOrEqual(second + 5000);
		expect(clock.uptimeUs()).toBe(1_000_000);
		clock.advance(1000);
		expect(clock.stamp(0)).toBe(2_000_000);
	});
});
