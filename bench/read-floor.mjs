/*
What the reads issue 12 asks of klptop cost at Node's price, with nothing else: no parsing beyond
patch_state's one character, no model, no frame. The CPU side of the benchmark's "klptop <= top"
line, in two parts:

  full:   one full scan, as bench/lower-bound.c does it (readdir ROOT/proc and every task dir,
          open/read/close of every thread's patch_state, the stat of each blocker); the issue's
          safety net does one at least every 10 s.
  steady: one steady transition poll at the least: the patches' `enabled` and `transition`, the
          listing of ROOT/proc, the task dirs of the processes with a thread not at the target,
          those threads' patch_state, and each blocker's stat, wchan and stack.

Reads go through openSync/readSync/closeSync into one reused buffer, the cheapest path Node has
(readFileSync adds an fstat; the flags, a Buffer path or a null position change nothing measurable).
CPU is this process's (process.cpuUsage), the median of PASSES passes after 3 warm ones.

Usage: node bench/read-floor.mjs ROOT [PASSES]   prints one line of JSON:
  {threads, blockers, full: {ms, files}, steady: {ms, files}}
*/
import fs from 'node:fs';

const root = process.argv[2];
const passes = Number(process.argv[3] ?? 9);
if (!root) {
	console.error('usage: node bench/read-floor.mjs ROOT [PASSES]');
	process.exit(2);
}

const buffer = Buffer.allocUnsafe(64 * 1024);
let files = 0;
/** open/read/close into the shared buffer; the bytes read, or -1 when the file is gone. */
const read = (file) => {
	let fd;
	try {
		fd = fs.openSync(file, 0);
	} catch {
		return -1;
	}

	files++;
	try {
		return fs.readSync(fd, buffer, 0, buffer.length, null);
	} finally {
		fs.closeSync(fd);
	}
};

const numeric = (name) => /^\d+$/.test(name);
const livepatch = `${root}/sys/kernel/livepatch`;
const patches = fs.readdirSync(livepatch).map((name) => `${livepatch}/${name}`);
const value = (file) => fs.readFileSync(file, 'utf8').trim();
const moving = patches.find((patch) => value(`${patch}/transition`) === '1');
if (moving === undefined) {
	console.error(`read-floor: no patch in transition under ${livepatch}`);
	process.exit(2);
}

const target = Number(value(`${moving}/enabled`));

// The tree as a steady poll knows it: the processes with a thread not at the target, those threads.
let threads = 0;
const pendingDirs = [];
const pendingThreads = [];
for (const pid of fs.readdirSync(`${root}/proc`).filter(numeric)) {
	const taskDir = `${root}/proc/${pid}/task`;
	let pending = false;
	for (const tid of fs.readdirSync(taskDir).filter(numeric)) {
		threads++;
		const state = Number(value(`${taskDir}/${tid}/patch_state`));
		if (state !== target && (state === 0 || state === 1)) {
			pendingThreads.push(`${taskDir}/${tid}`);
			pending = true;
		}
	}

	if (pending) pendingDirs.push(taskDir);
}

const fullScan = () => {
	for (const pid of fs.readdirSync(`${root}/proc`)) {
		if (!numeric(pid)) continue;
		const taskDir = `${root}/proc/${pid}/task`;
		for (const tid of fs.readdirSync(taskDir)) {
			if (!numeric(tid)) continue;
			const n = read(`${taskDir}/${tid}/patch_state`);
			const state = n > 0 ? buffer[0] - 48 : -1;
			if (state !== target && (state === 0 || state === 1)) read(`${taskDir}/${tid}/stat`);
		}
	}
};

const steadyPoll = () => {
	for (const patch of patches) {
		read(`${patch}/enabled`);
		read(`${patch}/transition`);
	}

	fs.readdirSync(`${root}/proc`);
	for (const taskDir of pendingDirs) fs.readdirSync(taskDir);
	for (const thread of pendingThreads) {
		read(`${thread}/patch_state`);
		read(`${thread}/stat`);
		read(`${thread}/wchan`);
		read(`${thread}/stack`);
	}
};

const measure = (pass) => {
	for (let i = 0; i < 3; i++) pass();
	const costs = [];
	let count = 0;
	for (let i = 0; i < passes; i++) {
		files = 0;
		const before = process.cpuUsage();
		pass();
		const used = process.cpuUsage(before);
		costs.push((used.user + used.system) / 1000);
		count = files;
	}

	costs.sort((a, b) => a - b);
	return {ms: costs[Math.floor(costs.length / 2)], files: count};
};

console.log(
	JSON.stringify({
		threads,
		blockers: pendingThreads.length,
		full: measure(fullScan),
		steady: measure(steadyPoll),
	}),
);
