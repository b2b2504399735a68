/**
`klptop ... | head`: when the reader closes the pipe, the rest of the output is not wanted. An EPIPE
on stdout or stderr is swallowed for the whole life of the process (it can arrive after the last
write returned, when no per-command listener is left), so klptop ends quietly with status 0; the
batch loop also stops on it (`watchBrokenPipe`). Any other write error is one line and status 1.
*/
type Stream = Pick<NodeJS.WriteStream, 'on'>;

export function quietOnBrokenPipe(streams: readonly Stream[] = [process.stdout, process.stderr]): void {
	for (const stream of streams) {
		stream.on('error', (error: Error & {code?: string}) => {
			if (error.code === 'EPIPE') {
				return;
			}

			process.stderr.write(`klptop: cannot write the output: ${error.message}\n`);
			process.exitCode = 1;
		});
	}
}
