import {spawnSync} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {foldSnapshot} from '../../source/model/history.js';
import {parseListen, runExport} from '../../source/script/export.js';
import {escapeLabelValue, toPrometheus} from '../../source/script/prometheus.js';
import {createReader} from '../../source/sources/reader.js';
import type {ScriptSource} from '../../source/script/common.js';
import {makeTree, type Tree} from '../helpers/tree.js';
import {emulated, memoryIo, treeSource} from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0)) {
		cleanup();
	}
});

function tree(spec: Parameters<typeof makeTree>[0]): Tree {
	const made = makeTree(spec);
	cleanups.push(() => {
		made.cleanup();
	});
	return made;
}

function tempDir(): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'klptop-export-'));
	cleanups.push(() => {
		rmSync(dir, {recursive: true, force: true});
	});
	return dir;
}

/** `promtool check metrics` on a text: its exit code and whatever it printed. */
function promtool(text: string): {status: number | null; output: string; error: string | undefined} {
	const result = spawnSync('promtool', ['check', 'metrics'], {input: text, encoding: 'utf8'});
	return {
		status: result.status,
		output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
		error: result.error?.message,
	};
}

/** Metrics after `seconds` of a scenario, polled once a second. */
function emulatedMetrics(scenario: string, seconds: number, kernel?: '6.1' | '6.11'): string {
	const opened = emulated(scenario, kernel === undefined ? {} : {kernel});
	const reader = createReader(opened.port, opened.source);
	const clock = () => opened.emulation.now();
	let history = foldSnapshot(null, reader.scan({clock}));
	for (let i = 0; i < seconds; i++) {
		opened.emulation.advance(1000);
		history = foldSnapshot(history, reader.scan({clock}));
	}

	return toPrometheus(history, {version: '9.9.9'});
}

function metricsOf(opened: ScriptSource): string {
	return toPrometheus(foldSnapshot(null, createReader(opened.port, opened.source).scan()), {
		version: '1.0.0',
	});
}

/** `name{labels} value` lines as [series, value]. */
function samples(text: string): Map<string, number> {
	const map = new Map<string, number>();
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) {
			continue;
		}

		const space = line.lastIndexOf(' ');
		map.set(line.slice(0, space), Number(line.slice(space + 1)));
	}

	return map;
}

function get(url: string, method = 'GET'): Promise<{status: number; type: string; body: string}> {
	return new Promise((resolve, reject) => {
		const req = request(url, {method, agent: false}, (response) => {
			let body = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				body += chunk;
			});
			response.on('end', () => {
				resolve({status: response.statusCode ?? 0, type: String(response.headers['content-type']), body});
			});
		});
		req.on('error', reject);
		req.end();
	});
}

describe('exposition format', () => {
	it('describes a stuck transition per patch, with HELP/TYPE and no task labels', () => {
		const text = emulatedMetrics('stuck-interruptible', 5);
		const map = samples(text);
		const p = 'patch="klp_sleeper_patch"';
		expect(map.get(`klp_patch_enabled{${p}}`)).toBe(1);
		expect(map.get(`klp_patch_transition{${p}}`)).toBe(1);
		expect(map.get(`klp_transition_pending_tasks{${p}}`)).toBe(1);
		expect(map.get(`klp_transition_pending_kthreads{${p}}`)).toBe(0);
		expect(map.get(`klp_transition_blockers{${p},class="interruptible"}`)).toBe(1);
		expect(map.get(`klp_transition_blockers{${p},class="uninterruptible"}`)).toBe(0);
		expect(map.get(`klp_transition_observed_seconds{${p}}`)).toBeGreaterThan(5);
		expect(map.get(`klp_transition_observed_seconds{${p}}`)).toBeLessThan(6);
		expect(text).toMatch(/\nklp_exporter_info\{version="9\.9\.9",kernel_release="6\.1\.[^"]+"\} 1\n$/);
		// 6.1 has no `replace` attribute: no klp_patch_replace sample.
		expect([...map.keys()].some((key) => key.startsWith('klp_patch_replace'))).toBe(false);
		expect(text).toContain('# TYPE klp_patch_replace gauge');
		const labelKeys = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
		expect([...labelKeys].sort()).toEqual(['class', 'kernel_release', 'patch', 'version']);
		expect(text.endsWith('\n')).toBe(true);
		expect(text).not.toMatch(/\d{13}\n/);
	});

	it('counts pending kthreads and exposes replace where the kernel has it (6.11)', () => {
		const map = samples(emulatedMetrics('replace', 3, '6.11'));
		expect(map.get('klp_patch_replace{patch="klp_sleeper_patch_v2"}')).toBe(1);
		expect(map.get('klp_patch_replace{patch="klp_sleeper_patch"}')).toBe(0);
		expect(map.get('klp_transition_pending_kthreads{patch="klp_sleeper_patch_v2"}')).toBe(1);
		expect(map.get('klp_transition_pending_tasks{patch="klp_sleeper_patch"}')).toBe(0);
	});

	it('escapes and sanitises label values', () => {
		expect(escapeLabelValue('a"b\\c')).toBe('a\\"b\\\\c');
		expect(escapeLabelValue('x\ny\u001b[31m')).toBe('x?y?[31m');
		const t = tree({patches: [{name: 'we"ird\\pa\u001btch', enabled: 1, transition: 0}]});
		const text = metricsOf(treeSource(t.root));
		expect(text).toContain('klp_patch_enabled{patch="we\\"ird\\\\pa?tch"} 1');
		expect(text.includes('\u001b')).toBe(false);
	});

	it('passes promtool check metrics (stuck, replace, many, odd names, no patch, no livepatch)', () => {
		const odd = tree({
			patches: [
				{name: 'we"ird\\pa\u001btch', enabled: 1, transition: 1},
				{name: 'p\nq', enabled: 0, transition: 0, replace: 1},
			],
			threads: [{pid: 5, comm: 'a"b', patchState: 0}],
		});
		const texts = [
			emulatedMetrics('stuck-interruptible', 3),
			emulatedMetrics('replace', 3, '6.11'),
			emulatedMetrics('many', 2),
			emulatedMetrics('stuck-kthread', 2),
			metricsOf(treeSource(odd.root)),
			metricsOf(treeSource(tree({}).root)),
			metricsOf(treeSource(tree({livepatch: false, release: null}).root)),
		];
		for (const text of texts) {
			const result = promtool(text);
			expect(result.error, 'promtool must be installed (Debian package prometheus)').toBeUndefined();
			expect(result.output).toBe('');
			expect(result.status).toBe(0);
		}
	});
});

describe('export --textfile', () => {
	it('writes the file once and leaves no temporary file behind', async () => {
		const dir = tempDir();
		const file = path.join(dir, 'klptop.prom');
		const io = memoryIo();
		expect(await runExport({opened: emulated('stuck-killable'), textfile: file, version: '1.2.3'}, io)).toBe(
			0,
		);
		const text = readFileSync(file, 'utf8');
		expect(text).toContain('klp_transition_blockers{patch="klp_sleeper_patch",class="uninterruptible"} 1');
		expect(readdirSync(dir)).toEqual(['klptop.prom']);
		expect(statSync(file).mode & 0o777).toBe(0o644);
		expect(io.stdout.text()).toBe('');
		expect(promtool(text).status).toBe(0);
	});

	it('rewrites it atomically every -d seconds until interrupted: readers only ever see whole files', async () => {
		const dir = tempDir();
		const file = path.join(dir, 'klptop.prom');
		const controller = new AbortController();
		const run = runExport(
			{
				opened: emulated('stuck-interruptible'),
				textfile: file,
				version: '1',
				delayS: 0.005,
				signal: controller.signal,
			},
			memoryIo(),
		);
		const contents = new Set<string>();
		let reads = 0;
		const deadline = Date.now() + 400;
		while (Date.now() < deadline) {
			await new Promise((resolve) => setImmediate(resolve));
			let text: string;
			try {
				text = readFileSync(file, 'utf8');
			} catch {
				continue; // Not written yet.
			}

			reads++;
			contents.add(text);
			expect(text.startsWith('# HELP klp_patch_enabled ')).toBe(true);
			expect(text).toMatch(/\nklp_exporter_info\{version="1",kernel_release="[^"]*"\} 1\n$/);
		}

		controller.abort();
		expect(await run).toBe(0);
		expect(reads).toBeGreaterThan(10);
		// The emulator follows the real clock: observed seconds change from write to write.
		expect(contents.size).toBeGreaterThan(2);
		expect(readdirSync(dir)).toEqual(['klptop.prom']);
	});

	it('fails with 2 and a message when the directory does not exist', async () => {
		const io = memoryIo();
		const code = await runExport(
			{opened: emulated('quick'), textfile: path.join(tempDir(), 'missing', 'k.prom'), version: '1'},
			io,
		);
		expect(code).toBe(2);
		expect(io.stderr.text()).toMatch(/^klptop export: cannot write .*ENOENT/);
	});

	it('refuses missing or conflicting targets and a bad -d', async () => {
		const io = memoryIo();
		expect(await runExport({opened: emulated('quick'), version: '1'}, io)).toBe(2);
		expect(await runExport({opened: emulated('quick'), version: '1', textfile: 'a', listen: '1'}, io)).toBe(
			2,
		);
		expect(await runExport({opened: emulated('quick'), version: '1', textfile: 'a', delayS: 0}, io)).toBe(2);
		expect(io.stderr.text().split('\n').filter(Boolean)).toHaveLength(3);
	});
});

describe('export --listen', () => {
	it('parses addresses: loopback by default, IP literals only', () => {
		expect(parseListen('9100')).toEqual({host: '127.0.0.1', port: 9100, loopback: true});
		expect(parseListen(':9100')).toEqual({host: '127.0.0.1', port: 9100, loopback: true});
		expect(parseListen('localhost:9100')).toEqual({host: '127.0.0.1', port: 9100, loopback: true});
		expect(parseListen('127.0.0.2:1')).toEqual({host: '127.0.0.2', port: 1, loopback: true});
		expect(parseListen('[::1]:9100')).toEqual({host: '::1', port: 9100, loopback: true});
		expect(parseListen('0.0.0.0:9100')).toEqual({host: '0.0.0.0', port: 9100, loopback: false});
		expect(parseListen('[::]:9100').loopback).toBe(false);
		expect(() => parseListen('example.com:9100')).toThrow(/not an IP address/);
		expect(() => parseListen('::1:9100')).toThrow(/brackets/);
		expect(() => parseListen('70000')).toThrow(/out of range/);
		expect(() => parseListen('host')).toThrow(/PORT or ADDR:PORT/);
	});

	it('serves /metrics over real HTTP on 127.0.0.1, valid for promtool, measured across scrapes', async () => {
		const controller = new AbortController();
		const io = memoryIo();
		let url = '';
		let listening!: () => void;
		const ready = new Promise<void>((resolve) => {
			listening = resolve;
		});
		const run = runExport(
			{
				opened: emulated('stuck-killable'),
				listen: '127.0.0.1:0',
				version: '0.1.0',
				signal: controller.signal,
				onListening(address) {
					url = address;
					listening();
				},
			},
			io,
		);
		await ready;
		expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
		expect(io.stderr.text()).toBe(`klptop export: serving ${url}\n`);

		const first = await get(url);
		expect(first.status).toBe(200);
		expect(first.type).toBe('text/plain; version=0.0.4; charset=utf-8');
		expect(promtool(first.body)).toMatchObject({status: 0, output: ''});
		await new Promise((resolve) => setTimeout(resolve, 300));
		const second = await get(url);
		const series = 'klp_transition_observed_seconds{patch="klp_sleeper_patch"}';
		const grown = samples(second.body).get(series)! - samples(first.body).get(series)!;
		expect(grown).toBeGreaterThanOrEqual(0.25);
		expect(grown).toBeLessThan(5);

		expect((await get(url.replace('/metrics', '/nope'))).status).toBe(404);
		expect((await get(url, 'POST')).status).toBe(405);
		expect((await get(url, 'HEAD')).body).toBe('');
		controller.abort();
		expect(await run).toBe(0);
		await expect(get(url)).rejects.toThrow(/ECONNREFUSED/);
	});

	it('listens beyond loopback only on an explicit address, with a warning', async () => {
		const controller = new AbortController();
		const io = memoryIo();
		const code = runExport(
			{
				opened: emulated('quick'),
				listen: '0.0.0.0:0',
				version: '1',
				signal: controller.signal,
				onListening() {
					controller.abort();
				},
			},
			io,
		);
		expect(await code).toBe(0);
		expect(io.stderr.text()).toMatch(/warning: listening on 0\.0\.0\.0, beyond this host/);
		const refused = memoryIo();
		expect(await runExport({opened: emulated('quick'), listen: 'example.com:0', version: '1'}, refused)).toBe(
			2,
		);
	});

	it('reports a port in use with exit code 2', async () => {
		const controller = new AbortController();
		let url = '';
		await new Promise<void>((resolve) => {
			void runExport(
				{
					opened: emulated('quick'),
					listen: '127.0.0.1:0',
					version: '1',
					signal: controller.signal,
					onListening(address) {
						url = address;
						resolve();
					},
				},
				memoryIo(),
			);
		});
		const port = new URL(url).port;
		const io = memoryIo();
		expect(await runExport({opened: emulated('quick'), listen: `127.0.0.1:${port}`, version: '1'}, io)).toBe(
			2,
		);
		expect(io.stderr.text()).toContain('EADDRINUSE');
		controller.abort();
	});
});
