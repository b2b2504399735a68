/**
klp_mutex (kernel/livepatch/core.c): every sysfs store and klp_enable_patch() runs under it
(kernel-livepatch.md §2.3). The model holds it only where the kernel holds it for a while (the
synchronisation at the end of a transition, the init window of an insmod); a write or an insmod
that comes meanwhile waits for it instead of failing.
*/
import type {FsError} from '../../sources/fs-port.js';

export class KlpMutex {
	/** Held by a completion in progress until this time; operations queue behind it. */
	private untilUs: number | null = null;
	private readonly waiters: Array<() => void> = [];

	/** Whether a completion in progress holds it. */
	get busy(): boolean {
		return this.untilUs !== null;
	}

	/** Taken by a completion that lasts until `untilUs`. */
	hold(untilUs: number): void {
		this.untilUs = untilUs;
	}

	/** Let go without running the waiters (the holder may take it again at once). */
	drop(): void {
		this.untilUs = null;
	}

	/**
	Run `operation` under the mutex: now, or when the completion in progress releases it (then
	`onQueued` learns how it went).
	*/
	run(operation: () => void, onQueued?: (error: FsError | null) => void): 'done' | 'queued' {
		if (this.untilUs === null) {
			operation();
			return 'done';
		}

		this.waiters.push(() => {
			try {
				operation();
				onQueued?.(null);
			} catch (error) {
				onQueued?.(error as FsError);
			}
		});
		return 'queued';
	}

	/**
	Held for `us` on `clock`; then `then` runs with the mutex free to take again (a first try may complete
	the transition, whose completion takes it), and the waiters run unless it did.
	*/
	holdFor(
		clock: {uptimeUs(): number; after(us: number, fn: () => void): void},
		us: number,
		then: () => void,
	): void {
		this.hold(clock.uptimeUs() + us);
		clock.after(us, () => {
			this.drop();
			then();
			if (!this.busy) {
				this.release();
			}
		});
	}

	/** Released: the operations that queued behind it run, in order, until one takes it again. */
	release(): void {
		this.untilUs = null;
		while (this.waiters.length > 0 && this.untilUs === null) {
			this.waiters.shift()!();
		}
	}
}
