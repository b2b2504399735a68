/**
Loaded into a measured klptop with `node --import bench/stall-probe.mjs dist/cli.js ...`: every
second it appends one JSON line to the file named by KLPTOP_BENCH_PROBE with the longest stretch the
main thread did not get back to its event loop during that second (`monitorEventLoopDelay`, 1 ms
resolution: the longest main-thread stall, which at -d 1 is the stall of that second's poll), the
process's RSS and its peak so far. The timer is unref'd: it never keeps the process alive, and
nothing of klptop is changed.

It also times keys from inside: when the terminal's input is read (a key) and when the next write
to the terminal is made (its frame), on the epoch clock (`{key, wrote}` lines), so that the bench
can tell the program's part of a key's time from what polling the screen through tmux adds.
*/
import {appendFileSync} from 'node:fs';
import {monitorEventLoopDelay} from 'node:perf_hooks';
import tty from 'node:tty';

const epochMs = () => performance.timeOrigin + performance.now();

const file = process.env.KLPTOP_BENCH_PROBE;
if (file) {
	const histogram = monitorEventLoopDelay({resolution: 1});
	histogram.enable();
	const timer = setInterval(() => {
		const line = {
			t: Date.now(),
			stallMs: histogram.max / 1e6,
			rssMb: process.memoryUsage.rss() / 1e6,
			peakMb: process.resourceUsage().maxRSS / 1e3,
		};
		histogram.reset();
		try {
			appendFileSync(file, JSON.stringify(line) + '\n');
		} catch {
			// The bench removed its directory: nothing to report to.
		}
	}, 1000);
	timer.unref();

	// Shadow the tty streams' read and write (stdin and stdout in a terminal), nothing else.
	let keyAt = null;
	const {read} = tty.ReadStream.prototype;
	tty.ReadStream.prototype.read = function (...args) {
		const data = read.apply(this, args);
		if (data !== null && keyAt === null) keyAt = epochMs();
		return data;
	};

	const {write} = tty.WriteStream.prototype;
	tty.WriteStream.prototype.write = function (...args) {
		if (keyAt !== null) {
			try {
				appendFileSync(file, JSON.stringify({key: keyAt, wrote: epochMs()}) + '\n');
			} catch {
				// As above.
			}

			keyAt = null;
		}

		return write.apply(this, args);
	};
}
