/**
`--pid` and `--tid` for the printed outputs (`--once`, `--json`, `-b`), as the dashboard applies
them to its rows: a blocker is shown when its process is among the pids and its thread among the
tids (either list absent: no condition). Counts and the transition stay whole: they are the
kernel's, not the selection's.
*/
import type {Blocker} from '../model/types.js';

export type IdFilter = {
	readonly pids: readonly number[] | null;
	readonly tids: readonly number[] | null;
};

/** Whether a filter selects anything (null or both lists absent: everything shown). */
export function isFiltering(filter: IdFilter | null | undefined): filter is IdFilter {
	return filter !== null && filter !== undefined && (filter.pids !== null || filter.tids !== null);
}

/** The blockers the filter keeps, in their order. */
export function selectBlockers(
	blockers: readonly Blocker[],
	filter: IdFilter | null | undefined,
): readonly Blocker[] {
	if (!isFiltering(filter)) {
		return blockers;
	}

	const pids = filter.pids === null ? null : new Set(filter.pids);
	const tids = filter.tids === null ? null : new Set(filter.tids);
	return blockers.filter((b) => (pids === null || pids.has(b.tgid)) && (tids === null || tids.has(b.tid)));
}

/** `--pid 1,2 --tid 3`, for the outputs to say what they left out. */
export function describeFilter(filter: IdFilter): string {
	const parts: string[] = [];
	if (filter.pids !== null) {
		parts.push(`--pid ${filter.pids.join(',')}`);
	}

	if (filter.tids !== null) {
		parts.push(`--tid ${filter.tids.join(',')}`);
	}

	return parts.join(' ');
}
