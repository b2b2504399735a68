/**
The Prometheus text exposition format (version 0.0.4) of one history: what `klptop export` writes to
a textfile-collector file or serves on `/metrics`.

Conventions (peers-and-conventions.md §6): one `klp_` prefix, base units (`_seconds`), no
`_total` (nothing here is a counter), an `_info` metric for metadata, no timestamps, HELP and TYPE
for every family, and never a PID, TID or comm in a label (unbounded cardinality): per-task detail
stays in `--json`. Label values come from the kernel (patch names): they are sanitised with
`clean()` and then escaped as the format requires (`\\`, `\"`, `\n`).

Every patch gets every per-patch series (0 when it is not in transition), so series do not appear
and vanish with each transition; `klp_patch_replace` only where the kernel says (6.11+).
`klp_transition_observed_seconds` is how long klptop has seen the transition run: the kernel
exposes no start time, so a one-shot run knows it only from the kernel log (when readable),
otherwise it starts at 0 and is a lower bound; a long-running exporter measures it.
`klp_livepatch_available` is 0 on a kernel without livepatch support: the exporter keeps serving
there (a host in a fleet dashboard should read "no livepatch", not "exporter down").
*/
import {clean} from '../model/sanitize.js';
import type {History} from '../model/types.js';
import {taskClasses} from '../model/types.js';

export const contentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Escape a label value per the exposition format, after sanitising it. */
export function escapeLabelValue(value: string): string {
	return clean(value).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function escapeHelp(text: string): string {
	return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

type Sample = {readonly labels: ReadonlyArray<readonly [string, string]>; readonly value: number};

type Family = {
	readonly name: string;
	readonly help: string;
	readonly samples: readonly Sample[];
};

function formatValue(value: number): string {
	if (Number.isNaN(value)) {
		return 'NaN';
	}

	if (!Number.isFinite(value)) {
		return value > 0 ? '+Inf' : '-Inf';
	}

	return String(Math.round(value * 1000) / 1000);
}

function formatFamily(family: Family): string {
	const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} gauge`];
	for (const sample of family.samples) {
		const labels =
			sample.labels.length === 0
				? ''
				: `{${sample.labels.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',')}}`;
		lines.push(`${family.name}${labels} ${formatValue(sample.value)}`);
	}

	return lines.join('\n');
}

export type MetricsOptions = {
	/** klptop's version for `klp_exporter_info`. */
	readonly version: string;
};

/** The whole exposition for the history's latest snapshot, ending with a newline. */
export function toPrometheus(history: History, options: MetricsOptions): string {
	const s = history.snapshot;
	const t = history.transition;
	// Two patches can clean() to the same label value only if their raw names differ in unsafe
	// characters; keep the first so no series is duplicated (promtool rejects duplicates).
	const seen = new Set<string>();
	const patches = s.patches.filter((p) => {
		const key = clean(p.name);
		if (seen.has(key)) {
			return false;
		}

		seen.add(key);
		return true;
	});

	const perPatch = (value: (name: string, inTransition: boolean) => number | null): Sample[] =>
		patches.flatMap((p) => {
			const inTransition = t !== null && t.patch === p.name;
			const v = value(p.name, inTransition);
			return v === null ? [] : [{labels: [['patch', p.name]] as const, value: v}];
		});

	const blockers = s.blockers;
	const families: Family[] = [
		{
			name: 'klp_patch_enabled',
			help: 'Livepatch enabled attribute: its target state (1 while patching or applied, 0 while unpatching).',
			samples: patches.map((p) => ({labels: [['patch', p.name]], value: p.enabled ? 1 : 0})),
		},
		{
			name: 'klp_patch_transition',
			help: 'Whether the livepatch is in transition (1) or settled (0).',
			samples: patches.map((p) => ({labels: [['patch', p.name]], value: p.transition ? 1 : 0})),
		},
		{
			name: 'klp_patch_replace',
			help: 'Whether the livepatch is an atomic-replace (cumulative) patch; only where the kernel exposes it (6.11+).',
			samples: patches.flatMap((p) =>
				p.replace === null ? [] : [{labels: [['patch', p.name]] as const, value: p.replace ? 1 : 0}],
			),
		},
		{
			name: 'klp_transition_pending_tasks',
			help: 'Threads (kernel threads included) that have not switched to the transition target yet; 0 when not in transition.',
			samples: perPatch((_, inTransition) => (inTransition ? t!.pending : 0)),
		},
		{
			name: 'klp_transition_pending_kthreads',
			help: 'Kernel threads among the pending threads; 0 when not in transition.',
			samples: perPatch((_, inTransition) => (inTransition ? blockers.filter((b) => b.kthread).length : 0)),
		},
		{
			name: 'klp_transition_blockers',
			help: 'Pending threads by sleep class (running, interruptible, uninterruptible, stopped, zombie, unknown).',
			samples: patches.flatMap((p) => {
				const inTransition = t !== null && t.patch === p.name;
				return taskClasses.map((taskClass) => ({
					labels: [
						['patch', p.name],
						['class', taskClass],
					] as const,
					value: inTransition ? blockers.filter((b) => b.class === taskClass).length : 0,
				}));
			}),
		},
		{
			name: 'klp_transition_observed_seconds',
			help: 'Seconds the transition has been running as far as klptop knows (kernel log, or since first seen: a lower bound); 0 when not in transition.',
			samples: perPatch((_, inTransition) => (inTransition ? Math.max(0, t!.elapsedS ?? 0) : 0)),
		},
		{
			name: 'klp_livepatch_available',
			help: 'Whether the kernel has livepatch support (/sys/kernel/livepatch exists, CONFIG_LIVEPATCH): 1, or 0 and no patch can be loaded.',
			samples: [{labels: [], value: s.kernel.livepatch ? 1 : 0}],
		},
		{
			name: 'klp_exporter_info',
			help: 'klptop exporter version and the kernel release it reads.',
			samples: [
				{
					labels: [
						['version', options.version],
						['kernel_release', s.kernel.release ?? ''],
					],
					value: 1,
				},
			],
		},
	];

	return families.map((family) => formatFamily(family)).join('\n') + '\n';
}
