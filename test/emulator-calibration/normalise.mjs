// Normalisation of klptop observations, shared by the real-kernel tier (test/kernel/verdict.mjs, which
// writes test/fixtures/kernel/*.json from real runs) and the emulator calibration test (which normalises
// the emulator's observations the same way and compares). Plain JavaScript so that the host script runs it
// without a build; types in normalise.d.mts.
//
// An observation (one `klptop --once --json` document, or anything with the same fields) is reduced to what
// the kernel decides and klptop must get right: the patches (name, enabled, transition), the transition
// (patch, direction), and who blocks it (comm, class, function, object, kthread). Blockers whose function is
// unknown (tasks that simply have not been visited yet, e.g. right after a reversal) are folded into one
// flag, `others`, since which of them a sample happens to catch is a matter of timing, not of behaviour.
// Consecutive equal observations become one step with a sample count.

const bool = (x) => x === true || x === 1 || x === '1';

/** @param {any} view */
export function normaliseView(view) {
	const patches = (view?.patches ?? [])
		.map((p) => ({
			name: String(p.name),
			enabled: bool(p.enabled),
			transition: bool(p.transition),
			// Only where the kernel has the attribute (6.11+, 6.14+ upstream), so older kernels' states keep
			// their shape.
			...(p.replace === null || p.replace === undefined ? {} : {replace: bool(p.replace)}),
			...(p.stack_order === null || p.stack_order === undefined ? {} : {stack_order: Number(p.stack_order)}),
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
	const t = view?.transition ?? null;
	const transition = t ? {patch: String(t.patch), direction: String(t.direction)} : null;
	const seen = new Map();
	let others = false;
	for (const b of view?.blockers ?? []) {
		if (b.function === null || b.function === undefined) {
			others = true;
			continue;
		}
		const key = {
			comm: String(b.comm),
			class: String(b.class),
			function: String(b.function),
			object: b.object === null || b.object === undefined ? null : String(b.object),
			kthread: Boolean(b.kthread),
		};
		seen.set(JSON.stringify(key), key);
	}
	const blockers = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
	return {patches, transition, blockers, others};
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const round = (x) => Math.round(x * 100) / 100;

/** A step shorter than this (seconds) may be missed by a poller: either side may lack it. */
export const BRIEF_S = 1;

/**
 * Folds timed observations into steps: consecutive equal normalised states become one step, lasting from
 * its first observation until the first observation of the next state (or `end`).
 * @param {{t: number, view?: any, state?: any}[]} observations  t in seconds from the scenario start;
 *   either a klptop-shaped `view` or an already normalised `state`
 * @param {number} end  time of the last observation or scenario end, same base
 */
export function foldObservations(observations, end) {
	const steps = [];
	for (const o of [...observations].sort((a, b) => a.t - b.t)) {
		const state = o.state ?? (o.view ? normaliseView(o.view) : null);
		if (!state) continue;
		const last = steps[steps.length - 1];
		if (last && same(last.state, state)) {
			last.samples++;
			continue;
		}
		if (last) last.until_s = round(o.t);
		steps.push({state, samples: 1, first_s: round(o.t), until_s: round(o.t)});
	}
	const last = steps[steps.length - 1];
	if (last) last.until_s = round(Math.max(last.until_s, end ?? last.first_s));
	return steps;
}

const ERRNO = [
	[/device or resource busy|EBUSY/i, 'EBUSY'],
	[/invalid argument|EINVAL/i, 'EINVAL'],
	[/resource temporarily unavailable|EAGAIN/i, 'EAGAIN'],
	[/no such file|ENOENT/i, 'ENOENT'],
	[/operation not permitted|EPERM/i, 'EPERM'],
];
/** The errno an action's output names, if any. */
export function errnoOf(text) {
	for (const [re, name] of ERRNO) if (re.test(text ?? '')) return name;
	return null;
}

/** Kernel log lines that show when an action took effect (a klptop subcommand starts node first). */
function kernelMark(verb, target) {
	const p = String(target ?? '').replace(/[^\w]/g, '');
	if (verb === 'insmod') return new RegExp(`enabling patch '${p}'$`);
	if (verb === 'disable' || verb === 'enabled=0')
		return new RegExp(`'${p}': (initializing|starting) unpatching transition$`);
	if (verb === 'reverse') return new RegExp(`'${p}': reversing transition`);
	if (verb === 'force' || verb === 'force=1') return /forcing remaining tasks to the (un)?patched state/;
	return null;
}

/**
 * The actions of a scenario (the real tier's events) as fixture entries, times from the scenario start:
 * `t_s` when the command started, `end_s` when it returned, `kernel_s` when the kernel logged its effect
 * (when it logs one).
 * @param {any[]} events
 * @param {number} start
 * @param {{t: number, msg: string}[]} [klog]
 */
export function actionsFromEvents(events, start, klog = []) {
	return events
		.filter((e) => ['insmod', 'rmmod', 'action', 'write', 'ctl', 'reader'].includes(e.name))
		.map((e) => {
			let what;
			let mark = null;
			if (e.name === 'insmod' || e.name === 'rmmod') {
				// Module parameters follow the name: `insmod klp_sleeper_patch_v2 replace=0`.
				what = [e.name, e.module, ...(e.params ?? [])].join(' ');
				mark = kernelMark(e.name, e.module);
			} else if (e.name === 'action') {
				what = `${e.kind} ${(e.args ?? []).join(' ')}`.trim();
				mark = kernelMark(e.kind, e.args?.[0]);
			} else if (e.name === 'write') {
				const rel = String(e.path).replace('/sys/kernel/livepatch/', '');
				what = `${rel}=${e.value}`;
				const [patch, file] = rel.split('/');
				mark = kernelMark(`${file}=${e.value}`, patch);
			} else if (e.name === 'reader') {
				// A `cat` of a klp_sleeper file, once it sleeps in the kernel (the event comes then).
				what = `reader ${e.file}`;
			} else what = `ctl ${e.cmd}`;
			const t0 = e.t0 ?? e.t;
			const t1 = e.t1 ?? t0;
			const logged =
				mark && e.rc === 0 ? klog.find((l) => l.t >= t0 - 0.2 && l.t <= t1 + 0.5 && mark.test(l.msg)) : null;
			return {
				t_s: round(t0 - start),
				end_s: round(t1 - start),
				...(logged ? {kernel_s: round(logged.t - start)} : {}),
				action: what,
				...(e.name === 'action' ? {via: e.via} : {}),
				...(e.targets ? {targets: e.targets} : {}),
				result:
					e.rc === 0 || e.name === 'reader'
						? 'ok'
						: (errnoOf(`${e.stderr ?? ''} ${e.stdout ?? ''}`) ?? `rc=${e.rc}`),
			};
		});
}

/** One line per step, for logs and diffs. */
export function formatStep(step) {
	const s = step.state;
	const patches =
		s.patches.map((p) => `${p.name}=${p.enabled ? 1 : 0}${p.transition ? '(T)' : ''}`).join(',') || 'none';
	const tr = s.transition ? `${s.transition.direction} ${s.transition.patch}` : 'idle';
	const bl = s.blockers
		.map((b) => `${b.comm}:${b.class}:${b.function}@${b.object}${b.kthread ? ':kthread' : ''}`)
		.concat(s.others ? ['+others'] : [])
		.join(' ');
	const d = step.until_s !== undefined ? ` ${round(step.until_s - step.first_s)}s` : '';
	return `[${patches} | ${tr} | ${bl || 'no blockers'}]${d}`;
}
export const formatSequence = (seq) => seq.map(formatStep).join(' -> ');

const isBrief = (step) => step.until_s - step.first_s < BRIEF_S;

/**
 * Compares two step sequences by their states, in order. A brief step (shorter than BRIEF_S) may be missing
 * on the other side, since a poller can miss it; every other step must be matched by an equal state. A step
 * may match several consecutive equal steps of the other side (they were split by a missed brief step).
 * @returns {{ok: boolean, explain: string}}
 */
export function compareSequences(expected, actual) {
	const n = expected.length;
	const m = actual.length;
	const memo = new Map();
	const eq = (i, j) => same(expected[i].state, actual[j].state);
	const go = (i, j) => {
		if (i === n && j === m) return true;
		const key = i * (m + 1) + j;
		if (memo.has(key)) return memo.get(key);
		memo.set(key, false);
		const ok =
			(i < n && j < m && eq(i, j) && go(i + 1, j + 1)) ||
			(i < n && j > 0 && eq(i, j - 1) && go(i + 1, j)) ||
			(j < m && i > 0 && eq(i - 1, j) && go(i, j + 1)) ||
			(i < n && isBrief(expected[i]) && go(i + 1, j)) ||
			(j < m && isBrief(actual[j]) && go(i, j + 1));
		memo.set(key, ok);
		return ok;
	};
	if (go(0, 0)) return {ok: true, explain: ''};
	const lines = [`  (- expected, + actual; steps under ${BRIEF_S}s may be missing on either side)`];
	for (const step of expected) lines.push(`  - ${formatStep(step)}`);
	for (const step of actual) lines.push(`  + ${formatStep(step)}`);
	return {ok: false, explain: lines.join('\n')};
}
