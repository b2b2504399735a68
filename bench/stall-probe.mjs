/**
Loaded into a measured klptop with `node --import bench/stall-probe.mjs dist/cli.js ...`: every
second it appends one JSON line to the file named by KLPTOP_BENCH_PROBE with the longest stretch the
main thread did not get back to its event loop during that second (`monitorEventLoopDelay`, 1 ms
resolution: the longest main-thread stall, which at -d 1 is the stall of that second's poll), the
process's RSS and its peak so far. The timer is unref'd: it never keeps the process alive, and
nothing of klptop is changed.
*/
import {appendFileSync} from 'node:fs';
import {monitorEventLoopDelay} from 'node:perf_hooks';

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
}
