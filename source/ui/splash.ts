/**
The dashboard's first frame, drawn before its modules load (issue 12 §3: start to first frame within
300 ms). Ink, React, Yoga's WebAssembly and the views take longer than that to load and compile on a
busy host, so the start-up writes the two lines the dashboard's own first frame shows while its first
scan runs (the header's source line and "scanning ...") straight to the terminal, on the alternate
screen, without Ink. The dashboard's first frame clears the screen and draws over it.

Until the dashboard takes the terminal over (`handOver`), the splash owns it: raw mode (a key typed
meanwhile is neither echoed nor lost: Ink reads it once it starts), and a signal, or an exit before the
hand-over, gives the terminal back (`restore`).
*/
import type {SourceInfo} from '../model/types.js';
import {sourceWords} from '../views/source-words.js';
import {truncate} from '../views/format.js';
import {glyphs} from '../views/theme.js';

/** Enter the alternate screen (like vim, htop), hide the cursor, put it home. */
export const enterAlternateScreen = '\u001B[?1049h\u001B[?25l\u001B[H';
/** Leave it (the shell's screen comes back as it was) and show the cursor. */
export const leaveAlternateScreen = '\u001B[?1049l\u001B[?25h';

export type SplashOptions = {
	readonly source: SourceInfo;
	readonly hostname: string;
	readonly delayS: number;
	readonly ascii: boolean;
};

/** The splash's lines: what the dashboard's header says before its first scan is in. */
export function splashLines({source, hostname, delayS, ascii}: SplashOptions, width: number): string[] {
	const {dot} = glyphs({color: false, ascii});
	return [
		`klptop ${dot} ${sourceWords(source, hostname)} ${dot} kernel ? ${dot} every ${delayS}s`,
		'scanning /proc and /sys/kernel/livepatch...',
	].map((line) => truncate(line, width));
}

/** The exit status for each signal that ends klptop while it holds the terminal (128 + its number). */
export const signalCodes = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;

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

export type Splash = {
	/** The dashboard owns the terminal from here: the splash's handlers go. */
	handOver(): void;
	/** Give the terminal back (the dashboard did not start). Idempotent. */
	restore(): void;
};

/**
Draw the splash on `stdout` (a terminal) and hold the terminal until `handOver`. The lines are cut to
the terminal's width in cells (a source path may be long): nothing wraps. Plain text: the first frame
Ink draws brings the styles.
*/
export function showSplash(
	stdout: NodeJS.WriteStream,
	stdin: NodeJS.ReadStream,
	options: SplashOptions,
	exitProcess: (code: number) => void = (code) => process.exit(code),
): Splash {
	let held = true;
	const giveBack = makeRestore(stdout, stdin);
	const restore = () => {
		if (!held) return;
		held = false;
		release();
		giveBack();
	};

	const onExit = () => {
		restore();
	};

	const handlers = (Object.keys(signalCodes) as Array<keyof typeof signalCodes>).map(
		(signal) =>
			[
				signal,
				() => {
					restore();
					exitProcess(signalCodes[signal]);
				},
			] as const,
	);
	function release() {
		process.off('exit', onExit);
		for (const [signal, handler] of handlers) process.off(signal, handler);
	}

	process.on('exit', onExit);
	for (const [signal, handler] of handlers) process.on(signal, handler);
	const width = stdout.columns && stdout.columns > 0 ? stdout.columns : 80;
	const lines = splashLines(options, width);
	try {
		if (stdin.isTTY && typeof stdin.setRawMode === 'function') stdin.setRawMode(true);
		stdout.write(`${enterAlternateScreen}\u001B[2J${lines.join('\r\n')}`);
	} catch {
		// A terminal that went away: the dashboard's start finds out.
	}

	return {
		handOver() {
			held = false;
			release();
		},
		restore,
	};
}
