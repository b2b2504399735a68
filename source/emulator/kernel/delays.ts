/**
The delays the kernel takes for things the model does not compute (work queues, scheduling,
ftrace registration), as ranges observed on the Debian 6.1 guest (kernel-livepatch.md §4, §8).
Every part draws from these through the clock's seeded `rand`, so a run stays a pure function of
its seed.
*/

/** Delays the kernel takes for things the model does not compute (observed ranges, µs). */
export const delays = {
	/** Unpatching: completing -> complete (klp_synchronize_transition, ftrace shutdown). */
	unpatchComplete: [350_000, 460_000],
	/** Patching: completing -> complete. */
	patchComplete: [600, 4_000],
	/** Freeing a patch after completion (kobject release in a workqueue). */
	free: [200, 2_000],
	/** A woken task runs and leaves the function. */
	wake: [300, 500],
	/** From leaving the function to re-entering it after a restarted syscall. */
	restart: [400, 600],
	/** A running user task reaches its next kernel exit. */
	userExit: [200, 4_000],
	/** An idle task kicked by wake_up_if_idle() goes through its main loop. */
	idleKick: [50, 2_000],
	/** Before 5.16 an idle CPU passes the idle loop at its next natural wakeup. */
	idleWake: [20_000, 700_000],
	/** A released or killed process exits after printing. */
	exit: [500, 3_000],
	/** ftrace registration inside insmod (stamps only when there is no init window). */
	register: [5_000, 16_000],
	/** insmod: klp_init_transition to `enabled` = 1 (the default of `KernelOptions.insmodInitUs`). */
	insmodInit: [5_000, 30_000],
	/** A refused insmod's directory (the default of `KernelOptions.refusedLoadUs`). */
	refusedLoad: [5_000, 30_000],
	/**
	6.4-6.15: sched_dynamic_klp_enable() at a transition's start and sched_dynamic_klp_disable() at its end
	(the defaults of `KernelOptions.condReschedEnableUs`, `condReschedDisableUs`): a normal machine's few
	ms are not modelled.
	*/
	condReschedEnable: [0, 0],
	condReschedDisable: [0, 0],
} as const;

/** A [lo, hi] range option, checked (`KernelOptions.insmodInitUs`, `refusedLoadUs`, ...). */
export function checkedRange(range: readonly [number, number], what: string): readonly [number, number] {
	const [lo, hi] = range;
	if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi >= lo)) {
		throw new RangeError(`${what}: expected [lo, hi] with 0 <= lo <= hi (got [${lo}, ${hi}])`);
	}

	return range;
}
