#!/usr/bin/env node
/**
The fleet screen with N simulated hosts, for the benchmark (bench/fleet.mjs runs it in a tmux pane,
side by side with `top -d 1`): the built klptop's fleet and screen (`createFleet`,
`runFleetDashboard`), with a transport that hands each host documents of the emulator instead of an
ssh stream. Nothing here is in the product: the fleet takes any transport.

  node bench/fleet-screen.mjs DIST HOSTS MODE VARIANTS.json REPORT.json

MODE `flood`: every host sends a document a second, spread evenly over the second (the steady state
of a large rollout). MODE `single`: after a flood of 3 s that gives every host a document (all of
them applied, quiet), only the first host (stuck, the top row) sends one a second: the time from its
document to the frame showing it is the screen's own latency, without the coalescing of a flood.

The report: RSS (sampled every 250 ms), CPU over the window, the bytes of each terminal write, and
per update the time to the next write (the frame that shows it).
*/
import {readFileSync, writeFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {pathToFileURL} from 'node:url';

process.env.NODE_ENV = 'production';
const [dist, hostsText, mode, variantsFile, report] = process.argv.slice(2);
const hostCount = Number(hostsText);
const load = async (file) => import(pathToFileURL(`${dist}/${file}`).href);
const {createFleet} = await load('source/fleet/fleet.js');
const {runFleetDashboard} = await load('source/fleet/run-screen.js');

// ---------------------------------------------------------------------------------------------
// Documents: `seconds` of each variant (made by bench/fleet.mjs from the emulator), one a second.
const variants = JSON.parse(readFileSync(variantsFile, 'utf8')).map((lines) =>
	lines.map((line) => Buffer.from(line + '\n')),
);
const seconds = variants[0].length;
/** bench/fleet.mjs makes 2 seeds of each scenario: `quick` is the fifth, `forced-unpatch` the eighth. */
const quickVariant = 8;
const forcedUnpatchVariant = 14;

// ---------------------------------------------------------------------------------------------
// The hosts and the transport.
const hosts = Array.from({length: hostCount}, (_, i) => ({
	name: `host${String(i).padStart(4, '0')}.rack${Math.floor(i / 40)}`,
	destination: `host${i}`,
	port: null,
	user: null,
	groups: [`rack${Math.floor(i / 40)}`],
}));
/** In a flood, one host in fifty is unreachable (its stream fails at once, again and again). */
const down = (i) => mode === 'flood' && i % 50 === 49;
const streams = new Map();
const updates = [];
let pendingSince = null;
const transport = {
	stream(host, _command, handlers) {
		const i = Number(/^host(\d+)/.exec(host.name)[1]);
		if (down(i)) {
			setTimeout(
				() =>
					handlers.onExit(
						255,
						null,
						`ssh: connect to host ${host.destination} port 22: Connection refused\n`,
					),
				5,
			);
			return {stop() {}};
		}

		// The first host: the stuck-killable variant, far in (the longest transition: the top row). In
		// `single` mode every other host is applied and quiet (the quick variant, after its 3 s).
		const variant =
			i === 0 ? variants[0] : mode === 'single' ? variants[quickVariant] : variants[i % variants.length];
		// The first host goes round its last 25 s only: stuck all along (elapsed over 60 s).
		const first = i === 0 ? seconds - 25 : 0;
		streams.set(host.name, {handlers, variant, first, frame: i === 0 ? 0 : i % 60});
		return {
			stop() {
				streams.delete(host.name);
			},
		};
	},
	async run() {
		return {code: 0, signal: null, stdout: Buffer.alloc(0), stderr: ''};
	},
	async close() {},
};

const send = (name) => {
	const stream = streams.get(name);
	if (stream === undefined) return;
	// Round and round (a repeated document would change nothing on screen: no frame to wait for).
	// The first host alternates between two stuck transitions (patching stuck-killable, unpatching
	// forced-unpatch): each of its documents changes its row, so each one is a frame to wait for
	// (a document that only confirms the elapsed time the screen already counts on shows nothing new).
	const variant =
		name === hosts[0].name && stream.frame % 2 === 1 ? variants[forcedUnpatchVariant] : stream.variant;
	const line = variant[stream.first + (stream.frame % (stream.variant.length - stream.first))];
	stream.frame++;
	const at = performance.now();
	if (pendingSince === null) pendingSince = at;
	stream.handlers.onData(line);
};

// Each host once a second, spread evenly over the second; by the clock, so a late timer catches up.
const started = performance.now();
let sent = 0;
let lastSingle = 0;
const ticker = setInterval(() => {
	const elapsed = performance.now() - started;
	if (mode === 'flood' || elapsed < 3000) {
		const due = Math.floor((elapsed / 1000) * hostCount);
		for (; sent < due; sent++) send(hosts[sent % hostCount].name);
	} else if (elapsed - lastSingle >= 1000) {
		lastSingle = elapsed;
		send(hosts[0].name);
	}
}, 10);

// ---------------------------------------------------------------------------------------------
// What reaches the terminal: the frame writer writes each frame in one piece.
const writes = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
	const at = performance.now();
	writes.push([Math.round(at - started), Buffer.byteLength(chunk)]);
	if (pendingSince !== null) {
		updates.push([Math.round(pendingSince - started), Math.round((at - pendingSince) * 10) / 10]);
		pendingSince = null;
	}

	return write(chunk, ...rest);
};

let rssMax = 0;
const rssTimer = setInterval(() => {
	rssMax = Math.max(rssMax, process.memoryUsage().rss);
}, 250);
const cpuAtStart = process.cpuUsage();

const fleet = createFleet({
	hosts,
	transport,
	remote: {command: null, sudo: false},
	delayS: 1,
	jobs: 64,
	push: null,
});
await runFleetDashboard({fleet, delayS: 1, allowActions: false}, {color: true, ascii: false});
clearInterval(ticker);
clearInterval(rssTimer);
const cpu = process.cpuUsage(cpuAtStart);
writeFileSync(
	report,
	JSON.stringify({
		mode,
		hosts: hostCount,
		wallMs: performance.now() - started,
		cpuMs: (cpu.user + cpu.system) / 1000,
		rssMax,
		writes,
		/** [ms since start of the first update not yet on screen, ms from it to the next write]. */
		updateToFrame: updates,
	}),
);
