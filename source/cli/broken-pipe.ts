/**
`klptop ... | head`: when the reader closes the pipe, the rest of the output is not wanted. An EPIPE
on stdout or stderr is swallowed for the whole life of the process (it can arrive after the last
write returned, when no per-command listener is left), so klptop ends quietly with status 0; the
batch loop also stops on it (`watchBrokenPipe`). EIO is a terminal that went away (ssh dropped, the
tmux pane killed): nobody is left to read, so it is status 1 and nothing more. Any other write error
is one line on stderr, said once, and status 1.

Never write to a stream from its own error handler: a terminal write fails synchronously, its
error comes back on the next tick, and a handler that writes again spins forever (a dashboard
whose terminal was gone kept a core busy for hours that way).
*/
type Stream = {on(event: 'error', listener: (error: Error & {code?: string}) => void): unknown};

export function quietOnBrokenPipe(
	streams: readonly Stream[] = [process.stdout, process.stderr],
	stderr: {write(text: string): unknown} = process.stderr,
): void {
	let said = false;
	for (const stream of streams) {
		stream.on('error', (error: Error & {code?: string}) => {
			if (error.code === 'EPIPE') {
				return;
			}

			process.exitCode = 1;
			if (said || error.code === 'EIO' || Object.is(stream, stderr)) {
				return;
			}

			said = true;
			try {
				stderr.write(`klptop: cannot write the output: ${error.message}\n`);
			} catch {
				// Nowhere left to say it.
			}
		});
	}
}
