/**
Start the dashboard on a terminal and give the terminal back intact, whatever ends it.

This is the one place in the UI that touches the process: signals, uncaught errors and the raw
terminal modes. Components below it stay pure functions of props.
*/
import {render} from 'ink';
import {useTerminalSize} from '../hooks/use-terminal-size.js';
import {foldSnapshot} from '../model/history.js';
import type {History} from '../model/types.js';
import type {Theme} from '../views/theme.js';
import {App} from './app.js';
import type {Feed} from './feed.js';

export type {Feed} from './feed.js';

export type DashboardOptions = {
	/** Null: the host has no /sys/kernel/livepatch; the screen says so and offers the emulator. */
	feed: Feed | null;
	/** Used by the no-livepatch screen's one key (scenario 'stuck-interruptible'). */
	makeEmulatorFeed: (scenario: string) => Feed;
	delayS: number;
	readonly: boolean;
	readonlyReason: string | null;
	color: boolean;
	ascii: boolean;
	pids: number[] | null;
	tids: number[] | null;
	hostname: string;
	stdout?: NodeJS.WriteStream;
	stdin?: NodeJS.ReadStream;
};

/** Enter the alternate screen (like vim, htop) and put the cursor home. */
export const enterAlternateScreen = '\u001B[?1049h\u001B[H';
/** Leave it (the shell's screen comes back as it was) and show the cursor. */
export const leaveAlternateScreen = '\u001B[?1049l\u001B[?25h';

const signalCodes = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;

/**
Returns a function that puts the terminal back: leaves the alternate screen, shows the cursor,
turns raw mode off. Idempotent: every exit path calls it, and only the first call writes.

Why one function for all paths: Ink 6.8 has no `alternateScreen` option (added in Ink 7), so we
switch screens ourselves, and Ink's own cleanup only runs on a normal unmount. A SIGTERM, a SIGHUP
from a dropped ssh session or an uncaught exception would otherwise leave the user's terminal on the
alternate screen with the cursor hidden and echo off: a "frozen" shell (codex-cli's `onExit` fixes
the same regression). Writes can fail once the terminal is gone (SIGHUP): they are best effort.
*/
export function makeRestore(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): () => void {
	let restored = false;
	return () => {
		if (restored) return;
		restored = true;
		try {
			if (stdin.isTTY && typeof stdin.setRawMode === 'function') stdin.setRawMode(false);
		} catch {
			// The terminal may already be gone.
		}

		try {
			stdout.write(leaveAlternateScreen);
		} catch {
			// Same.
		}
	};
}

function Root(props: {
	readonly options: DashboardOptions;
	readonly theme: Theme;
	readonly readonlyReason: string | null;
	readonly initialHistory: History | null;
	readonly onFeedChange: (feed: Feed | null) => void;
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
			onFeedChange={props.onFeedChange}
		/>
	);
}

export async function runDashboard(options: DashboardOptions): Promise<number> {
	const stdout = options.stdout ?? process.stdout;
	const stdin = options.stdin ?? process.stdin;
	const theme: Theme = {color: options.color, ascii: options.ascii};
	const readonlyReason = options.readonly ? (options.readonlyReason ?? 'started with --readonly') : null;
	let feed = options.feed;

	// Scan once before the first frame, so the first thing on screen is data, not "waiting".
	let initialHistory: History | null = null;
	if (feed !== null) {
		try {
			initialHistory = foldSnapshot(null, feed.poll({threads: 'blockers'}));
		} catch {
			// The poller reports scan errors on screen; the first frame simply waits for it.
		}
	}

	const restore = makeRestore(stdout, stdin);
	let exitCode = 0;
	let failure: unknown = null;
	// A dropped terminal makes writes fail with EIO/EPIPE as 'error' events: they must not crash us.
	const ignoreWriteError = () => {};
	stdout.on('error', ignoreWriteError);
	stdout.write(enterAlternateScreen);

	const instance = render(
		<Root
			options={options}
			theme={theme}
			readonlyReason={readonlyReason}
			initialHistory={initialHistory}
			onFeedChange={(next) => {
				feed = next;
			}}
		/>,
		{
			stdout,
			stdin,
			// Ctrl-C is a key of the key map (quit); a real SIGINT is handled below.
			exitOnCtrlC: false,
			patchConsole: false,
			// Rewrite only the lines that changed (the frame is kept one line shorter than the terminal).
			incrementalRendering: true,
		},
	);

	const handlers: Array<[string, (error: unknown) => void]> = [];
	const finish = (code: number, error: unknown = null) => {
		if (exitCode === 0) exitCode = code;
		if (error !== null && failure === null) failure = error;
		try {
			instance.unmount(error instanceof Error ? error : undefined);
		} catch {
			// Unmounting a broken tree can throw; the restore below still runs.
		}

		restore();
	};

	for (const signal of Object.keys(signalCodes) as Array<keyof typeof signalCodes>) {
		const handler = () => {
			finish(signalCodes[signal]);
			// Whatever else might hold the event loop open, the process ends soon after a signal.
			setTimeout(() => process.exit(signalCodes[signal]), 1000).unref();
		};

		process.on(signal, handler);
		handlers.push([signal, handler]);
	}

	const onCrash = (error: unknown) => {
		finish(1, error);
		setTimeout(() => process.exit(1), 1000).unref();
	};

	process.on('uncaughtException', onCrash);
	process.on('unhandledRejection', onCrash);
	handlers.push(['uncaughtException', onCrash], ['unhandledRejection', onCrash]);

	try {
		await instance.waitUntilExit();
	} catch (error) {
		if (exitCode === 0) exitCode = 1;
		failure ??= error;
	} finally {
		restore();
		for (const [event, handler] of handlers) {
			process.off(event, handler);
		}

		try {
			feed?.close?.();
		} catch {
			// Closing the source must not hide the exit code.
		}

		// `ignoreWriteError` stays attached: a terminal that vanished can still report a failed write.
	}

	if (failure !== null) {
		const message = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
		process.stderr.write(`klptop: ${message}\n`);
	}

	return exitCode;
}
