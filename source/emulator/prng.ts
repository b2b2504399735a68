/**
A small seeded PRNG (mulberry32): every random choice of the emulated kernel (tick jitter, the
spread of completion delays, the `many` world) comes from one of these, so a seed and the virtual
clock fully determine a run.
*/
export type Prng = {
	/** Uniform in [0, 1). */
	next(): number;
	/** Uniform integer in [min, max] (both inclusive). */
	int(min: number, max: number): number;
	/** Uniform float in [min, max). */
	range(min: number, max: number): number;
	/** One element of a non-empty list. */
	pick<T>(items: readonly T[]): T;
	/** An independent generator derived from this one (for sub-worlds that must not shift others). */
	fork(salt: number): Prng;
};

export function createPrng(seed: number): Prng {
	let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
	const next = (): number => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};

	return {
		next,
		int: (min, max) => min + Math.floor(next() * (max - min + 1)),
		range: (min, max) => min + next() * (max - min),
		pick<T>(items: readonly T[]): T {
			const item = items[Math.floor(next() * items.length)];
			if (item === undefined) {
				throw new RangeError('pick from an empty list');
			}

			return item;
		},
		fork: (salt) => createPrng((Math.floor(next() * 4_294_967_296) ^ Math.imul(salt, 0x85ebca6b)) >>> 0),
	};
}

/** FNV-1a, for stable per-name values (symbol sizes and offsets). */
export function hashString(text: string): number {
	let hash = 0x811c9dc5;
	for (let index = 0; index < text.length; index++) {
		hash ^= text.charCodeAt(index);
		hash = Math.imul(hash, 0x01000193);
	}

	return hash >>> 0;
}
