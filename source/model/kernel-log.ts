/**
The livepatch core's kernel log lines (kernel-livepatch.md §5), classified: the lifecycle of a
transition (enabling, initializing, starting, completing, complete, reversing, canceling), the
signal and force rounds, and the per-task lines of dynamic debug. `history.ts` folds them.
*/
import type {Direction, KernelLogLine} from './types.js';

export type LivepatchLogRecord =
	| {readonly kind: 'enabling'; readonly patch: string}
	| {readonly kind: 'initializing'; readonly patch: string; readonly direction: Direction}
	| {readonly kind: 'starting'; readonly patch: string; readonly direction: Direction}
	| {readonly kind: 'completing'; readonly patch: string; readonly direction: Direction}
	| {readonly kind: 'complete'; readonly patch: string; readonly direction: Direction}
	| {readonly kind: 'reversing'; readonly patch: string; readonly from: Direction; readonly to: Direction}
	| {readonly kind: 'canceling'; readonly patch: string}
	| {readonly kind: 'signaling'}
	| {readonly kind: 'forcing'}
	| {readonly kind: 'task'; readonly comm: string; readonly tid: number; readonly reason: string}
	| {readonly kind: 'other'; readonly patch: string | null};

const dir = '(patching|unpatching)';
const logPatterns = {
	starting: new RegExp(`'([^']+)': starting ${dir} transition`),
	// 4.12-4.14 printed `'<patch>': patching...` instead of `starting patching transition`.
	startingOld: new RegExp(`'([^']+)': ${dir}\\.\\.\\.\\s*$`),
	initializing: new RegExp(`'([^']+)': initializing ${dir} transition`),
	completing: new RegExp(`'([^']+)': completing ${dir} transition`),
	complete: new RegExp(`'([^']+)': ${dir} complete`),
	reversing: new RegExp(`'([^']+)': reversing transition from ${dir} to ${dir}`),
	canceling: /'([^']+)': canceling patching transition/,
	enabling: /enabling patch '([^']+)'/,
	signaling: /signaling remaining tasks/,
	forcing: /forcing remaining tasks to the patched state/,
	// 5.16+ `klp_try_switch_task:`, 4.12-5.15 `klp_check_stack:`; comm may itself contain ':'.
	task: /(?:klp_try_switch_task|klp_check_stack): (.*):(\d+) (is running|has an unreliable stack|is sleeping on function \S+)/,
	anyPatch: /'([^']+)'/,
} as const;

/** The `'<patch>': <word> <direction> ...` lines, one record shape for all of them. */
const directedPatterns = [
	['starting', logPatterns.starting],
	['starting', logPatterns.startingOld],
	['initializing', logPatterns.initializing],
	['completing', logPatterns.completing],
	['complete', logPatterns.complete],
] as const;

/**
Classify one kernel log line. Only lines with the `livepatch: ` prefix of the livepatch core's
`pr_fmt` are read for their meaning: a module printing the same words cannot fake a transition.
*/
export function parseLivepatchLine(line: string): LivepatchLogRecord {
	const prefix = /^\s*livepatch: /.exec(line);
	if (!prefix) {
		return {kind: 'other', patch: null};
	}

	const text = line.slice(prefix[0].length);
	// A task line (one per blocker and retry with dynamic debug on: the bulk of a busy log) is known
	// by its first word, whatever its comm says: one pattern instead of the ten below.
	if (text.startsWith('klp_try_switch_task: ') || text.startsWith('klp_check_stack: ')) {
		const task = logPatterns.task.exec(text);
		if (task) {
			return {kind: 'task', comm: task[1]!, tid: Number(task[2]), reason: task[3]!};
		}
	}

	let m = logPatterns.reversing.exec(text);
	if (m) {
		return {kind: 'reversing', patch: m[1]!, from: m[2] as Direction, to: m[3] as Direction};
	}

	for (const [kind, pattern] of directedPatterns) {
		m = pattern.exec(text);
		if (m) {
			return {kind, patch: m[1]!, direction: m[2] as Direction};
		}
	}

	m = logPatterns.canceling.exec(text);
	if (m) {
		return {kind: 'canceling', patch: m[1]!};
	}

	m = logPatterns.enabling.exec(text);
	if (m) {
		return {kind: 'enabling', patch: m[1]!};
	}

	if (logPatterns.signaling.test(text)) {
		return {kind: 'signaling'};
	}

	if (logPatterns.forcing.test(text)) {
		return {kind: 'forcing'};
	}

	m = logPatterns.task.exec(text);
	if (m) {
		return {kind: 'task', comm: m[1]!, tid: Number(m[2]), reason: m[3]!};
	}

	m = logPatterns.anyPatch.exec(text);
	return {kind: 'other', patch: m ? m[1]! : null};
}

/** Wall-clock ms of a kernel log line, null when its boot offset or the boot time is unknown. */
export function kernelLogTime(line: KernelLogLine, bootTime: number | null): number | null {
	if (line.bootSeconds === null || bootTime === null || !Number.isFinite(line.bootSeconds)) {
		return null;
	}

	return bootTime + line.bootSeconds * 1000;
}
