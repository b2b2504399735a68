// The task table's rows: the remembered, incremental derivation (`deriveRows`) against a plain
// reference written here from the rules (build every row, filter, aggregate, sort with one
// comparator), for random histories and random sequences of view changes.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import type {
	Blocker,
	History,
	Snapshot,
	TaskClass,
	ThreadInfo,
	ThreadTable,
} from '../../source/model/types.js';
import {
	baseRows,
	columnIds,
	defaultViewOptions,
	deriveRows as deriveList,
	rowMatches,
} from '../../source/dashboard/rows.js';
import {toArray} from '../../source/dashboard/row-model.js';
import type {ColumnId, GroupMode, TaskRow, ViewOptions} from '../../source/dashboard/rows.js';
import {initialState} from '../../source/dashboard/state.js';
import {reduce} from '../../source/ui/reducer.js';
import type {UiState} from '../../source/dashboard/state.js';
import {blocker, snapshot, t0, thread} from '../ui/fixtures.js';

/** Every row, made (`deriveRows` gives a list that makes a row when asked). */
const deriveRows = (...args: Parameters<typeof deriveList>): TaskRow[] => toArray(deriveList(...args));

// ---------------------------------------------------------------------------------------------
// The reference: straightforward, no memory between calls.

const rank: Record<TaskClass, number> = {
	uninterruptible: 5,
	zombie: 4,
	interruptible: 3,
	stopped: 2,
	running: 1,
	unknown: 0,
};

function refThreadRow(history: History, source: ThreadInfo, found: Blocker | null): TaskRow {
	const key = `${source.tid}:${source.starttime}`;
	const memory = found === null ? undefined : history.blockers.get(key);
	return {
		kind: 'thread',
		key,
		threadKey: key,
		tid: source.tid,
		tgid: source.tgid,
		starttime: source.starttime,
		uid: source.uid,
		state: source.state,
		kthread: source.kthread,
		patchState: source.patchState,
		stuckS: memory === undefined ? null : Math.max(0, (history.snapshot.time - memory.firstSeen) / 1000),
		class: found?.class ?? null,
		function: found?.function ?? null,
		object: found?.object ?? null,
		comm: source.comm,
		count: 1,
		blocking: found === null ? 0 : 1,
		member: false,
		expanded: false,
		summary: null,
		blocker: found,
	};
}

function refBase(history: History, showAll: boolean): TaskRow[] {
	const {threads, blockers} = history.snapshot;
	if (showAll && threads !== null) {
		return threads.map((t) => {
			// The last blocker listed for the thread (by TID and start time) is the one shown.
			const found = blockers.filter((b) => b.tid === t.tid && b.starttime === t.starttime).at(-1) ?? null;
			return refThreadRow(history, found ?? t, found);
		});
	}

	return blockers.map((b) => refThreadRow(history, b, b));
}

function refMatches(row: TaskRow, needle: string): boolean {
	const parts = [row.comm.toLowerCase(), row.function?.toLowerCase(), row.object?.toLowerCase()];
	if (row.kind !== 'group') parts.push(String(row.tid), String(row.tgid));
	parts.push(row.class ?? undefined);
	return needle === '' || parts.some((part) => part?.includes(needle));
}

function refValue(row: TaskRow, column: ColumnId): number | string | null {
	switch (column) {
		case 'tid':
			return row.tid;
		case 'tgid':
			return row.tgid;
		case 'user':
			return row.uid;
		case 'state':
			return row.state;
		case 'kthread':
			return row.kthread ? 1 : 0;
		case 'patch':
			return row.patchState;
		case 'stuck':
			return row.stuckS;
		case 'class':
			return row.class === null ? null : rank[row.class];
		case 'function':
			return row.function;
		case 'comm':
			return row.comm;
	}
}

function refSort(rows: TaskRow[], column: ColumnId, descending: boolean): TaskRow[] {
	return [...rows].sort((a, b) => {
		const va = refValue(a, column);
		const vb = refValue(b, column);
		if (va === null && vb !== null) return 1;
		if (vb === null && va !== null) return -1;
		if (va !== null && vb !== null && va !== vb) {
			const up = va < vb ? -1 : 1;
			return descending ? -up : up;
		}

		return a.tid - b.tid || a.starttime - b.starttime;
	});
}

function maxStuck(rows: readonly TaskRow[]): number | null {
	const known = rows.map((row) => row.stuckS).filter((s): s is number => s !== null);
	return known.length === 0 ? null : Math.max(...known);
}

function refProcesses(rows: TaskRow[]): TaskRow[] {
	const tgids = [...new Set(rows.map((row) => row.tgid))];
	return tgids.map((tgid) => {
		const members = rows.filter((row) => row.tgid === tgid);
		const blocking = members.filter((row) => row.blocker !== null);
		const leader = members.find((row) => row.tid === tgid);
		let rep: TaskRow;
		if (blocking.length > 0) {
			// The longest stuck; the first listed among equals.
			const longest = Math.max(...blocking.map((row) => row.stuckS ?? 0));
			rep = blocking.find((row) => (row.stuckS ?? 0) === longest)!;
		} else {
			rep = leader ?? members[0]!;
		}

		const classes = members.map((row) => row.class).filter((c): c is TaskClass => c !== null);
		const worst = classes.length === 0 ? null : classes.reduce((a, b) => (rank[b] > rank[a] ? b : a));
		return {
			...rep,
			kind: 'process' as const,
			key: `p:${tgid}`,
			tid: tgid,
			comm: (leader ?? rep).comm,
			stuckS: maxStuck(members),
			class: worst,
			count: members.length,
			blocking: members.reduce((sum, row) => sum + row.blocking, 0),
		};
	});
}

function refGroups(
	rows: TaskRow[],
	mode: 'function' | 'process',
	expanded: ReadonlySet<string>,
	sort: ViewOptions['sort'],
): TaskRow[] {
	const keyOf = (row: TaskRow) =>
		mode === 'process'
			? `g:p:${row.tgid}`
			: row.blocking === 0
				? 'g:n'
				: `g:f:${row.object ?? ''}:${row.function ?? ''}`;
	const keys = [...new Set(rows.map((row) => keyOf(row)))];
	const groups = keys.map((key) => {
		const members = rows.filter((row) => keyOf(row) === key);
		const first = members[0]!;
		const leader = members.find((row) => row.tid === first.tgid) ?? first;
		const classes = new Map<TaskClass, number>();
		for (const row of members) {
			if (row.class !== null && row.blocking > 0)
				classes.set(row.class, (classes.get(row.class) ?? 0) + row.blocking);
		}

		const summary = [...classes]
			.sort((a, b) => rank[b[0]] - rank[a[0]])
			.map(([name, count]) => `${count} ${name}`)
			.join(', ');
		const header: TaskRow = {
			...first,
			kind: 'group',
			key,
			threadKey: null,
			comm: mode === 'function' ? (first.function ?? '') : leader.comm,
			stuckS: maxStuck(members),
			count: members.reduce((sum, row) => sum + row.count, 0),
			blocking: members.reduce((sum, row) => sum + row.blocking, 0),
			kthread: members.some((row) => row.kthread),
			member: false,
			expanded: expanded.has(key),
			summary,
			blocker: null,
		};
		return {header, members};
	});
	groups.sort(
		(a, b) =>
			Number(a.header.blocking === 0) - Number(b.header.blocking === 0) ||
			b.header.count - a.header.count ||
			(a.header.key < b.header.key ? -1 : a.header.key > b.header.key ? 1 : 0),
	);
	return groups.flatMap(({header, members}) =>
		header.expanded
			? [header, ...refSort(members, sort.column, sort.descending).map((row) => ({...row, member: true}))]
			: [header],
	);
}

function reference(history: History, options: ViewOptions, expanded: ReadonlySet<string>): TaskRow[] {
	const needle = options.filter.toLowerCase();
	let rows = refBase(history, options.showAll).filter(
		(row) =>
			!(options.hideKthreads && row.kthread) &&
			(options.pids === null || options.pids.includes(row.tgid)) &&
			(options.tids === null || options.tids.includes(row.tid)) &&
			refMatches(row, needle),
	);
	if (options.processes) rows = refProcesses(rows);
	if (options.group !== 'none') return refGroups(rows, options.group, expanded, options.sort);
	return refSort(rows, options.sort.column, options.sort.descending);
}

// ---------------------------------------------------------------------------------------------
// Random worlds: a few polls of a small machine whose threads change between polls.

const comms = ['init', 'Worker A', 'kworker/0:1', 'klp_sleeper', 'ÄRGER', 'sleep', 'sh', '', 'a\u0000b'];
const functions = [null, 'do_exit', 'klp_sleeper_wait', 'Vfs_Read'];
const objects = [null, 'vmlinux', 'klp_sleeper'];
const classes: TaskClass[] = ['uninterruptible', 'zombie', 'interruptible', 'stopped', 'running', 'unknown'];

const threadArb = fc
	.record({
		tid: fc.integer({min: 1, max: 40}),
		leader: fc.boolean(),
		tgid: fc.integer({min: 1, max: 8}),
		comm: fc.constantFrom(...comms),
		state: fc.constantFrom('S', 'R', 'D', 'I', 'T', 'Z'),
		kthread: fc.boolean(),
		starttime: fc.integer({min: 100, max: 101}),
		patchState: fc.constantFrom(-1 as const, 0 as const, 1 as const, null),
		uid: fc.constantFrom(null, 0, 1000),
	})
	.map(({leader, ...t}) => thread(t.tid, {...t, tgid: leader ? t.tid : t.tgid}));

const blockArb = fc.record({
	class: fc.constantFrom(...classes),
	function: fc.constantFrom(...functions),
	object: fc.constantFrom(...objects),
	patchState: fc.constantFrom(0 as const, 1 as const),
});

/** How the next poll differs: fields changed, threads gone and new, which ones block. */
const pollArb = fc.record({
	// One field of one thread each: the fields a row shows for a thread that does not block.
	edits: fc.array(
		fc.tuple(
			fc.nat(),
			fc.oneof(
				fc.record({comm: fc.constantFrom(...comms)}),
				fc.record({state: fc.constantFrom('S', 'R', 'D')}),
				fc.record({patchState: fc.constantFrom(-1 as const, 0 as const, 1 as const, null)}),
				fc.record({uid: fc.constantFrom(null, 0, 1000)}),
				fc.record({kthread: fc.boolean()}),
				fc.record({tgid: fc.integer({min: 1, max: 8})}),
			),
		),
		{maxLength: 6},
	),
	drop: fc.array(fc.nat(), {maxLength: 3}),
	add: fc.array(threadArb, {maxLength: 4}),
	blocking: fc.array(fc.tuple(fc.nat(), blockArb), {maxLength: 4}),
	strayBlockers: fc.array(fc.tuple(threadArb, blockArb), {maxLength: 2}),
	seconds: fc.integer({min: 0, max: 3}),
	withThreads: fc.constantFrom(true, true, true, false),
});

type Poll = typeof pollArb extends fc.Arbitrary<infer T> ? T : never;

function polls(first: readonly ThreadInfo[], steps: readonly Poll[]): History[] {
	let threads = [...first];
	let time = t0;
	let history: History | null = null;
	const out: History[] = [];
	for (const step of steps) {
		// New objects every poll, as a real scan gives, mostly with the same values.
		threads = threads.map((t) => ({...t}));
		for (const [at, change] of step.edits) {
			if (threads.length === 0) break;
			const i = at % threads.length;
			threads[i] = {...threads[i]!, ...change};
		}

		const dropped = new Set(step.drop.map((at) => (threads.length === 0 ? -1 : at % threads.length)));
		threads = [...threads.filter((_, i) => !dropped.has(i)), ...step.add];
		const blockers: Blocker[] = step.blocking
			.filter(() => threads.length > 0)
			.map(([at, b]) => blocker(0, {...threads[at % threads.length]!, ...b}));
		for (const [t, b] of step.strayBlockers) blockers.push(blocker(0, {...t, ...b}));
		time += 1000 * step.seconds;
		const snap: Snapshot = snapshot({time, blockers, threads: step.withThreads ? threads : null});
		history = foldSnapshot(history, snap);
		out.push(history);
	}

	return out;
}

const needles = [
	'',
	's',
	'sl',
	'sle',
	'sleep',
	'k',
	'kw',
	'kworker',
	'1',
	'10',
	'do',
	'a',
	'ä',
	'ÄR',
	'7',
	'read',
	'inter',
];
const groupKeys = [
	'g:n',
	'g:f::',
	'g:f::do_exit',
	'g:f:vmlinux:do_exit',
	'g:f:klp_sleeper:klp_sleeper_wait',
	'g:f:vmlinux:Vfs_Read',
	...Array.from({length: 40}, (_, i) => `g:p:${i + 1}`),
];

const viewArb: fc.Arbitrary<ViewOptions> = fc.record({
	showAll: fc.constantFrom(true, true, true, false),
	group: fc.constantFrom<GroupMode>('none', 'none', 'function', 'process'),
	hideKthreads: fc.boolean(),
	processes: fc.boolean(),
	sort: fc.record({column: fc.constantFrom(...columnIds), descending: fc.boolean()}),
	filter: fc.constantFrom(...needles),
	pids: fc.option(fc.uniqueArray(fc.integer({min: 1, max: 40}), {maxLength: 4}), {freq: 4}),
	tids: fc.option(fc.uniqueArray(fc.integer({min: 1, max: 40}), {maxLength: 4}), {freq: 4}),
});

/** A view change as the keys make them: one option at a time, often only the direction or a longer needle. */
const changeArb: fc.Arbitrary<(view: ViewOptions) => ViewOptions> = fc.oneof(
	fc.constant((view: ViewOptions) => ({...view, sort: {...view.sort, descending: !view.sort.descending}})),
	fc.constant((view: ViewOptions) => ({...view, showAll: !view.showAll})),
	fc.constant((view: ViewOptions) => ({...view, processes: !view.processes})),
	fc.constant((view: ViewOptions) => ({...view, hideKthreads: !view.hideKthreads})),
	fc
		.constantFrom(...columnIds)
		.map((column) => (view: ViewOptions) => ({...view, sort: {...view.sort, column}})),
	fc
		.constantFrom<GroupMode>('none', 'function', 'process')
		.map((group) => (view: ViewOptions) => ({...view, group})),
	fc.constantFrom(...needles).map((filter) => (view: ViewOptions) => ({...view, filter})),
	fc
		.constantFrom('s', 'l', 'e', 'p', '0', 'w')
		.map((c) => (view: ViewOptions) => ({...view, filter: view.filter + c})),
	fc.constant((view: ViewOptions) => ({...view, filter: view.filter.slice(0, -1)})),
	fc
		.option(fc.uniqueArray(fc.integer({min: 1, max: 40}), {maxLength: 4}))
		.map((pids) => (view: ViewOptions) => ({...view, pids})),
	fc
		.option(fc.uniqueArray(fc.integer({min: 1, max: 40}), {maxLength: 4}))
		.map((tids) => (view: ViewOptions) => ({...view, tids})),
);

const worldArb = fc.record({
	first: fc.array(threadArb, {minLength: 4, maxLength: 30}),
	steps: fc.array(pollArb, {minLength: 1, maxLength: 4}),
	view: viewArb,
	// Per poll, the view changes made before the next poll.
	changes: fc.array(fc.array(changeArb, {maxLength: 6}), {minLength: 4, maxLength: 4}),
	expanded: fc.subarray(groupKeys),
});

describe('deriveRows against the plain reference', () => {
	it('gives the same rows in the same order for any history and view', () => {
		fc.assert(
			fc.property(worldArb, ({first, steps, view, expanded}) => {
				const open = new Set(expanded);
				for (const history of polls(first, steps)) {
					expect(deriveRows(history, view, open)).toEqual(reference(history, view, open));
				}
			}),
			{numRuns: 300},
		);
	});

	it('stays the same through sequences of view changes and polls (what it remembers is never stale)', () => {
		fc.assert(
			fc.property(worldArb, ({first, steps, view, changes, expanded}) => {
				const open = new Set(expanded);
				let current = view;
				const histories = polls(first, steps);
				histories.forEach((history, i) => {
					expect(deriveRows(history, current, open)).toEqual(reference(history, current, open));
					for (const change of changes[i] ?? []) {
						current = change(current);
						expect(deriveRows(history, current, open)).toEqual(reference(history, current, open));
					}
				});
				// Going back to an older poll still gives that poll's rows.
				const oldest = histories[0]!;
				expect(deriveRows(oldest, current, open)).toEqual(reference(oldest, current, open));
			}),
			{numRuns: 300},
		);
	});

	it('stays the same while a filter is typed and the sort inverted (the narrowed and inverted paths)', () => {
		const keyArb = fc.oneof(
			fc.constantFrom('e', 'r', 'i', 'n', '1', 's').map((c) => (view: ViewOptions) => ({
				...view,
				filter: view.filter + c,
			})),
			fc.constant((view: ViewOptions) => ({...view, filter: view.filter.slice(0, -1)})),
			fc.constant((view: ViewOptions) => ({...view, filter: ''})),
			fc.constant((view: ViewOptions) => ({
				...view,
				sort: {...view.sort, descending: !view.sort.descending},
			})),
			fc
				.constantFrom(...columnIds)
				.map((column) => (view: ViewOptions) => ({...view, sort: {...view.sort, column}})),
		);
		fc.assert(
			fc.property(worldArb, fc.array(keyArb, {minLength: 1, maxLength: 12}), ({first, steps, view}, keys) => {
				const history = polls(first, steps).at(-1)!;
				let current: ViewOptions = {...view, filter: ''};
				for (const key of keys) {
					current = key(current);
					expect(deriveRows(history, current)).toEqual(reference(history, current, new Set()));
				}
			}),
			{numRuns: 500},
		);
	});

	it('inverts a sort narrowed by a longer filter with unknown values still last', () => {
		const history = polls(
			[thread(1), thread(2), thread(3), thread(4, {comm: 'other'})],
			[
				stepWith({
					blocking: [[1, {class: 'interruptible', function: 'do_exit', object: 'vmlinux', patchState: 0}]],
				}),
			],
		)[0]!;
		const all = {...defaultViewOptions, showAll: true};
		expect(deriveRows(history, all).map((row) => row.tid)).toEqual([2, 1, 3, 4]);
		expect(deriveRows(history, {...all, filter: 'ta'}).map((row) => row.tid)).toEqual([2, 1, 3]);
		const up = {...all, filter: 'task', sort: {column: 'stuck' as const, descending: false}};
		expect(deriveRows(history, up).map((row) => row.tid)).toEqual([2, 1, 3]);
		const comm = {...up, sort: {column: 'comm' as const, descending: true}};
		expect(deriveRows(history, comm).map((row) => row.comm)).toEqual(['task3', 'task2', 'task1']);
		expect(deriveRows(history, {...comm, filter: 'task1'}).map((row) => row.tid)).toEqual([1]);
	});

	it('returns a new array each time, so a caller sorting it changes nothing remembered', () => {
		const history = polls([thread(3), thread(1), thread(2)], [stepWith({withThreads: true})])[0]!;
		const view = {...defaultViewOptions, showAll: true, sort: {column: 'tid' as const, descending: false}};
		const first = deriveRows(history, view);
		first.reverse();
		expect(deriveRows(history, view).map((row) => row.tid)).toEqual([1, 2, 3]);
		const base = baseRows(history, true);
		base.reverse();
		expect(baseRows(history, true).map((row) => row.tid)).toEqual([3, 1, 2]);
	});
});

function stepWith(over: Partial<Poll>): Poll {
	return {
		edits: [],
		drop: [],
		add: [],
		blocking: [],
		strayBlockers: [],
		seconds: 1,
		withThreads: true,
		...over,
	};
}

describe('a new poll gives fresh values', () => {
	const all = {...defaultViewOptions, showAll: true, sort: {column: 'tid' as const, descending: false}};

	it('shows changed fields and a thread that stopped blocking, and filters on the new text', () => {
		const threads = [thread(1, {comm: 'alpha'}), thread(2, {comm: 'bravo'}), thread(3, {comm: 'charlie'})];
		const [before, after] = polls(threads, [
			stepWith({
				blocking: [[1, {class: 'interruptible', function: 'do_exit', object: 'vmlinux', patchState: 0}]],
			}),
			stepWith({
				edits: [
					[0, {comm: 'renamed'}],
					[0, {state: 'D'}],
					[0, {patchState: 0}],
					[2, {comm: 'charlie'}],
				],
			}),
		]) as [History, History];
		// The first poll, with a filter on, so its filter text is built (and could be carried over).
		expect(deriveRows(before, {...all, filter: 'alpha'}).map((row) => row.tid)).toEqual([1]);
		const rows = deriveRows(before, all);
		expect(rows.map((row) => [row.tid, row.comm, row.blocking])).toEqual([
			[1, 'alpha', 0],
			[2, 'bravo', 1],
			[3, 'charlie', 0],
		]);

		const next = deriveRows(after, all);
		expect(
			next.map((row) => [row.tid, row.comm, row.state, row.patchState, row.blocking, row.function]),
		).toEqual([
			[1, 'renamed', 'D', 0, 0, null],
			[2, 'bravo', 'S', 1, 0, null],
			[3, 'charlie', 'S', 1, 0, null],
		]);
		expect(deriveRows(after, {...all, filter: 'alpha'})).toEqual([]);
		expect(deriveRows(after, {...all, filter: 'renam'}).map((row) => row.tid)).toEqual([1]);
		expect(deriveRows(after, {...all, filter: 'do_exit'})).toEqual([]);
		// Only the thread that did not change keeps its row object.
		expect(next[2]).toBe(rows[2]);
		expect(next[0]).not.toBe(rows[0]);
		expect(next[1]).not.toBe(rows[1]);
	});

	it('moves STUCK on for a thread that still blocks', () => {
		const block = {class: 'interruptible', function: 'do_exit', object: 'vmlinux', patchState: 0} as const;
		const [, second, third] = polls(
			[thread(5)],
			[
				stepWith({blocking: [[0, block]]}),
				stepWith({blocking: [[0, block]], seconds: 2}),
				stepWith({blocking: [[0, block]], seconds: 3}),
			],
		) as [History, History, History];
		expect(deriveRows(second, all)[0]!.stuckS).toBe(2);
		expect(deriveRows(third, all)[0]!.stuckS).toBe(5);
		expect(deriveRows(third, {...all, showAll: false})[0]!.stuckS).toBe(5);
	});

	it('keeps a recycled TID (new start time) apart from the thread it replaced', () => {
		const [before, after] = polls(
			[thread(7, {comm: 'old'})],
			[stepWith({}), stepWith({drop: [0], add: [thread(7, {comm: 'old', starttime: 99})]})],
		) as [History, History];
		expect(deriveRows(before, all).map((row) => row.key)).toEqual(['7:1007']);
		expect(deriveRows(after, all).map((row) => row.key)).toEqual(['7:99']);
	});
});

describe('the reducer keeps its rows equal to the reference', () => {
	const commands = [
		'sort-left',
		'sort-right',
		'sort-invert',
		'toggle-all',
		'cycle-group',
		'toggle-kthreads',
		'toggle-processes',
		'toggle-group',
		'down',
		'end',
	] as const;

	it('after any key presses and polls, and the selection stays on the same thread when it is still shown', () => {
		fc.assert(
			fc.property(
				fc.array(threadArb, {minLength: 4, maxLength: 30}),
				fc.array(pollArb, {minLength: 1, maxLength: 4}),
				fc.array(
					fc.array(fc.oneof(fc.constantFrom(...commands), fc.constantFrom(...needles)), {maxLength: 8}),
					{
						minLength: 4,
						maxLength: 4,
					},
				),
				(first, steps, keys) => {
					let state: UiState = initialState({
						width: 120,
						height: 40,
						delayS: 1,
						readonlyReason: null,
						pids: null,
						tids: null,
					});
					polls(first, steps).forEach((history, i) => {
						const selected = state.selected.key;
						state = reduce(state, {type: 'history', history});
						expect(toArray(state.rows)).toEqual(reference(history, state.view, state.expanded));
						if (selected !== null && toArray(state.rows).some((row) => row.key === selected)) {
							expect(toArray(state.rows)[state.selected.index]!.key).toBe(selected);
						}

						for (const key of keys[i] ?? []) {
							if ((commands as readonly string[]).includes(key)) {
								state = reduce(state, {type: 'command', id: key as (typeof commands)[number]});
							} else {
								state = reduce(state, {type: 'command', id: 'filter'});
								state = reduce(state, {type: 'prompt-text', text: key});
								state = reduce(state, {type: 'command', id: 'prompt-confirm'});
							}

							expect(toArray(state.rows)).toEqual(reference(history, state.view, state.expanded));
						}
					});
				},
			),
			{numRuns: 150},
		);
	});
});

// ---------------------------------------------------------------------------------------------
// The all-threads view over a thread table (table-rows.ts): the same rows as over objects.

const PF_KTHREAD = 0x00200000;

/** The threads as a scan's columns: TID order, then start time, one row per TID and start time. */
function tableOf(threads: readonly ThreadInfo[]): {table: ThreadTable; listed: ThreadInfo[]} {
	const byKey = new Map(threads.map((t) => [`${t.tid}:${t.starttime}`, t]));
	const listed = [...byKey.values()]
		.sort((a, b) => a.tid - b.tid || a.starttime - b.starttime)
		// What a walk records: the kernel-thread flag is a bit of the flags.
		.map((t) => ({...t, flags: t.kthread ? t.flags | PF_KTHREAD : t.flags & ~PF_KTHREAD}));
	const comms = [...new Set(listed.map((t) => t.comm))];
	const table: ThreadTable = {
		count: listed.length,
		tid: Int32Array.from(listed, (t) => t.tid),
		tgid: Int32Array.from(listed, (t) => t.tgid),
		ppid: Int32Array.from(listed, (t) => t.ppid),
		flags: Uint32Array.from(listed, (t) => t.flags),
		starttime: Float64Array.from(listed, (t) => t.starttime),
		uid: Float64Array.from(listed, (t) => t.uid ?? Number.NaN),
		patchState: Int8Array.from(listed, (t) => t.patchState ?? 2),
		state: Uint16Array.from(listed, (t) => t.state.charCodeAt(0)),
		comm: Int32Array.from(listed, (t) => comms.indexOf(t.comm)),
		comms,
	};
	return {table, listed};
}

/** The same polls twice: threads as objects (the reference's input) and as a table (what the dashboard keeps). */
function pollsBoth(first: readonly ThreadInfo[], steps: readonly Poll[]): Array<[History, History]> {
	const out: Array<[History, History]> = [];
	let objects: History | null = null;
	let columns: History | null = null;
	for (const history of polls(first, steps)) {
		const {threads, ...rest} = history.snapshot;
		if (threads === null) {
			objects = foldSnapshot(objects, {...rest, threads: null});
			columns = foldSnapshot(columns, {...rest, threads: null});
		} else {
			const {table, listed} = tableOf(threads);
			objects = foldSnapshot(objects, {...rest, threads: listed});
			columns = foldSnapshot(columns, {...rest, threads: null, threadTable: table});
		}

		out.push([objects, columns]);
	}

	return out;
}

describe('the all-threads view over a thread table', () => {
	it('gives the rows the reference gives over the same threads as objects, through view changes', () => {
		fc.assert(
			fc.property(worldArb, ({first, steps, view, changes, expanded}) => {
				const open = new Set(expanded);
				let current = view;
				pollsBoth(first, steps).forEach(([objects, columns], i) => {
					expect(deriveRows(columns, current, open)).toEqual(reference(objects, current, open));
					for (const change of changes[i] ?? []) {
						current = change(current);
						expect(deriveRows(columns, current, open)).toEqual(reference(objects, current, open));
					}
				});
			}),
			{numRuns: 300},
		);
	});

	it('finds rows by key and by search as the rows made would', () => {
		fc.assert(
			fc.property(worldArb, fc.constantFrom(...needles), fc.nat(), ({first, steps, view}, needle, at) => {
				const [, columns] = pollsBoth(first, steps).at(-1)!;
				const options = {...view, showAll: true, group: 'none' as const, processes: false};
				const list = deriveList(columns, options);
				const rows = toArray(list);
				expect(list.length).toBe(rows.length);
				for (const [i, row] of rows.entries()) {
					expect(list.at(i)).toEqual(row);
					// The first row of that key (a thread listed twice among the blockers has two).
					expect(list.indexOfKey(row.key)).toBe(rows.findIndex((made) => made.key === row.key));
				}

				expect(list.indexOfKey('99999:1')).toBe(-1);
				const start = rows.length === 0 ? 0 : at % rows.length;
				const lower = needle.toLowerCase();
				const forward = rows.findIndex((_, k) => rowMatches(rows[(start + k) % rows.length]!, lower));
				expect(list.search(lower, start, 1)).toBe(forward < 0 ? -1 : (start + forward) % rows.length);
			}),
			{numRuns: 300},
		);
	});
});
