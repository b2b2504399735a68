/**
A fleet host as the host dashboard's `Feed`: its snapshots are the documents its stream brings
(`json-snapshot.ts` converts them), the history starts where the host's own klptop stood (elapsed
and stuck times included), and a poll waits for the next document instead of scanning anything.
No document for three intervals: the poll fails with "stream stalled", which the dashboard's header
shows as it shows a failed scan. Actions are not offered here: they run from the fleet screen, on
one host, through that host's own klptop.
*/
import type {JsonDocument} from '../output/json.js';
import {historyFromJson, snapshotFromJson} from '../output/json-snapshot.js';
import type {History, Snapshot} from '../model/types.js';
import type {Feed} from '../ui/feed.js';
import type {Fleet} from './fleet.js';
import {stallIntervals} from './host.js';

export type HostFeed = Feed & {readonly initialHistory: History};

export function createHostFeed(fleet: Fleet, name: string, delayS: number): HostFeed | null {
	const first = fleet.state(name)?.doc ?? null;
	if (first === null) return null;
	let latest: JsonDocument = first;
	let consumed: JsonDocument | null = first;
	let waiting: Array<(doc: JsonDocument) => void> = [];
	const unsubscribe = fleet.onDocument(name, (doc) => {
		latest = doc;
		const resolve = waiting;
		waiting = [];
		for (const wake of resolve) wake(doc);
	});
	const take = (doc: JsonDocument): Snapshot => {
		consumed = doc;
		return snapshotFromJson(doc);
	};

	return {
		source: first.source,
		initialHistory: historyFromJson(first),
		actions: null,
		poll: () => take(latest),
		async pollAsync() {
			if (latest !== consumed) return take(latest);
			const timeoutMs = stallIntervals * delayS * 1000;
			return new Promise<Snapshot>((resolve, reject) => {
				const wake = (doc: JsonDocument) => {
					clearTimeout(timer);
					resolve(take(doc));
				};

				const timer = setTimeout(() => {
					waiting = waiting.filter((candidate) => candidate !== wake);
					reject(new Error(`stream stalled: no document from ${name} for ${Math.round(timeoutMs / 1000)}s`));
				}, timeoutMs);
				waiting.push(wake);
			});
		},
		close() {
			unsubscribe();
			waiting = [];
		},
	};
}
