import {describe, expect, it} from 'vitest';
import {upperBound} from '../../source/model/types.js';

/** The answer by a linear pass: the first index whose value is above `value`. */
function linear(values: readonly number[], value: number, length = values.length): number {
	for (let i = 0; i < length; i++) if (values[i]! > value) return i;
	return length;
}

describe('upperBound', () => {
	it('finds the first value above the one asked, past runs of equal values', () => {
		const values = Int32Array.from([2, 4, 4, 4, 9]);
		expect(upperBound(values, 4)).toBe(4);
		expect(upperBound(values, 1)).toBe(0);
		expect(upperBound(values, 9)).toBe(5);
		expect(upperBound(new Int32Array(0), 3)).toBe(0);
	});

	it('looks only at the first `length` values (a table with room to spare)', () => {
		const values = Int32Array.from([1, 3, 5, 0, 0]);
		expect(upperBound(values, 4, 3)).toBe(2);
		expect(upperBound(values, 7, 3)).toBe(3);
	});

	it('agrees with a linear pass on random ascending arrays', () => {
		let seed = 7;
		const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
		for (let round = 0; round < 200; round++) {
			const values = Array.from({length: next() % 20}, () => next() % 10).sort((a, b) => a - b);
			const value = (next() % 12) - 1;
			const length = values.length === 0 ? 0 : next() % (values.length + 1);
			expect(upperBound(values, value, length)).toBe(linear(values, value, length));
		}
	});
});
