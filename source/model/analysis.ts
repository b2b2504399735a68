/**
Why is a thread holding the transition back, and what can still move it (issue 2 §3,
kernel-livepatch.md §4.3, §4.4, §6). Pure functions, no I/O.

Decisions worth knowing:
- State `I` (idle kernel thread) is TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD. The kernel's fake
  signal wakes kthreads with `wake_up_state(task, TASK_INTERRUPTIBLE)`, which does not match TASK_IDLE,
  so `I` is classed `uninterruptible` (signals do not help); the explanation says such threads
  usually wake on their own (new work, a timer). `P` (parked) and `K` (wakekill) are classed the same.
- A blocker's direction follows from its own patch_state: it differs from the target and is 0 or 1,
  so patch_state 0 means the target is 1 (patching) and 1 means unpatching.
- Frame matching (§6.5): patching checks the old functions listed under `<obj>/<func,sympos>`
  (object `vmlinux` = frames without `[module]`, else the module must equal the object) and, for a
  function an older patch also changes, that patch's new code (frames in the older patch's module).
  Unpatching checks the transition patch's own new code: frames in its module. New-code names are not
  in sysfs, so a new-code frame counts when its name is the old name or `livepatch_<old>` (exact),
  else any frame in that module counts as a weaker match, used only when no exact one exists.
*/
import {sanitize} from './sanitize.js';
import type {
	Blocker,
	Direction,
	NewCode,
	PatchInfo,
	PatchState,
	Remedy,
	Snapshot,
	StackFrame,
	TaskClass,
	ThreadInfo,
	TransitionInfo,
} from './types.js';

/** A thread blocks the transition when its patch_state is 0 or 1 and differs from the target. */
export function isBlocking(patchState: PatchState | null, target: 0 | 1): patchState is 0 | 1 {
	return patchState !== null && patchState !== -1 && patchState !== target;
}

/** The direction a blocker is holding back, from its own patch_state. */
export function blockerDirection(patchState: 0 | 1): Direction {
	return patchState === 0 ? 'patching' : 'unpatching';
}

/** Sleep/run class from the state letter of `stat`. */
export function classifyState(state: string): TaskClass {
	switch (state) {
		case 'R':
		case 'W': {
			// W: "waking" on 2.6.33-3.13.
			return 'running';
		}

		case 'S': {
			return 'interruptible';
		}

		case 'D':
		case 'I':
		case 'P':
		case 'K': {
			return 'uninterruptible';
		}

		case 'T':
		case 't': {
			return 'stopped';
		}

		case 'Z':
		case 'X':
		case 'x': {
			return 'zombie';
		}

		default: {
			return 'unknown';
		}
	}
}

/** Major/minor of a kernel release string, without depending on the reader's parsers. */
function kernelVersion(release: string | null): {major: number; minor: number} | null {
	if (release === null) {
		return null;
	}

	const match = /^\s*(\d+)\.(\d+)/.exec(release);
	if (match === null) {
		return null;
	}

	return {major: Number(match[1]), minor: Number(match[2])};
}

/**
Whether the kernel sends the automatic fake signal every 15 s (5.1+). From the release when known,
else from the transition patch's files: `signal` exists only on 4.16-5.0, `force` since 4.16, so
`force` without `signal` means 5.1+. Null when it cannot be told.
*/
export function hasFakeSignals(
	kernel: {readonly release: string | null},
	patch?: Pick<PatchInfo, 'hasForce' | 'hasSignal'> | null,
): boolean | null {
	const version = kernelVersion(kernel.release);
	if (version !== null) {
		return version.major > 5 || (version.major === 5 && version.minor >= 1);
	}

	if (patch) {
		if (patch.hasSignal) {
			return false;
		}

		if (patch.hasForce) {
			return true;
		}
	}

	return null;
}

/**
What can still move a blocker, most useful first (issue 2 §3). `fakeSignals` as from
`hasFakeSignals`: the 15 s `wait` is offered only when known to exist. `force`: whether the
transition patch has a `force` file (4.16+); force is offered unless it is known to be absent.
`killable`: as from `killableSleep`; SIGKILL is offered only for a sleep known to be killable.
*/
export function remediesFor(
	taskClass: TaskClass,
	kthread: boolean,
	fakeSignals: boolean | null,
	force: boolean | null = null,
	killable: boolean | null = null,
): Remedy[] {
	const remedies: Remedy[] = [];
	switch (taskClass) {
		case 'interruptible': {
			if (!kthread) {
				remedies.push('nudge');
			}

			if (fakeSignals === true) {
				remedies.push('wait');
			}

			break;
		}

		case 'running':
		case 'stopped': {
			remedies.push('wait');
			break;
		}

		case 'uninterruptible':
		case 'zombie':
		case 'unknown': {
			break;
		}
	}

	remedies.push('reverse');
	// A kernel thread ignores SIGKILL; a user task in a killable sleep dies of it (and stops blocking).
	if (taskClass === 'uninterruptible' && killable === true && !kthread) {
		remedies.push('kill');
	}

	if (force !== false) {
		remedies.push('force');
	}

	return remedies;
}

/**
Whether a D sleep is killable (TASK_KILLABLE, ended by SIGKILL) rather than plainly uninterruptible:
/proc shows `D` for both. Told only by the name of where it sleeps: the innermost stack frame (or
wchan, the same place) is a function named `*killable*` (klp_sleeper_wait_killable,
__folio_lock_killable, ...). The generic helpers (mutex_lock_killable, wait_for_completion_killable,
schedule_timeout_killable) are scheduler text, which /proc's stack and wchan skip, so many killable
sleeps stay unknown: null, never a guess. False for any state but D.
*/
export function killableSleep(
	state: string,
	stack: readonly StackFrame[] | null,
	wchan: string | null,
): boolean | null {
	if (state !== 'D') {
		return false;
	}

	const innermost = stack?.[0]?.func ?? null;
	return innermost?.includes('killable') === true || wchan?.includes('killable') === true ? true : null;
}

/** What a blocker's stack (or wchan) is matched against, built once per scan. */
export type FunctionMatcher = {
	readonly direction: Direction;
	readonly patch: string;
	/** Old function name -> the objects it is listed under (transition patch). */
	readonly oldFunctions: ReadonlyMap<string, readonly string[]>;
	/** Patching: modules of older patches changing a function this patch changes -> their shared functions. */
	readonly olderModules: ReadonlyMap<string, ReadonlyMap<string, string>>;
	/** Patching: the module keys of `olderModules` -> the older patch's name. */
	readonly olderPatches: ReadonlyMap<string, string>;
	/** The transition patch's single object, when it has exactly one (names new-code frames while unpatching). */
	readonly soleObject: string | null;
};

function moduleKey(name: string): string {
	return name.includes('-') ? name.replaceAll('-', '_') : name;
}

/** Build the matcher for the patch in transition. */
export function buildMatcher(
	patches: readonly PatchInfo[],
	transition: TransitionInfo,
): FunctionMatcher | null {
	const patch = patches.find((candidate) => candidate.name === transition.patch);
	if (patch === undefined) {
		return null;
	}

	const oldFunctions = new Map<string, string[]>();
	for (const object of patch.objects) {
		for (const fn of object.functions) {
			const objects = oldFunctions.get(fn.name);
			if (objects === undefined) {
				oldFunctions.set(fn.name, [object.name]);
			} else if (!objects.includes(object.name)) {
				objects.push(object.name);
			}
		}
	}

	const olderModules = new Map<string, Map<string, string>>();
	const olderPatches = new Map<string, string>();
	if (transition.direction === 'patching') {
		// The transition patch is the newest while patching: every other listed (enabled) patch is older.
		for (const older of patches) {
			if (older === patch || !older.enabled) {
				continue;
			}

			for (const object of older.objects) {
				for (const fn of object.functions) {
					if (oldFunctions.get(fn.name)?.includes(object.name)) {
						const key = moduleKey(older.name);
						let shared = olderModules.get(key);
						if (shared === undefined) {
							shared = new Map();
							olderModules.set(key, shared);
							olderPatches.set(key, older.name);
						}

						shared.set(fn.name, object.name);
					}
				}
			}
		}
	}

	return {
		direction: transition.direction,
		patch: patch.name,
		oldFunctions,
		olderModules,
		olderPatches,
		soleObject: patch.objects.length === 1 ? patch.objects[0]!.name : null,
	};
}

export type FunctionMatch = {
	readonly function: string | null;
	readonly object: string | null;
	readonly matchedFrame: number | null;
	readonly matchedBy: 'stack' | 'wchan' | null;
	/** The function is a patch's replacement code, not the original (see `NewCode`). */
	readonly newCode: NewCode | null;
};

const NO_MATCH: FunctionMatch = {
	function: null,
	object: null,
	matchedFrame: null,
	matchedBy: null,
	newCode: null,
};

/** The old function a new-code name stands for (`name` or `livepatch_name`), or undefined. */
function oldNameOf(func: string, names: {has(name: string): boolean}): string | undefined {
	if (names.has(func)) {
		return func;
	}

	if (func.startsWith('livepatch_')) {
		const stripped = func.slice('livepatch_'.length);
		if (names.has(stripped)) {
			return stripped;
		}
	}

	return undefined;
}

/** Object of an old function frame, when the frame lies where the function is listed. */
function oldFrameObject(matcher: FunctionMatcher, frame: StackFrame): string | undefined {
	const objects = matcher.oldFunctions.get(frame.func);
	if (objects === undefined) {
		return undefined;
	}

	const module = frame.module === null ? null : moduleKey(frame.module);
	for (const object of objects) {
		if (object === 'vmlinux' ? module === null : module === moduleKey(object)) {
			return object;
		}
	}

	return undefined;
}

/**
The checked function a blocker sits in: the innermost matching stack frame (exact matches before
weak ones, see the module comment), else `wchan` when the stack is unreadable or empty and names a
checked function.
*/
export function findBlockingFunction(
	matcher: FunctionMatcher | null,
	stack: readonly StackFrame[] | null,
	wchan: string | null,
): FunctionMatch {
	if (matcher === null) {
		return NO_MATCH;
	}

	const ownModule = moduleKey(matcher.patch);
	if (stack !== null && stack.length > 0) {
		let weak: FunctionMatch | null = null;
		for (let index = 0; index < stack.length; index++) {
			const frame = stack[index]!;
			const at = {matchedFrame: index, matchedBy: 'stack'} as const;
			if (matcher.direction === 'patching') {
				const object = oldFrameObject(matcher, frame);
				if (object !== undefined) {
					return {function: frame.func, object, ...at, newCode: null};
				}

				if (frame.module !== null) {
					const key = moduleKey(frame.module);
					const shared = matcher.olderModules.get(key);
					if (shared !== undefined) {
						// An older patch's replacement function, which this patch replaces in turn.
						const patch = matcher.olderPatches.get(key)!;
						const oldName = oldNameOf(frame.func, shared);
						if (oldName !== undefined) {
							const newCode = {patch, module: frame.module, replaces: oldName};
							return {function: frame.func, object: shared.get(oldName)!, ...at, newCode};
						}

						if (weak === null) {
							const objects = new Set(shared.values());
							const object = objects.size === 1 ? [...objects][0]! : frame.module;
							weak = {
								function: frame.func,
								object,
								...at,
								newCode: {patch, module: frame.module, replaces: null},
							};
						}
					}
				}
			} else if (frame.module !== null && moduleKey(frame.module) === ownModule) {
				// Unpatching checks the patch's own replacement functions.
				const oldName = oldNameOf(frame.func, matcher.oldFunctions);
				const newCode = {patch: matcher.patch, module: frame.module, replaces: oldName ?? null};
				if (oldName !== undefined) {
					const object = matcher.oldFunctions.get(oldName)![0]!;
					return {function: frame.func, object, ...at, newCode};
				}

				weak ??= {function: frame.func, object: matcher.soleObject ?? matcher.patch, ...at, newCode};
			}
		}

		if (weak !== null) {
			return weak;
		}

		if (stack.length > 0) {
			return NO_MATCH;
		}
	}

	if (wchan === null || wchan === '' || wchan === '0') {
		return NO_MATCH;
	}

	const byWchan = {matchedFrame: null, matchedBy: 'wchan'} as const;
	const oldName = oldNameOf(wchan, matcher.oldFunctions);
	if (oldName !== undefined && (matcher.direction === 'unpatching' || oldName === wchan)) {
		const object = matcher.oldFunctions.get(oldName)![0]!;
		// wchan names no module: unpatching, it is the patch's own code, in the module the patch is named after.
		const newCode =
			matcher.direction === 'unpatching'
				? {patch: matcher.patch, module: ownModule, replaces: oldName}
				: null;
		return {function: wchan, object, ...byWchan, newCode};
	}

	if (matcher.direction === 'patching') {
		for (const [key, shared] of matcher.olderModules) {
			const sharedName = oldNameOf(wchan, shared);
			if (sharedName !== undefined) {
				const newCode = {patch: matcher.olderPatches.get(key)!, module: key, replaces: sharedName};
				return {function: wchan, object: shared.get(sharedName)!, ...byWchan, newCode};
			}
		}
	}

	return NO_MATCH;
}

/** The object whose code a blocker sits in: the replacing patch's module for new code, else the patched object. */
export function frameObject(blocker: Pick<Blocker, 'object' | 'newCode'>): string | null {
	return blocker.newCode?.module ?? blocker.object;
}

/** Everything the analysis needs about the world, once per scan. */
export type AnalysisContext = {
	readonly matcher: FunctionMatcher | null;
	readonly fakeSignals: boolean | null;
	/** The transition patch has a `force` file (4.16+); null when there is no such patch. */
	readonly force?: boolean | null;
};

export function analysisContext(
	kernel: {readonly release: string | null},
	patches: readonly PatchInfo[],
	transition: TransitionInfo | null,
): AnalysisContext {
	if (transition === null) {
		return {matcher: null, fakeSignals: hasFakeSignals(kernel)};
	}

	const patch = patches.find((candidate) => candidate.name === transition.patch) ?? null;
	return {
		matcher: buildMatcher(patches, transition),
		fakeSignals: hasFakeSignals(kernel, patch),
		force: patch?.hasForce ?? null,
	};
}

/** Turn a blocking thread plus what was read about it into a `Blocker`. */
export function analyzeBlocker(
	thread: ThreadInfo & {readonly patchState: 0 | 1},
	wchan: string | null,
	stack: readonly StackFrame[] | null,
	context: AnalysisContext,
): Blocker {
	const taskClass = classifyState(thread.state);
	const match = findBlockingFunction(context.matcher, stack, wchan);
	const killable = killableSleep(thread.state, stack, wchan);
	// Every field by name: V8 makes `{...thread, more}` pay about 4 us for each property added after
	// the spread (30 ms for 1,000 blockers, a tenth of a 100,000-thread `--once` beyond the walk).
	return {
		tid: thread.tid,
		tgid: thread.tgid,
		comm: thread.comm,
		state: thread.state,
		ppid: thread.ppid,
		flags: thread.flags,
		kthread: thread.kthread,
		starttime: thread.starttime,
		patchState: thread.patchState,
		uid: thread.uid,
		class: taskClass,
		function: match.function,
		object: match.object,
		wchan,
		stack,
		matchedFrame: match.matchedFrame,
		matchedBy: match.matchedBy,
		newCode: match.newCode,
		killable,
		remedies: remediesFor(taskClass, thread.kthread, context.fakeSignals, context.force ?? null, killable),
	};
}

/** Why an uninterruptible sleep holds on, and whether SIGKILL could end it (see `killableSleep`). */
function uninterruptibleWords(blocker: Blocker): string {
	const others = blocker.remedies.includes('force') ? 'reversing or forcing' : 'reversing';
	if (blocker.state === 'I') {
		return 'An idle kernel thread (TASK_IDLE) is not woken by signals or the fake signal; it usually wakes on its own when work arrives or a timer fires.';
	}

	if (blocker.kthread) {
		return `A kernel thread in an uninterruptible sleep is woken by no signal (it ignores even SIGKILL): only the thread leaving the function on its own, or ${others}, help.`;
	}

	if (blocker.killable === true) {
		return `A killable sleep (TASK_KILLABLE: where it sleeps says so) is not ended by the fake signal or a nudge, but SIGKILL ends it, killing the process; without that, only the task leaving the function on its own, or ${others}, help.`;
	}

	if (blocker.state === 'D') {
		return `An uninterruptible sleep is not ended by the fake signal or a nudge. If it is a killable sleep (TASK_KILLABLE: /proc shows D for both, and nothing here tells which), SIGKILL would end it, killing the process; otherwise only the task leaving the function on its own, or ${others}, help.`;
	}

	return `An uninterruptible sleep is not ended by signals or the fake signal: only the task leaving the function on its own, or ${others}, help.`;
}

function transitionPatchName(patch: Pick<PatchInfo, 'name'> | null | undefined): string {
	return patch?.name ?? 'the patch in transition';
}

const CLASS_WORDS: Record<TaskClass, string> = {
	running: 'running (on a CPU or runnable)',
	interruptible: 'in an interruptible sleep',
	uninterruptible: 'in an uninterruptible sleep',
	stopped: 'stopped',
	zombie: 'a zombie (exited, not yet reaped)',
	unknown: 'in an unknown state',
};

/**
Plain-words explanation of one blocker: why it is stuck and what can help, one sentence per line,
for the dashboard's detail view and `--once`. Foreign strings (comm, function names) are sanitised.
*/
export function explainBlocker(
	blocker: Blocker,
	kernel: Snapshot['kernel'] | {readonly release: string | null},
	patch?: Pick<PatchInfo, 'name' | 'hasForce' | 'hasSignal'> | null,
): string[] {
	const lines: string[] = [];
	const direction = blockerDirection(blocker.patchState);
	const target = blocker.patchState === 0 ? 1 : 0;
	const who = `${sanitize(blocker.comm)} (tid ${blocker.tid}${blocker.tid === blocker.tgid ? '' : `, pid ${blocker.tgid}`})`;
	const kind = blocker.kthread ? 'kernel thread' : 'user task';
	lines.push(
		`${who} is a ${kind} ${CLASS_WORDS[blocker.class]} (state ${sanitize(blocker.state)}); its patch_state is ${blocker.patchState}, the ${direction} transition needs ${target}.`,
	);

	// Where it sits.
	if (blocker.function !== null) {
		const object = frameObject(blocker);
		const where = object === null ? '' : ` (${sanitize(object)})`;
		const code = direction === 'patching' ? 'code being replaced' : "patch's new code";
		if (blocker.matchedBy === 'stack' && blocker.matchedFrame !== null) {
			lines.push(
				`Its stack holds ${sanitize(blocker.function)}${where} at frame #${blocker.matchedFrame}: the kernel will not switch a task while ${code} is on its stack.`,
			);
		} else {
			lines.push(
				`Its wchan is ${sanitize(blocker.function)}${where}, a function the transition checks: the kernel will not switch a task while ${code} is on its stack.`,
			);
		}

		const newCode = blocker.newCode ?? null;
		if (newCode !== null && direction === 'patching') {
			lines.push(
				`${sanitize(blocker.function)} is not the original: it is the replacement ${newCode.replaces === null ? 'code' : `for ${sanitize(newCode.replaces)}${blocker.object === null ? '' : ` (${sanitize(blocker.object)})`}`} of the previous patch ${sanitize(newCode.patch)}, which ${sanitize(transitionPatchName(patch))} replaces in turn.`,
			);
		}

		if (direction === 'unpatching') {
			lines.push(
				'The kernel log names the old function even while unpatching (it prints the original name).',
			);
		}
	} else if (blocker.stack === null) {
		const wchan = blocker.wchan === null ? '' : ` wchan is ${sanitize(blocker.wchan)};`;
		lines.push(
			`Its stack is unreadable (needs root with CAP_SYS_ADMIN);${wchan} a checked function may sit deeper than wchan shows.`,
		);
	} else if (blocker.class === 'running') {
		lines.push(
			'No checked function on its stack: it is simply running and switches at its next kernel exit or sleep.',
		);
	} else {
		lines.push(
			'No checked function found on its stack: the kernel may find it running when it checks, or its stack unreliable (the kernel reads up to 100 reliable frames, /proc shows at most 64).',
		);
	}

	// Why nothing moved it yet, by class.
	const fakeSignals = hasFakeSignals(kernel, patch);
	switch (blocker.class) {
		case 'running': {
			lines.push(
				blocker.kthread
					? 'A running kernel thread never returns to user space; it switches when it sleeps outside the checked functions (6.4+ kernels also switch it in cond_resched()).'
					: 'A running task switches on its own at its next exit to user space.',
			);
			break;
		}

		case 'interruptible': {
			if (blocker.kthread) {
				lines.push(
					fakeSignals === true
						? 'A kernel thread cannot be nudged with signals; the kernel wakes interruptible kthreads every 15 s (fake signal round), and it switches if it then sleeps elsewhere.'
						: 'A kernel thread cannot be nudged with signals, and this kernel sends no automatic fake signal.',
				);
			} else {
				lines.push(
					fakeSignals === true
						? 'An interruptible sleep ends on a signal: the kernel sends a fake signal every 15 s, or nudge it now (SIGSTOP + SIGCONT; the whole process stops briefly).'
						: 'An interruptible sleep ends on a signal: nudge it (SIGSTOP + SIGCONT; the whole process stops briefly).',
				);
			}

			if (patch?.hasSignal) {
				lines.push(
					`This kernel has no automatic fake signal; writing 1 to ${sanitize(patch.name)}/signal sends one.`,
				);
			}

			break;
		}

		case 'uninterruptible': {
			lines.push(uninterruptibleWords(blocker));
			break;
		}

		case 'stopped': {
			lines.push(
				'A stopped task switches on its way out of the kernel; if it still blocks, a checked function is on its stack and the kernel retries every second.',
			);
			break;
		}

		case 'zombie': {
			lines.push(
				`A zombie has exited; it goes away when its parent reaps it. Until then only ${blocker.remedies.includes('force') ? 'reversing or forcing help' : 'reversing helps'}.`,
			);
			break;
		}

		case 'unknown': {
			lines.push('Its state could not be read; it may have exited.');
			break;
		}
	}

	// What can help.
	const remedyWords: Record<Remedy, string> = {
		nudge: 'nudge: SIGSTOP + SIGCONT makes it leave the sleep and switch (visible to its parent and shell).',
		wait:
			blocker.class === 'interruptible'
				? 'wait: the kernel fake-signals remaining tasks every 15 s.'
				: blocker.class === 'stopped'
					? 'wait: the kernel retries every second and switches it once no checked function is on its stack.'
					: 'wait: it switches on its own at its next kernel exit or sleep.',
		reverse: `reverse: write ${target === 1 ? 0 : 1} to enabled; tasks that never switched are already done, the others must switch back.`,
		kill: `kill: SIGKILL (kill -KILL ${blocker.tgid}) ends a killable sleep: the task leaves the function and dies, and stops holding the transition; the whole process dies with it (its work is lost). klptop never sends it.`,
		force:
			'force: write 1 to force; breaks the consistency guarantee, and a forced unpatch pins the patch module until reboot.',
	};
	for (const remedy of blocker.remedies) {
		lines.push(remedyWords[remedy]);
	}

	if (patch?.hasForce === false) {
		lines.push('force: not on this kernel (the force file came with Linux 4.16).');
	}

	return lines;
}
