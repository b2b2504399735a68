/**
The kernel log (kernel/printk) and the taint mask (kernel/panic.c add_taint): a ring of records
stamped by the clock, read by `/dev/kmsg` from a sequence number on; pr_debug lines only with
dynamic debug on (the observed runs had it on for kernel/livepatch, kernel-livepatch.md §5).
*/
import type {Clock} from './clock.js';
import type {LogRecord} from './types.js';

export class KernelLog {
	/** pr_debug of kernel/livepatch enabled. */
	dynamicDebug: boolean;
	private readonly clock: Clock;
	private readonly records: LogRecord[] = [];
	/** Sequence number of `records[0]` (older records fell off the ring). */
	private start = 0;
	private nextSeq = 0;
	private readonly capacity: number;
	private readonly tainted = new Set<string>();
	private taintValue = 0;

	constructor(clock: Clock, options: {dynamicDebug: boolean; capacity: number}) {
		this.clock = clock;
		this.dynamicDebug = options.dynamicDebug;
		this.capacity = options.capacity;
	}

	/** Append a record; level 7 (pr_debug) only with dynamic debug. */
	log(level: number, text: string, spendUs = 0): void {
		if (level === 7 && !this.dynamicDebug) {
			return;
		}

		this.records.push({seq: this.nextSeq++, us: this.clock.stamp(spendUs), level, text});
		if (this.records.length > this.capacity * 1.25) {
			const drop = this.records.length - this.capacity;
			this.records.splice(0, drop);
			this.start += drop;
		}
	}

	/** A kernel/livepatch message: pr_fmt prefixes `livepatch: `. */
	lp(level: number, text: string): void {
		this.log(level, `livepatch: ${text}`);
	}

	/** Records with seq >= `fromSeq` still in the ring. */
	since(fromSeq: number): readonly LogRecord[] {
		const offset = Math.max(0, fromSeq - this.start);
		return offset === 0 ? this.records : this.records.slice(offset);
	}

	/** The sequence number the next record gets. */
	get endSeq(): number {
		return this.nextSeq;
	}

	/** add_taint(): set `bit`; the first time `flag` is set, `module` logs why. */
	taint(module: string, flag: string, bit: number, text: string): void {
		if (!this.tainted.has(flag)) {
			this.tainted.add(flag);
			this.log(flag === 'O' ? 4 : 5, `${module}: ${text}`);
		}

		this.taintValue |= bit;
	}

	/** `/proc/sys/kernel/tainted`. */
	get taintedMask(): number {
		return this.taintValue;
	}
}
