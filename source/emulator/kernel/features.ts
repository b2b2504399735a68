/**
What each kernel generation does differently (kernel-livepatch.md §1): the generations the emulator
runs, their `uname -r`, and one flag per behaviour that changed. The other parts ask a flag
(`features.fakeSignals`), never a version number.
*/
export type KernelGeneration = '4.12' | '4.16' | '5.1' | '6.1' | '6.11' | '6.14' | '6.16';

export const kernelGenerations: readonly KernelGeneration[] = [
	'4.12',
	'4.16',
	'5.1',
	'6.1',
	'6.11',
	'6.14',
	'6.16',
];

const releases: Record<KernelGeneration, string> = {
	'4.12': '4.12.14-klpemu',
	'4.16': '4.16.18-klpemu',
	'5.1': '5.1.21-klpemu',
	'6.1': '6.1.0-56-amd64',
	'6.11': '6.11.11-klpemu',
	'6.14': '6.14.11-klpemu',
	'6.16': '6.16.3-klpemu',
};

function versionOf(generation: KernelGeneration): number {
	const [major = '0', minor = '0'] = generation.split('.');
	return Number(major) * 1000 + Number(minor);
}

/** What a kernel generation does differently (kernel-livepatch.md §1). */
export type Features = {
	readonly release: string;
	/** `force` attribute (4.16+). */
	readonly forceFile: boolean;
	/** `signal` attribute (4.16-5.0). */
	readonly signalFile: boolean;
	/** Automatic fake signal every 15 failed attempts (5.1+). */
	readonly fakeSignals: boolean;
	/** A disabled patch stays registered and can be enabled again; stacking rules (< 5.1). */
	readonly legacyRegistration: boolean;
	/** `klp_patch.replace` (5.1+). */
	readonly atomicReplace: boolean;
	/** Per-object `patched` (6.1+). */
	readonly patchedAttr: boolean;
	/** `replace` attribute (6.11+). */
	readonly replaceAttr: boolean;
	/** `stack_order` attribute (6.14+). */
	readonly stackOrderAttr: boolean;
	/** "starting %s transition" and the pr_debug lines (4.15+); 4.12-4.14 printed `'%s': %s...`. */
	readonly modernMessages: boolean;
	/** Per-task messages all come from klp_try_switch_task (5.16+); before, stack ones from klp_check_stack. */
	readonly switchTaskMessages: boolean;
	/** Idle CPUs kicked with wake_up_if_idle() after a failed try (5.16+). */
	readonly idleKick: boolean;
	/** Force marks only the patches being removed (5.18+); before, every patch on the list. */
	readonly forceMarksRemovedOnly: boolean;
	/** Running kthreads switch in cond_resched() (6.4-6.15). */
	readonly kthreadCondResched: boolean;
	/** `kstrtobool` also takes t/T/f/F. */
	readonly boolTrueFalse: boolean;
	/** `/proc/<pid>/stack` prints `[<0>]` instead of addresses (4.19+). */
	readonly hiddenStackAddresses: boolean;
};

export function featuresOf(generation: KernelGeneration): Features {
	const v = versionOf(generation);
	return {
		release: releases[generation],
		forceFile: v >= 4016,
		signalFile: v >= 4016 && v < 5001,
		fakeSignals: v >= 5001,
		legacyRegistration: v < 5001,
		atomicReplace: v >= 5001,
		patchedAttr: v >= 6001,
		replaceAttr: v >= 6011,
		stackOrderAttr: v >= 6014,
		modernMessages: v >= 4015,
		switchTaskMessages: v >= 5016,
		idleKick: v >= 5016,
		forceMarksRemovedOnly: v >= 5018,
		kthreadCondResched: v >= 6004 && v < 6016,
		boolTrueFalse: v >= 6011,
		hiddenStackAddresses: v >= 4019,
	};
}
