/**
The running fleet: one stream per host (`remote.ts` over the transport) folded into its host's
state (`host.ts`), reconnected with backoff, pushed to when klptop is missing and `--push` was
given, all of it ended and cleaned up by `stop()`. `-j` bounds connection set-ups under way, not
live streams (ARCHITECTURE.md, "The fleet").
*/
import type {JsonDocument} from '../output/json.js';
import {initialHostState, reduceHost} from './host.js';
import type {HostEvent, HostState} from './host.js';
import type {FleetHost} from './inventory.js';
import {cleanupCommand, pushTo} from './push.js';
import type {PushArtifacts} from './push.js';
import type {RemoteSpec} from './remote.js';
import {actionCommand, streamCommand} from './remote.js';
import type {SshResult, StreamHandle, Transport} from './ssh.js';
import {createLineReader, defaultMaxLineBytes} from './stream.js';

export type FleetOptions = {
	readonly hosts: readonly FleetHost[];
	readonly transport: Transport;
	readonly remote: RemoteSpec;
	/** `-d`: seconds between a host's documents. */
	readonly delayS: number;
	/** `-j`: connection set-ups at once. @default 32 */
	readonly jobs?: number;
	/** `--push`: what can be copied to a host without klptop; null: never push. */
	readonly push: PushArtifacts | null;
	/** ssh's ConnectTimeout in seconds (a silent new connection is stalled after it). @default 10 */
	readonly connectTimeoutS?: number;
	readonly maxLineBytes?: number;
	/** Clock (ms) and randomness, injectable for tests. */
	readonly now?: () => number;
	readonly random?: () => number;
};

export type Fleet = {
	/** Every host, in inventory order. */
	states(): readonly HostState[];
	state(name: string): HostState | undefined;
	/** Changes with every state change. */
	readonly version: () => number;
	/** Called after any host changed; returns the unsubscribe function. */
	subscribe(listener: () => void): () => void;
	/** Called with each document of one host as it arrives (a host's full dashboard feeds on it). */
	onDocument(name: string, listener: (doc: JsonDocument) => void): () => void;
	start(): void;
	/** A klptop subcommand on one host, over its connection (the host's klptop guards it). */
	runKlptop(name: string, args: readonly string[]): Promise<SshResult>;
	/** Stop every stream, remove what `--push` copied, end every connection. */
	stop(): Promise<void>;
};

/** A fleet ready for a front end, with what the command line said about it. */
export type FleetContext = {
	readonly fleet: Fleet;
	readonly delayS: number;
	readonly allowActions: boolean;
};

type Entry = {
	state: HostState;
	handle: StreamHandle | null;
	/** Holds a connection slot (from start to first document, failure or the end of a push). */
	slot: boolean;
	queued: boolean;
	pushedCommand: string | null;
	pushedDir: string | null;
	pushTried: boolean;
	/** Bumped on each connection, so events of an old one are ignored. */
	generation: number;
};

export function createFleet(options: FleetOptions): Fleet {
	const now = options.now ?? (() => Date.now());
	const random = options.random ?? Math.random;
	const jobs = Math.max(1, options.jobs ?? 32);
	const intervalMs = options.delayS * 1000;
	const connectTimeoutMs = (options.connectTimeoutS ?? 10) * 1000;
	const entries = new Map<string, Entry>();
	for (const host of options.hosts) {
		entries.set(host.name, {
			state: initialHostState(host, now()),
			handle: null,
			slot: false,
			queued: false,
			pushedCommand: null,
			pushedDir: null,
			pushTried: false,
			generation: 0,
		});
	}

	const listeners = new Set<() => void>();
	const docListeners = new Map<string, Set<(doc: JsonDocument) => void>>();
	const queue: Entry[] = [];
	let active = 0;
	let version = 0;
	let stopped = false;
	let ticker: ReturnType<typeof setInterval> | null = null;

	const changed = () => {
		version++;
		for (const listener of listeners) listener();
	};

	const dispatch = (entry: Entry, event: HostEvent) => {
		const next = reduceHost(entry.state, event);
		if (next !== entry.state) {
			entry.state = next;
			changed();
		}
	};

	const release = (entry: Entry) => {
		if (!entry.slot) return;
		entry.slot = false;
		active--;
		pump();
	};

	const enqueue = (entry: Entry) => {
		if (entry.queued || stopped) return;
		entry.queued = true;
		queue.push(entry);
		pump();
	};

	function pump(): void {
		while (!stopped && active < jobs && queue.length > 0) {
			const entry = queue.shift()!;
			entry.queued = false;
			entry.slot = true;
			active++;
			if (entry.state.status === 'no-klptop' && options.push !== null && !entry.pushTried) {
				void push(entry);
			} else {
				connect(entry);
			}
		}
	}

	function connect(entry: Entry): void {
		const generation = ++entry.generation;
		const host = entry.state.host;
		const reader = createLineReader(options.maxLineBytes ?? defaultMaxLineBytes);
		dispatch(entry, {type: 'connect', at: now()});
		const mine = () => entry.generation === generation && !stopped;
		const lines = (list: ReturnType<typeof reader.push>) => {
			for (const line of list) {
				if (line.type === 'frame') {
					dispatch(entry, {type: 'frame', at: now(), doc: line.doc});
					release(entry);
					for (const listener of docListeners.get(host.name) ?? []) listener(line.doc);
				} else {
					dispatch(entry, {type: 'garbage', at: now(), reason: line.reason, excerpt: line.excerpt});
				}
			}
		};

		try {
			entry.handle = options.transport.stream(
				host,
				streamCommand(options.remote, entry.pushedCommand, options.delayS),
				{
					onData(chunk) {
						if (mine()) lines(reader.push(chunk));
					},
					onExit(code, signal, stderr) {
						if (!mine()) return;
						lines(reader.end());
						entry.handle = null;
						dispatch(entry, {type: 'exit', at: now(), code, signal, stderr, random: random()});
						release(entry);
						if (entry.state.status === 'no-klptop' && options.push !== null && !entry.pushTried) {
							enqueue(entry);
						}
					},
				},
			);
		} catch (error) {
			dispatch(entry, {type: 'failed', at: now(), status: 'failed', error: String(error), random: random()});
			release(entry);
		}
	}

	async function push(entry: Entry): Promise<void> {
		entry.pushTried = true;
		dispatch(entry, {type: 'pushing', at: now()});
		let result: Awaited<ReturnType<typeof pushTo>>;
		try {
			result = await pushTo(options.transport, entry.state.host, options.push!);
		} catch (error) {
			result = {error: `cannot push: ${String(error)}`};
		}

		if (stopped) {
			if ('dir' in result) await removeCopy(entry.state.host, result.dir);
			release(entry);
			return;
		}

		if ('error' in result) {
			dispatch(entry, {
				type: 'failed',
				at: now(),
				status: 'no-klptop',
				error: result.error,
				random: random(),
			});
			release(entry);
			return;
		}

		entry.pushedCommand = result.command;
		entry.pushedDir = result.dir;
		dispatch(entry, {type: 'pushed', at: now(), kind: result.kind});
		// Straight on to the stream, in the slot it already holds.
		connect(entry);
	}

	async function removeCopy(host: FleetHost, dir: string): Promise<void> {
		try {
			await options.transport.run(host, cleanupCommand(dir), {timeoutMs: 10_000});
		} catch {
			// Best effort: the host may be gone.
		}
	}

	const tick = () => {
		const at = now();
		for (const entry of entries.values()) {
			dispatch(entry, {type: 'tick', at, intervalMs, connectTimeoutMs});
			const {retryAt} = entry.state;
			if (entry.handle === null && !entry.slot && retryAt !== null && retryAt <= at) enqueue(entry);
		}
	};

	return {
		states: () => [...entries.values()].map((entry) => entry.state),
		state: (name) => entries.get(name)?.state,
		version: () => version,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		onDocument(name, listener) {
			const set = docListeners.get(name) ?? new Set();
			set.add(listener);
			docListeners.set(name, set);
			return () => set.delete(listener);
		},
		start() {
			for (const entry of entries.values()) enqueue(entry);
			ticker = setInterval(tick, Math.min(1000, intervalMs));
			ticker.unref?.();
		},
		async runKlptop(name, args) {
			const entry = entries.get(name);
			if (entry === undefined) throw new Error(`no host ${name} in this fleet`);
			return options.transport.run(
				entry.state.host,
				actionCommand(options.remote, entry.pushedCommand, args),
				{
					timeoutMs: 120_000,
				},
			);
		},
		async stop() {
			if (stopped) return;
			stopped = true;
			if (ticker !== null) clearInterval(ticker);
			for (const entry of entries.values()) entry.handle?.stop();
			await Promise.all(
				[...entries.values()]
					.filter((entry) => entry.pushedDir !== null)
					.map(async (entry) => removeCopy(entry.state.host, entry.pushedDir!)),
			);
			await options.transport.close();
		},
	};
}
