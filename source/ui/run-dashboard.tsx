/**
Start the dashboard on a terminal and give the terminal back intact, whatever ends it.

This is the one place in the UI that touches the process: signals, uncaught errors and the raw
terminal modes. Components below it stay pure functions of props.
*/
import {setFlagsFromString} from 'node:v8';
import {render} from 'ink';
import type {Instance} from 'ink';
import type {ReactElement} from 'react';
import {useTerminalSize} from '../hooks/use-terminal-size.js';
import {foldSnapshot} from '../model/history.js';
import {setTimeout as sleep} from 'node:timers/promises';
import type {History, Snapshot} from '../model/types.js';
import {
	createFrameWriter,
	createRawLines,
	FrameStream,
	InkLayoutContext,
	RawLinesContext,
} from '../renderer/index.js';
import type {InkLayout} from '../renderer/index.js';
import type {Theme} from '../views/theme.js';
import {codePointWidth} from '../views/format.js';
import {App} from './app.js';
import type {Feed} from './feed.js';
import {enterAlternateScreen, makeRestore, signalCodes} from './splash.js';

export type DashboardOptions = {
	/** Null: the host has no /sys/kernel/livepatch; the screen says so and offers the emulator. */
	feed: Feed | null;
	/** The feed's first scan, started before the dashboard's modules loaded; absent: it starts here. */
	firstScan?: Promise<Snapshot>;
	/** Used by the no-livepatch screen's one key (scenario 'stuck-interruptible'). */
	makeEmulatorFeed: (scenario: string) => Feed;
	delayS: number;
	/**
	Turns every action off whatever the source can do (`--readonly` is also honoured by the feed's
	action context, which says why). Otherwise the feed's `actions` decide.
	*/
	readonly?: boolean;
	readonlyReason?: string | null;
	color: boolean;
	ascii: boolean;
	pids: number[] | null;
	tids: number[] | null;
	hostname: string;
	stdout?: NodeJS.WriteStream;
	stdin?: NodeJS.ReadStream;
	/**
	Let Ink lay out screens of finished lines in a marker's width (`InkLayout` in raw-lines.ts).
	False: always the terminal's width (tests compare the two). @default true
	*/
	narrowLayout?: boolean;
	/**
	Ends the process a second after a signal or an uncaught error if something still holds the
	event loop open (injectable for tests). @default process.exit
	*/
	exitProcess?: (code: number) => void;
};

/**
How long the first frame waits for the first scan: a scan this quick puts data in the first frame,
a longer one is folded when it is in (issue 12: the first frame within 300 ms of the start).
*/
const firstFrameWaitMs = 40;

type ScanResult =
	{readonly ok: true; readonly snapshot: Snapshot} | {readonly ok: false; readonly error: unknown};

/**
The feed's first scan (off this thread where it can), or the one already started, as a result that
never rejects.
*/
function startFirstScan(feed: Feed, started?: Promise<Snapshot>): Promise<ScanResult> {
	const scan = async (): Promise<Snapshot> =>
		feed.pollAsync === undefined ? feed.poll({threads: 'blockers'}) : feed.pollAsync({threads: 'blockers'});
	return (started ?? scan()).then(
		(snapshot) => ({ok: true, snapshot}) as const,
		(error: unknown) => ({ok: false, error}) as const,
	);
}

export {enterAlternateScreen, leaveAlternateScreen, makeRestore} from './splash.js';

function Root(props: {
	readonly options: DashboardOptions;
	readonly theme: Theme;
	readonly readonlyReason: string | null;
	readonly initialHistory: History | null;
	readonly firstScan: Promise<Snapshot> | null;
	readonly onFeedChange: (feed: Feed | null) => void;
	readonly onRedraw: () => void;
}) {
	const {options} = props;
	const size = useTerminalSize();
	return (
		<App
			feed={options.feed}
			makeEmulatorFeed={options.makeEmulatorFeed}
			delayS={options.delayS}
			readonlyReason={props.readonlyReason}
			theme={props.theme}
			pids={options.pids}
			tids={options.tids}
			hostname={options.hostname}
			width={size.columns}
			height={size.rows}
			initialHistory={props.initialHistory}
			firstScan={props.firstScan}
			onFeedChange={props.onFeedChange}
			onRedraw={props.onRedraw}
		/>
	);
}

/** How a full-screen program meets the terminal (the dashboard's and the fleet's). */
export type TerminalOptions = {
	stdout?: NodeJS.WriteStream;
	stdin?: NodeJS.ReadStream;
	/** See `DashboardOptions.narrowLayout`. @default true */
	narrowLayout?: boolean;
	/** See `DashboardOptions.exitProcess`. @default process.exit */
	exitProcess?: (code: number) => void;
	/**
	How long after a signal or an uncaught error the process is ended if something still holds it
	open (the fleet ends its ssh connections and removes pushed copies meanwhile). @default 1000
	*/
	graceMs?: number;
};

/** What the screen's root element gets from the terminal: a way to repaint everything. */
export type TerminalControls = {readonly onRedraw: () => void};

/**
Run a full-screen Ink program on the terminal and give the terminal back intact, whatever ends it:
raw mode at once, the alternate screen, the partial renderer, every signal and uncaught error.
`root` is called once raw mode is on (a first scan may run there) and returns the element to draw.
*/
export async function runTerminal(
	options: TerminalOptions,
	root: (controls: TerminalControls) => ReactElement | Promise<ReactElement>,
): Promise<number> {
	const stdout = options.stdout ?? process.stdout;
	const stdin = options.stdin ?? process.stdin;
	const exitProcess = options.exitProcess ?? ((code: number) => process.exit(code));
	const graceMs = options.graceMs ?? 1000;
	let exitCode = 0;
	let failure: unknown = null;
	let instance: Instance | null = null;
	let stop: () => void = () => {};
	const stopped = new Promise<void>((resolve) => {
		stop = resolve;
	});

	const restore = makeRestore(stdout, stdin);
	const writer = createFrameWriter(stdout, {charWidth: codePointWidth});
	const rawLines = createRawLines();
	const inkLayout: InkLayout = {narrow: options.narrowLayout ?? true};
	const inkStdout = new FrameStream(stdout, writer, rawLines, inkLayout);
	const onResize = () => {
		// The terminal may have reflowed or cut what was on screen: paint everything once.
		writer.invalidate();
		inkStdout.emit('resize');
	};

	// A dropped terminal makes writes fail with EIO/EPIPE as 'error' events: they must not crash us.
	// It stays attached after we return: a vanished terminal can still report a failed write late.
	const ignoreWriteError = () => {};
	stdout.on('error', ignoreWriteError);
	const restoreAll = () => {
		// No frame may land after the terminal is given back (a render on unmount is still queued).
		writer.close();
		stdout.off('resize', onResize);
		restore();
	};

	/** Every way out ends here: unmount Ink, give the terminal back, let `runTerminal` return. */
	const finish = (code: number, error: unknown = null) => {
		if (exitCode === 0) exitCode = code;
		if (error !== null && failure === null) failure = error;
		try {
			instance?.unmount(error instanceof Error ? error : undefined);
		} catch {
			// Unmounting a broken tree can throw; the restore below still runs.
		}

		restoreAll();
		stop();
	};

	// Installed before anything touches the terminal, so no window leaves it in a bad state.
	const handlers: Array<[string, (error: unknown) => void]> = [];
	for (const signal of Object.keys(signalCodes) as Array<keyof typeof signalCodes>) {
		const handler = () => {
			finish(signalCodes[signal]);
			// Whatever else might hold the event loop open, the process ends soon after a signal.
			setTimeout(() => exitProcess(signalCodes[signal]), graceMs).unref();
		};

		handlers.push([signal, handler]);
	}

	const onCrash = (error: unknown) => {
		finish(1, error);
		setTimeout(() => exitProcess(1), graceMs).unref();
	};

	handlers.push(['uncaughtException', onCrash], ['unhandledRejection', onCrash]);
	for (const [event, handler] of handlers) process.on(event, handler);

	try {
		// Raw mode at once, before the first scan: keys typed while we start are neither echoed onto
		// the screen nor turned from CR into LF by the tty (Ink switches only when its input hook mounts).
		if (stdin.isTTY && typeof stdin.setRawMode === 'function') stdin.setRawMode(true);
		const element = await root({
			onRedraw() {
				writer.invalidate();
			},
		});
		stdout.write(enterAlternateScreen);
		stdout.on('resize', onResize);
		instance = render(
			<RawLinesContext.Provider value={rawLines}>
				<InkLayoutContext.Provider value={options.narrowLayout === false ? null : inkLayout}>
					{element}
				</InkLayoutContext.Provider>
			</RawLinesContext.Provider>,
			{
				stdout: inkStdout as unknown as NodeJS.WriteStream,
				stdin,
				// Ctrl-C is a key of the key map (quit); a real SIGINT is handled above.
				exitOnCtrlC: false,
				patchConsole: false,
				// Complete frames to `FrameStream`, unthrottled; the frame writer batches and diffs them.
				debug: true,
			},
		);
		await Promise.race([instance.waitUntilExit(), stopped]);
	} catch (error) {
		if (exitCode === 0) exitCode = 1;
		failure ??= error;
	} finally {
		restoreAll();
		for (const [event, handler] of handlers) process.off(event, handler);
	}

	if (failure !== null) {
		const message = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
		process.stderr.write(`klptop: ${message}\n`);
	}

	return exitCode;
}

/**
Stop the main thread's young generation from growing further once the dashboard runs: V8 grows it
from what survives its scavenges, so a dashboard that lives for hours had it at the maximum (16 MB
semi-spaces, about 30 MB of its resident memory on 100,000 threads: issue 12). What it allocates per
frame and per poll dies young anyway. A runtime flag, read by V8 when it would grow the space; it
leaves every other heap setting alone. Measured: 17 MB of young generation instead of 34 (it has
grown once during the start); set before the modules load instead, it was 34 again, for a reason
not found (issue 12's closing note).
*/
let youngGenerationKept = false;
export function keepYoungGenerationSmall(): void {
	if (youngGenerationKept) return;
	youngGenerationKept = true;
	setFlagsFromString('--semi-space-growth-factor=1');
}

export async function runDashboard(options: DashboardOptions): Promise<number> {
	keepYoungGenerationSmall();
	const theme: Theme = {color: options.color, ascii: options.ascii};
	const readonlyReason =
		options.readonly === true ? (options.readonlyReason ?? 'started with --readonly') : null;
	let feed = options.feed;
	try {
		return await runTerminal(options, async ({onRedraw}) => {
			// The first scan starts now. A quick one (a small host, the emulator) is in the first frame;
			// a long one (a large /proc) is not waited for: the first frame says it is scanning, keys
			// work, and the poller folds the scan when it is in (`firstScan`).
			let initialHistory: History | null = null;
			let firstScan: Promise<Snapshot> | null = null;
			if (feed !== null) {
				const started = startFirstScan(feed, options.firstScan);
				const quick = await Promise.race([started, sleep(firstFrameWaitMs).then(() => null)]);
				if (quick?.ok === true) {
					initialHistory = foldSnapshot(null, quick.snapshot);
				} else if (quick === null) {
					firstScan = started.then((result) => {
						if (result.ok) return result.snapshot;
						throw result.error;
					});
					// The poller reports its failure; one nobody awaits (a quick exit) is no crash.
					firstScan.catch(() => undefined);
				}
				// A failed quick scan: the poller scans again and reports its error on screen.
			}

			return (
				<Root
					options={options}
					theme={theme}
					readonlyReason={readonlyReason}
					initialHistory={initialHistory}
					firstScan={firstScan}
					onFeedChange={(next) => {
						feed = next;
					}}
					onRedraw={onRedraw}
				/>
			);
		});
	} finally {
		try {
			feed?.close?.();
		} catch {
			// Closing the source must not hide the exit code.
		}
	}
}
