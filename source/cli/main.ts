/**
What `klptop` does with its arguments: pick the source, then print one snapshot, run the
dashboard, or keep an emulated tree on disk. The Ink UI is imported lazily so that `--once` and
the script modes start fast and never load React.
*/
import os from 'node:os';
import type {Emulation, KernelGeneration} from '../emulator/index.js';
import {foldSnapshot} from '../model/history.js';
import {clean} from '../model/sanitize.js';
import type {History, ScanOptions, Snapshot, SourceInfo, ThreadTable} from '../model/types.js';
import {toJsonDocument} from '../output/json.js';
import type {IdFilter} from '../output/only.js';
import {createHostPort} from '../sources/host-port.js';
import {CaptureOpenError, captureTime, checkRoot, isArchivePath, RootError} from '../sources/root-kind.js';
import {version} from '../version.js';
import {createReader} from '../sources/reader.js';
import type {ReaderScanOptions} from '../sources/reader.js';
import type {ControlPort, FsPort} from '../sources/fs-port.js';
import type {ActionCommand, ActionContext} from '../actions/index.js';
import {emulatorSeconds, parseIdList, UsageError} from './flags.js';
import type {Flags} from './flags.js';
import {flagSpec} from './flag-spec.js';
import {importWithoutFetch} from '../ui/load-ui.js';

const kernelGenerations = ['4.12', '4.16', '5.1', '6.1', '6.11', '6.14', '6.16'] as const;

/*
Modules only some commands need are imported on first use: `--once` on the host (the benchmark's
path) then loads neither the emulator, the actions nor the script modes (about 50 ms of CPU).
*/
const emulatorApi = async () => import('../emulator/index.js');
const actionsApi = async () => import('../actions/index.js');
const scriptApi = async () => import('../script/index.js');
const treeClientApi = async () => import('../emulator/tree-client.js');
const captureApi = async () => import('../sources/capture.js');
/** Recordings: `record`, `report`, `--replay`. */
const recordApi = async () => import('../record/commands.js');
/** The text renderer: `--once --json` (the benchmark's path) does without it. */
const textApi = async () => import('../output/text.js');

export type OpenedSource = {
	readonly source: SourceInfo;
	readonly port: FsPort;
	readonly emulation: Emulation | null;
};

type Io = {
	readonly stdout: NodeJS.WriteStream;
	readonly stderr: NodeJS.WriteStream;
};

export async function main(input: readonly string[], flags: Flags, io: Io = process): Promise<number> {
	try {
		checkFlags(input, flags);
		return await run(input, flags, io);
	} catch (error) {
		if (error instanceof UsageError || error instanceof CaptureOpenError || error instanceof RootError) {
			// A capture's error names its members: archive bytes, not ours.
			io.stderr.write(`klptop: ${clean(error.message)}\n`);
			return 2;
		}

		throw error;
	}
}

/** `fooBar` as typed: `--foo-bar` (`-x` for one letter, `--no-...` for a negated one). */
function flagAsTyped(key: string, value: unknown): string {
	const kebab = key.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
	return key.length === 1 ? `-${key}` : value === false ? `--no-${kebab}` : `--${kebab}`;
}

/** The emulator's own flags: meaningless, and so refused, without an emulator. */
const emulatorFlags = ['kernel', 'threads', 'seed', 'at'] as const;

/**
Flags klptop does not know, and emulator flags without an emulator, are usage errors (status 2):
`--at 20` on the host would otherwise print the host now, an answer to another question.
*/
function checkFlags(input: readonly string[], flags: Flags): void {
	const unknown = Object.entries(flags)
		.filter(([key]) => !Object.hasOwn(flagSpec, key))
		.map(([key, value]) => flagAsTyped(key, value));
	if (unknown.length > 0) {
		throw new UsageError(
			`unknown flag${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (see klptop --help)`,
		);
	}

	const emulated = flags.emulate !== undefined || input[0] === 'emulate';
	// --at also places a replay (--replay FILE --at 03:00).
	const given = emulatorFlags
		.filter((name) => flags[name] !== undefined && !(name === 'at' && flags.replay !== undefined))
		.map((name) => `--${name}`);
	if (!emulated && given.length > 0) {
		const where =
			given.length === 1 && given[0] === '--at'
				? 'applies to the emulator or a recording only: add --emulate SCENARIO (see klptop emulate --list) or --replay FILE'
				: `${given.length === 1 ? 'applies' : 'apply'} to the emulator only: add --emulate SCENARIO (see klptop emulate --list)`;
		throw new UsageError(`${given.join(', ')} ${where}`);
	}
}

async function run(input: readonly string[], flags: Flags, io: Io): Promise<number> {
	const [command, ...rest] = input;
	if (command === 'emulate') {
		return runEmulate(rest, flags, io);
	}

	if (command === 'wait' || command === 'export' || command === 'capture') {
		return runScript(command, rest, flags, io);
	}

	if (command === 'record' || command === 'report') {
		return runRecording(command, rest, flags, io);
	}

	if (command === 'fleet') {
		const {runFleet} = await import('../fleet/run.js');
		return runFleet(rest, flags, io, withAbort);
	}

	if (command !== undefined) {
		const {isActionCommand} = await actionsApi();
		if (isActionCommand(command)) {
			return runAction(command, rest, flags, io);
		}

		throw new UsageError(`unknown command '${command}' (see klptop --help)`);
	}

	if (flags.replay !== undefined) {
		return runReplayFlag(flags.replay, flags, io);
	}

	const interactive = !flags.once && !flags.batch && Boolean(io.stdout.isTTY);
	const opened = await openSource(flags, interactive);
	const pids = parseIdList(flags.pid, 'pid');
	const tids = parseIdList(flags.tid, 'tid');
	const delayS = flags.delay ?? 1;
	if (!(delayS >= 0.1 && delayS <= 3600)) {
		throw new UsageError('--delay takes seconds between 0.1 and 3600');
	}

	if (flags.batch) {
		const {runBatch} = await scriptApi();
		return withAbort((signal) =>
			runBatch(
				{
					opened,
					n: flags.iterations ?? null,
					delayS,
					json: flags.json,
					width: io.stdout.isTTY ? io.stdout.columns : 100,
					only: {pids, tids},
					signal,
				},
				io,
			),
		);
	}

	if (flags.once || !io.stdout.isTTY) {
		return await printOnce(opened, flags, {pids, tids}, io);
	}

	// React's production build unless told otherwise (read when React loads, just below): the
	// development build checks and warns on every render, about twice the CPU per frame.
	process.env['NODE_ENV'] ??= 'production';
	// The first frame before the dashboard's modules load (they take longer than 300 ms on a busy host).
	const hostname = opened.emulation ? 'emulated' : os.hostname();
	const {showSplash} = await import('../ui/splash.js');
	const splash =
		io.stdout === process.stdout && process.stdin.isTTY
			? showSplash(process.stdout, process.stdin, {
					source: opened.source,
					hostname,
					delayS,
					ascii: flags.ascii,
				})
			: null;
	// The first scan starts now, its walk on the helper thread while the modules load on this one, which
	// then walks its share of what is left (two cores, one scan: issue 12's first full frame).
	let feed;
	let firstScan;
	let loadedModules = (): void => undefined;
	const joinWhen = new Promise<void>((resolve) => {
		loadedModules = resolve;
	});
	try {
		feed = makeFeed(opened, opened.emulation ? await emulatorApi() : null);
		firstScan = feed.pollAsync({threads: 'blockers', joinWhen});
		// Handled by the dashboard; a failure before it looks is no unhandled rejection.
		firstScan.catch(() => undefined);
	} catch (error) {
		splash?.restore();
		throw error;
	}

	let loaded;
	try {
		loaded = await Promise.all([
			importWithoutFetch(async () => import('../ui/run-dashboard.js')),
			actionsApi(),
			// Opened now so that the no-livepatch screen's emulator key needs no await.
			emulatorApi(),
			// The dashboard's emulator runs on the real clock (startRealtime), so its actions wait in real time.
			// Its action context decides whether the action keys act (root, --readonly, a tree without an emulator).
			openActionContext(opened, flags, {realTime: true}),
		]);
	} catch (error) {
		splash?.restore();
		throw error;
	}

	const [{runDashboard}, {createActionContext, realClock}, emulator, actions] = loaded;
	loadedModules();
	splash?.handOver();
	return runDashboard({
		feed: {...feed, actions},
		firstScan,
		makeEmulatorFeed(scenario) {
			const emulated = openEmulation(emulator, scenario, flags, Date.now());
			return {
				...makeFeed(emulated, emulator),
				actions: createActionContext({
					source: emulated.source,
					port: emulated.port,
					control: emulated.emulation?.control ?? null,
					readonly: flags.readonly,
					clock: realClock,
				}),
			};
		},
		delayS,
		color: flags.color && !process.env['NO_COLOR'],
		ascii: flags.ascii,
		pids,
		tids,
		hostname,
	});
}

/**
Open the source the flags name. `realClock`: the emulator's epoch is now (the dashboard, export);
otherwise a fixed epoch, so that --once, batch and wait output is reproducible.
*/
export async function openSource(flags: Flags, realClock = false): Promise<OpenedSource> {
	if (flags.emulate !== undefined) {
		if (flags.root !== undefined) {
			throw new UsageError('--emulate and --root are exclusive (use `klptop emulate <scenario> --root DIR`)');
		}

		return openEmulation(await emulatorApi(), flags.emulate, flags, realClock ? Date.now() : undefined);
	}

	const root = flags.root ?? '/';
	const isHost = root === '/';
	if (!isHost) {
		checkRoot(root);
	}

	// A directory, or a capture archive (.tar.gz) served from memory: the same reader either way.
	const port = isArchivePath(root) ? (await captureApi()).openRootPort(root) : createHostPort(root);
	const capturedAt = isHost ? null : captureTime(port);
	return {
		source: {
			kind: isHost ? 'host' : 'tree',
			root,
			scenario: null,
			...(capturedAt === null ? {} : {capturedAt}),
		},
		port,
		emulation: null,
	};
}

type EmulatorApi = Awaited<ReturnType<typeof emulatorApi>>;

function openEmulation(
	{createEmulation, listScenarios}: EmulatorApi,
	scenario: string,
	flags: Flags,
	startTime?: number,
): OpenedSource {
	const known = listScenarios().map((entry) => entry.name);
	if (!known.includes(scenario)) {
		throw new UsageError(`unknown scenario '${scenario}'; one of: ${known.join(', ')}`);
	}

	const kernel = flags.kernel;
	if (kernel !== undefined && !(kernelGenerations as readonly string[]).includes(kernel)) {
		throw new UsageError(`--kernel takes one of ${kernelGenerations.join(', ')}`);
	}

	if (flags.threads !== undefined && !(flags.threads >= 1 && flags.threads <= 100_000)) {
		throw new UsageError('--threads takes 1 to 100000');
	}

	const emulation = createEmulation(scenario, {
		seed: flags.seed ?? 1,
		...(flags.threads === undefined ? {} : {threads: flags.threads}),
		...(kernel === undefined ? {} : {kernel: kernel as KernelGeneration}),
		...(startTime === undefined ? {} : {startTime}),
	});
	return {source: {kind: 'emulator', root: null, scenario}, port: emulation.port, emulation};
}

/** The dashboard's feed: one scan per poll; the emulator runs on the real clock meanwhile. */
function makeFeed(opened: OpenedSource, emulator: Pick<EmulatorApi, 'startRealtime'> | null) {
	const reader = createReader(opened.port, opened.source);
	const driver = opened.emulation && emulator ? emulator.startRealtime(opened.emulation) : null;
	const withClock = (options: ScanOptions) => ({
		...options,
		...(opened.emulation ? {clock: opened.emulation.now} : {}),
	});
	return {
		source: opened.source,
		poll: (options: ScanOptions): Snapshot => reader.scan(withClock(options)),
		pollAsync: async (options: ScanOptions & Pick<ReaderScanOptions, 'joinWhen'>): Promise<Snapshot> =>
			reader.scanAsync(withClock(options)),
		recycle: (table: ThreadTable) => reader.recycle(table),
		close() {
			driver?.stop();
			opened.port.close?.();
		},
	};
}

async function printOnce(opened: OpenedSource, flags: Flags, only: IdFilter, io: Io): Promise<number> {
	// `klptop --once | head -3`: an EPIPE is swallowed process-wide (broken-pipe.ts, set up by cli.tsx).
	const history = onceHistory(opened, flags);
	const livepatch = history.snapshot.kernel.livepatch;
	if (flags.json) {
		io.stdout.write(JSON.stringify(toJsonDocument(history, {only}), null, 2) + '\n');
	}

	if (!livepatch) {
		// The scripts' convention (README, "In scripts"): status 2, the reason on stderr, JSON still printed.
		const {noLivepatchMessage} = await textApi();
		io.stderr.write(noLivepatchMessage(history.snapshot, {width: io.stderr.columns ?? 80}) + '\n');
		return 2;
	}

	if (flags.json) {
		return 0;
	}

	const {toText} = await textApi();

	const width = io.stdout.isTTY ? io.stdout.columns : 100;
	io.stdout.write(toText(history, {width, color: false, only}) + '\n');
	return 0;
}

/**
One snapshot with the history it deserves. For the emulator, `--at` seconds of virtual time are
sampled once a second (as the dashboard would have polled), so stuck and elapsed times are real
measurements of the emulated run rather than blanks.
*/
function onceHistory(opened: OpenedSource, flags: Flags): History {
	const reader = createReader(opened.port, opened.source);
	const {emulation} = opened;
	if (!emulation) {
		return foldSnapshot(null, reader.scan({threads: 'blockers'}));
	}

	const at = emulatorSeconds(flags.at);

	const clock = emulation.now;
	let history = foldSnapshot(null, reader.scan({threads: 'blockers', clock}));
	for (let elapsed = 0; elapsed < at;) {
		const step = Math.min(1, at - elapsed);
		emulation.advance(step * 1000);
		elapsed += step;
		history = foldSnapshot(history, reader.scan({threads: 'blockers', clock}));
	}

	return history;
}

/**
The context every action runs in, whatever its front end (subcommand or key): the same guards, the
same journal, the same audit log. The in-process emulator acts in virtual time (a sleep advances
its clock); a tree gets the control port of the emulator serving it, or none.
*/
export async function openActionContext(
	opened: OpenedSource,
	flags: Flags,
	options: {readonly realTime?: boolean} = {},
): Promise<ActionContext> {
	const {emulation, source} = opened;
	const {createActionContext, realClock} = await actionsApi();
	const control = emulation ? emulation.control : await treeControl(source);
	// `realTime`: the emulator is driven by the real clock (the dashboard's startRealtime); a sleep just waits.
	const clock =
		emulation && options.realTime !== true
			? {
					now: emulation.now,
					async sleep(ms: number) {
						emulation.advance(ms);
					},
				}
			: realClock;
	return createActionContext({source, port: opened.port, control, readonly: flags.readonly, clock});
}

/**
The control port of the emulator serving a `--root` tree (`klptop emulate X --root DIR`), or null:
only a live directory tree can have one, a capture archive never does.
*/
async function treeControl(source: SourceInfo): Promise<ControlPort | null> {
	return source.kind === 'tree' && source.root !== null && !isArchivePath(source.root)
		? (await treeClientApi()).connectTreeControl(source.root)
		: null;
}

async function runAction(
	command: ActionCommand,
	rest: readonly string[],
	flags: Flags,
	io: Io,
): Promise<number> {
	const opened = await openSource(flags);
	if (opened.emulation) {
		// Act on the scenario as it stands after --at seconds (default 5), as --once shows it.
		opened.emulation.advance(emulatorSeconds(flags.at) * 1000);
	}

	const ctx = await openActionContext(opened, flags);
	const {runActionCommand} = await actionsApi();
	const output = await runActionCommand(ctx, command, {input: rest, confirm: flags.confirm});
	for (const line of output.stderr) {
		io.stderr.write(line + '\n');
	}

	for (const line of output.stdout) {
		io.stdout.write(line + '\n');
	}

	return output.code;
}

async function withAbort(run: (signal: AbortSignal) => Promise<number>): Promise<number> {
	const {abortOnSignals} = await scriptApi();
	const {signal, dispose} = abortOnSignals();
	try {
		return await run(signal);
	} finally {
		dispose();
	}
}

/** `wait`, `export` and `capture`: script modes over the same source and reader. */
async function runScript(
	command: 'wait' | 'export' | 'capture',
	rest: readonly string[],
	flags: Flags,
	io: Io,
): Promise<number> {
	const opened = await openSource(flags, command === 'export');
	const {defaultCaptureName, runCapture, runExport, runWait} = await scriptApi();
	if (command === 'capture') {
		if (rest.length > 0) {
			throw new UsageError('capture takes no arguments (use -o FILE.tar.gz)');
		}

		return runCapture({opened, output: flags.output ?? defaultCaptureName(), version}, io);
	}

	if (command === 'export') {
		if (flags.textfile === undefined && flags.listen === undefined) {
			throw new UsageError('export needs --textfile PATH or --listen [ADDR:]PORT');
		}

		return withAbort((signal) =>
			runExport(
				{
					opened,
					textfile: flags.textfile,
					listen: flags.listen,
					delayS: flags.delay ?? null,
					version,
					signal,
				},
				io,
			),
		);
	}

	if (rest.length > 1) {
		throw new UsageError('wait takes at most one patch name');
	}

	const control = await treeControl(opened.source);
	return withAbort((signal) =>
		runWait(
			{
				opened: {...opened, control},
				patch: rest[0] ?? null,
				timeoutS: flags.timeout ?? null,
				reverseOnTimeout: flags.reverseOnTimeout,
				delayS: flags.delay ?? 1,
				json: flags.json,
				readonly: flags.readonly,
				signal,
			},
			io,
		),
	);
}

/** `klptop --replay FILE`: the dashboard, `--once` or `-b` on a recording (source/record). */
async function runReplayFlag(file: string, flags: Flags, io: Io): Promise<number> {
	if (flags.root !== undefined || flags.emulate !== undefined) {
		throw new UsageError('--replay reads a recording: it takes neither --root nor --emulate');
	}

	const {runReplay} = await recordApi();
	const once = flags.once || !io.stdout.isTTY;
	const everyS = flags.delay ?? null;
	if (everyS !== null && !(everyS > 0)) throw new UsageError('--delay takes seconds above 0');
	return withAbort(async (signal) =>
		runReplay(
			{
				file,
				at: flags.at,
				json: flags.json,
				once,
				batch: flags.batch ? {n: flags.iterations ?? null, everyS} : null,
				width: io.stdout.isTTY ? io.stdout.columns : 100,
				signal,
				async dashboard(feed) {
					process.env['NODE_ENV'] ??= 'production';
					const {runDashboard} = await importWithoutFetch(async () => import('../ui/run-dashboard.js'));
					const {createEmulation} = await emulatorApi();
					return runDashboard({
						feed,
						// The no-livepatch screen's emulator key: a recording of a host without livepatch
						// still offers it, as live.
						makeEmulatorFeed(scenario) {
							const emulation = createEmulation(scenario, {startTime: Date.now()});
							const reader = createReader(emulation.port, {kind: 'emulator', root: null, scenario});
							return {
								source: {kind: 'emulator', root: null, scenario},
								poll: (options) => reader.scan({...options, clock: emulation.now}),
							};
						},
						delayS: 1,
						readonly: true,
						readonlyReason: 'a recording (replay)',
						color: flags.color && !process.env['NO_COLOR'],
						ascii: flags.ascii,
						pids: parseIdList(flags.pid, 'pid'),
						tids: parseIdList(flags.tid, 'tid'),
						hostname: feed.replay?.host ?? 'recording',
					});
				},
			},
			io,
		),
	);
}

/** `klptop record -o FILE` and `klptop report FILE` (source/record). */
async function runRecording(
	command: 'record' | 'report',
	rest: readonly string[],
	flags: Flags,
	io: Io,
): Promise<number> {
	if (command === 'report') {
		const {runReport} = await recordApi();
		if (rest.length !== 1) throw new UsageError('report takes one recording: klptop report FILE');
		return runReport({file: rest[0]!, json: flags.json, svg: flags.svg ?? null}, io);
	}

	if (rest.length > 0) throw new UsageError('record takes no arguments (use -o FILE)');
	if (flags.output === undefined) throw new UsageError('record needs -o FILE');
	const opened = await openSource(flags);
	const {runRecord} = await import('../record/recorder.js');
	return withAbort(async (signal) =>
		runRecord(
			{
				opened,
				file: flags.output!,
				delayS: flags.delay ?? 1,
				maxSizeMb: flags.maxSize ?? null,
				n: flags.iterations ?? null,
				host: opened.emulation
					? `emulator:${opened.source.scenario ?? '?'}`
					: opened.source.kind === 'tree'
						? `tree:${opened.source.root ?? '?'}`
						: os.hostname(),
				version,
				signal,
			},
			io,
		),
	);
}

async function runEmulate(rest: readonly string[], flags: Flags, io: Io): Promise<number> {
	const emulator = await emulatorApi();
	const {listScenarios, mirrorToDisk, MirrorDirError, startRealtime} = emulator;
	if (flags.list || rest.length === 0) {
		for (const {name, summary} of listScenarios()) {
			io.stdout.write(`${name.padEnd(22)} ${summary}\n`);
		}

		return 0;
	}

	const [scenario] = rest;
	if (flags.root === undefined || flags.root === '/') {
		throw new UsageError('klptop emulate <scenario> needs --root DIR (a directory of your own, never /)');
	}

	const opened = openEmulation(emulator, scenario!, flags, Date.now());
	const emulation = opened.emulation!;
	const mirror = await mirrorToDisk(emulation, flags.root).catch((error: unknown) => {
		throw error instanceof MirrorDirError ? new UsageError(error.message) : error;
	});
	const driver = startRealtime(emulation);
	const timer = setInterval(() => {
		mirror.sync();
	}, 250);
	io.stderr.write(
		`klptop: emulating '${scenario}' in ${flags.root} (kernel ${flags.kernel ?? '6.1'}); ` +
			`watch it with: klptop --root ${flags.root}; Ctrl-C stops\n`,
	);
	await new Promise<void>((resolve) => {
		const stop = () => {
			resolve();
		};

		process.once('SIGINT', stop);
		process.once('SIGTERM', stop);
		process.once('SIGHUP', stop);
	});
	clearInterval(timer);
	driver.stop();
	await mirror.close();
	return 0;
}
