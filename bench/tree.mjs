/**
Emulated livepatch trees on disk for the benchmark, cached between runs.

`ensureTree({dist, dir, threads, state})` builds the emulator's `many` scenario (seed 1) with
`threads` threads, optionally forces its transition to the end (`state: 'idle'`: no transition, every
patch_state -1), and writes the world to `dir` once. A stamp file records what the tree was made
from (thread count, state, a hash of the built emulator); a matching stamp skips the work, which
is most of the benchmark's time on a first run (about half a minute for 100,000 threads).

The emulator's own `writeTreeOnce` is used when it is implemented. Until then (or when it throws)
the tree is written here, through the emulation's read port, so the content is exactly what the
reader would see in-process: every file of /sys, /dev and the non-numeric /proc entries, and for
each thread `patch_state`, `stat`, `comm`, `wchan` and `stack` (`status` and `cmdline` are skipped:
neither klptop, the C lower bound nor the shell loop reads them). Write-only files (`force`) are
created empty: the reader only checks their presence.
*/
import {performance} from 'node:perf_hooks';
import {createHash} from 'node:crypto';
import {
	closeSync,
	existsSync,
	mkdirSync,
	openSync,
	readFileSync,
	readdirSync,
	renameSync,
	rmSync,
	writeFileSync,
	writeSync,
} from 'node:fs';
import path from 'node:path';

const TASK_FILES = ['patch_state', 'stat', 'comm', 'wchan', 'stack'];

function emulatorHash(dist) {
	const dir = path.join(dist, 'source', 'emulator');
	const hash = createHash('sha256');
	for (const name of readdirSync(dir).sort()) {
		if (name.endsWith('.js')) {
			hash.update(name);
			hash.update(readFileSync(path.join(dir, name)));
		}
	}

	return hash.digest('hex').slice(0, 16);
}

function writeFile(file, text) {
	const fd = openSync(file, 'w');
	if (text.length > 0) {
		writeSync(fd, text);
	}

	closeSync(fd);
}

/** Copy one world path (file or directory, recursively) from the port to disk. */
function copyPath(port, worldPath, out) {
	let names;
	try {
		names = port.readdir(worldPath);
	} catch {
		// Not a directory: a file.
		let text = '';
		try {
			text = port.readFile(worldPath);
		} catch {
			// Write-only (force) or unreadable: presence is what matters.
		}

		writeFile(out + worldPath, text);
		return 1;
	}

	mkdirSync(out + worldPath, {recursive: true});
	let count = 1;
	for (const name of names) {
		count += copyPath(port, `${worldPath === '/' ? '' : worldPath}/${name}`, out);
	}

	return count;
}

/** The bench's own writer: see the module comment. Returns the number of paths written. */
function writeTreeViaPort(port, out) {
	mkdirSync(out, {recursive: true});
	let count = copyPath(port, '/sys', out) + copyPath(port, '/dev', out);
	mkdirSync(out + '/proc');
	for (const name of port.readdir('/proc')) {
		if (!/^\d+$/.test(name)) {
			count += copyPath(port, `/proc/${name}`, out);
			continue;
		}

		const taskDir = `/proc/${name}/task`;
		let tids;
		try {
			tids = port.readdir(taskDir);
		} catch {
			continue;
		}

		mkdirSync(out + `/proc/${name}`);
		mkdirSync(out + taskDir);
		for (const tid of tids) {
			const dir = `${taskDir}/${tid}`;
			mkdirSync(out + dir);
			for (const file of TASK_FILES) {
				let text;
				try {
					text = port.readFile(`${dir}/${file}`);
				} catch {
					continue;
				}

				writeFile(`${out}${dir}/${file}`, text);
			}

			count += 1 + TASK_FILES.length;
		}
	}

	return count;
}

function countThreads(root) {
	let count = 0;
	for (const pid of readdirSync(path.join(root, 'proc'))) {
		if (/^\d+$/.test(pid)) {
			count += readdirSync(path.join(root, 'proc', pid, 'task')).filter((tid) => /^\d+$/.test(tid)).length;
		}
	}

	return count;
}

/**
Make sure `dir` holds the `many` world with `threads` threads in `state` ('transition' | 'idle');
`fresh` rebuilds it even when the stamp matches (so its clock starts now).
Returns {dir, reused, createMs, writeMs, writer, blockersExpected, patch}.
*/
export async function ensureTree({dist, dir, threads, state, fresh = false, log = () => {}}) {
	const emulatorUrl = new URL(`file://${path.join(dist, 'source', 'emulator', 'index.js')}`);
	const stamp = JSON.stringify({threads, state, scenario: 'many', seed: 1, emulator: emulatorHash(dist)});
	const stampFile = path.join(dir, '.bench-stamp');
	if (
		!fresh &&
		existsSync(stampFile) &&
		readFileSync(stampFile, 'utf8') === stamp &&
		countThreads(dir) === threads
	) {
		return {dir, reused: true, createMs: 0, writeMs: 0, writer: 'cached'};
	}

	const {createEmulation, writeTreeOnce} = await import(emulatorUrl.href);
	log(`building the emulated 'many' world with ${threads} threads (${state}) ...`);
	let start = performance.now();
	// Virtual t=0 is now, so times derived from the tree (elapsed, stuck) start near zero instead of
	// counting from the emulator's default epoch (2026-01-01).
	const emulation = createEmulation('many', {threads, seed: 1, startTime: Date.now()});
	if (state === 'idle') {
		for (const name of emulation.port.readdir('/sys/kernel/livepatch')) {
			const base = `/sys/kernel/livepatch/${name}`;
			if (emulation.port.readFile(`${base}/transition`).trim() === '1') {
				await emulation.control.write(`${base}/force`, '1');
			}
		}

		emulation.advance(2000);
	}

	const createMs = performance.now() - start;
	const temporary = `${dir}.partial`;
	rmSync(temporary, {recursive: true, force: true});
	rmSync(dir, {recursive: true, force: true});
	start = performance.now();
	let writer = 'emulator writeTreeOnce';
	try {
		if (typeof writeTreeOnce !== 'function') {
			throw new Error('writeTreeOnce missing');
		}

		// Synchronous in early versions, a promise (worker threads) since.
		await writeTreeOnce(emulation, temporary);
	} catch (error) {
		writer = `bench port walker (writeTreeOnce: ${String(error?.message ?? error).slice(0, 60)})`;
		rmSync(temporary, {recursive: true, force: true});
		writeTreeViaPort(emulation.port, temporary);
	}

	const writeMs = performance.now() - start;
	const written = countThreads(temporary);
	if (written !== threads) {
		throw new Error(`${temporary}: ${written} threads on disk, expected ${threads} (${writer})`);
	}

	writeFileSync(path.join(temporary, '.bench-stamp'), stamp);
	renameSync(temporary, dir);
	return {dir, reused: false, createMs, writeMs, writer};
}
