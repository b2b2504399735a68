/**
Emulated livepatch trees on disk for the benchmark, cached between runs.

`ensureTree({dist, work, threads, state})` builds the emulator's `many` scenario (seed 1) with
`threads` threads, optionally forces its transition to the end (`state: 'idle'`: no transition, every
patch_state -1), and writes the world under `work` once, in a directory named by a fingerprint of
the world's content: the same world is never written twice, which would otherwise be most of the
benchmark's time (a minute or more for 100,000 threads).

The emulator's own `writeTreeOnce` is used when it is implemented. Until then (or when it throws)
the tree is written here, through the emulation's read port, so the content is exactly what the
reader would see in-process: every file of /sys, /dev and the non-numeric /proc entries, and for
each thread `patch_state`, `stat`, `comm`, `wchan` and `stack` (`status` and `cmdline` are skipped:
neither klptop, the C lower bound nor the shell loop reads them). Write-only files (`force`) are
created empty: the reader only checks their presence.
*/
import {performance} from 'node:perf_hooks';
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {
	closeSync,
	existsSync,
	mkdirSync,
	openSync,
	readdirSync,
	renameSync,
	rmSync,
	writeFileSync,
	writeSync,
} from 'node:fs';
import path from 'node:path';

const TASK_FILES = ['patch_state', 'stat', 'comm', 'wchan', 'stack'];

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
A fingerprint of the emulated world's content, cheap to take: the patch directories, every pid and
tid, and `patch_state` and `stat` of every 50th thread and of the patch files. Absolute times are
left out (`stat`'s start time counts from boot), so the same scenario gives the same fingerprint
whatever the clock, and a change of the emulator that does not change its world keeps the tree.
*/
function fingerprint(port, threads, state) {
	const hash = createHash('sha256');
	hash.update(`many ${threads} ${state} seed 1\n`);
	const safe = (fn) => {
		try {
			return fn();
		} catch (error) {
			return `!${error?.code ?? 'error'}`;
		}
	};

	const walk = (worldPath) => {
		const names = safe(() => port.readdir(worldPath));
		if (typeof names === 'string') {
			hash.update(`${worldPath}=${safe(() => port.readFile(worldPath))}\n`);
			return;
		}

		hash.update(`${worldPath}/[${[...names].sort().join(',')}]\n`);
		for (const name of [...names].sort()) walk(`${worldPath}/${name}`);
	};

	walk('/sys/kernel/livepatch');
	// Which files /proc has besides the PIDs (a tree from before /proc/loadavg is written again).
	hash.update(
		`/proc: ${[...port.readdir('/proc')]
			.filter((name) => !/^\d+$/.test(name))
			.sort()
			.join(',')}\n`,
	);
	let index = 0;
	for (const pid of port.readdir('/proc')) {
		if (!/^\d+$/.test(pid)) continue;
		const tids = port.readdir(`/proc/${pid}/task`);
		hash.update(`${pid}:${tids.join(',')}\n`);
		for (const tid of tids) {
			if (index++ % 50 === 0) {
				const dir = `/proc/${pid}/task/${tid}`;
				hash.update(
					`${safe(() => port.readFile(`${dir}/patch_state`))}${safe(() => port.readFile(`${dir}/stat`))}`,
				);
			}
		}
	}

	return hash.digest('hex').slice(0, 12);
}

/** Remove directories in the background (a nice'd `rm -rf` that outlives the benchmark). */
export function removeLater(dirs) {
	if (dirs.length === 0) return;
	const child = spawn('nice', ['-n', '19', 'rm', '-rf', ...dirs], {detached: true, stdio: 'ignore'});
	child.unref();
}

/**
Make sure a directory under `work` holds the `many` world with `threads` threads in `state`
('transition' | 'idle'). The directory is named by the world's fingerprint, so a tree is written
only when the world changed; `fresh` writes it again anyway (so its clock starts now).
Returns {dir, reused, createMs, writeMs, writer, stale}: `stale` lists older trees of the same
kind, for `removeLater` once the measurements are done.
*/
export async function ensureTree({dist, work, threads, state, fresh = false, log = () => {}}) {
	const emulatorUrl = new URL(`file://${path.join(dist, 'source', 'emulator', 'index.js')}`);
	const {createEmulation, writeTreeOnce} = await import(emulatorUrl.href);
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

	const kind = `many-${threads}-${state}`;
	const dir = path.join(work, `${kind}-${fingerprint(emulation.port, threads, state)}`);
	const createMs = performance.now() - start;
	mkdirSync(work, {recursive: true});
	const stale = readdirSync(work)
		.filter((name) => name.startsWith(`${kind}-`) && path.join(work, name) !== dir)
		.map((name) => path.join(work, name));
	const doneFile = path.join(dir, '.bench-complete');
	if (!fresh && existsSync(doneFile) && countThreads(dir) === threads) {
		return {dir, reused: true, createMs, writeMs: 0, writer: 'cached', stale};
	}

	log(`writing the emulated 'many' world with ${threads} threads (${state}) ...`);
	const temporary = `${dir}.partial`;
	rmSync(temporary, {recursive: true, force: true});
	if (existsSync(dir)) {
		// Out of the way now, removed in the background after the measurements.
		const old = `${dir}.old-${process.pid}`;
		renameSync(dir, old);
		stale.push(old);
	}

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

	writeFileSync(doneFile.replace(dir, temporary), '');
	renameSync(temporary, dir);
	return {dir, reused: false, createMs, writeMs, writer, stale};
}
