/**
The kernel's time (kernel/time): uptime in µs, the `/dev/kmsg` clock, with the epoch derived from
it; the timer queue every part schedules its work on; jiffies' whole seconds (the ~1 s retry of
round_jiffies_relative); and the seeded randomness of the delays. Nothing runs on its own:
`runUntil` fires the queued events in order, so a run is a pure function of the seed and the calls.
*/
import {EventQueue} from '../events.js';
import type {Prng} from '../prng.js';

/** One second (HZ jiffies) in µs. */
export const HZ_US = 1_000_000;

export class Clock {
	readonly bootEpochMs: number;
	/** Offset of the jiffies' whole seconds from the uptime's (timer ticks land at N s + phase). */
	readonly jiffyPhaseUs: number;
	private readonly prng: Prng;
	private nowUs: number;
	/** Log stamps never go backwards and include CPU time spent inside an operation. */
	private stampUs: number;
	private readonly queue = new EventQueue();

	constructor(prng: Prng, uptimeUs: number, bootEpochMs: number) {
		this.prng = prng;
		this.nowUs = uptimeUs;
		this.stampUs = uptimeUs;
		this.bootEpochMs = bootEpochMs;
		this.jiffyPhaseUs = prng.int(28_000, 34_000);
	}

	uptimeUs(): number {
		return this.nowUs;
	}

	epochMs(): number {
		return this.bootEpochMs + this.nowUs / 1000;
	}

	/** Run `fn` at uptime `atUs` (never in the past). */
	at(atUs: number, fn: () => void): void {
		this.queue.push(Math.max(Math.round(atUs), this.nowUs), fn);
	}

	after(delayUs: number, fn: () => void): void {
		this.at(this.nowUs + delayUs, fn);
	}

	/** Run the clock to `targetUs`, firing every event on the way in order. */
	runUntil(targetUs: number): void {
		const target = Math.round(targetUs);
		while (this.queue.peekTime() <= target) {
			const event = this.queue.pop()!;
			this.nowUs = Math.max(this.nowUs, event.at);
			event.run();
		}

		this.nowUs = Math.max(this.nowUs, target);
	}

	advance(ms: number): void {
		if (!(ms >= 0)) {
			throw new RangeError(`advance(${ms}): expected a non-negative number of ms`);
		}

		this.runUntil(this.nowUs + ms * 1000);
	}

	/** A delay drawn from an observed range (`delays`), whole µs. */
	rand(range: readonly [number, number]): number {
		return Math.round(this.prng.range(range[0], range[1]));
	}

	/** round_jiffies_relative(HZ) from now: ~1 s, aligned to a whole second of jiffies. */
	nextTickUs(): number {
		const from = Math.max(this.nowUs, this.stampUs);
		const jiffySeconds = (from - this.jiffyPhaseUs) / HZ_US + 1;
		const whole = Math.floor(jiffySeconds);
		const rounded = jiffySeconds - whole < 0.25 ? whole : whole + 1;
		return rounded * HZ_US + this.jiffyPhaseUs + this.prng.int(0, 20_000);
	}

	/** CPU time spent inside the current operation (moves later log stamps, not the clock). */
	spend(us: number): void {
		this.stampUs = Math.max(this.nowUs, this.stampUs) + us;
	}

	/** The stamp of the next log record: after the previous one, plus `spendUs` of CPU time. */
	stamp(spendUs: number): number {
		this.stampUs = Math.max(this.nowUs, this.stampUs + 1) + spendUs;
		return this.stampUs;
	}
}
