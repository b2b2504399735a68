/**
`klptop export --textfile PATH [-d SECONDS]` and `klptop export --listen ADDR:PORT`.

Textfile: the node_exporter textfile collector reads `*.prom` files whenever it is scraped, so a
half-written file must never be visible: the exposition goes to a temporary file in the *same
directory* (a name not ending in `.prom`, so the collector ignores it), is flushed, and is then
`rename()`d over PATH (atomic within one filesystem). Without `-d` one file is written and klptop
exits; with `-d` it is rewritten every SECONDS until interrupted.

Listen: a tiny HTTP server with `/metrics`. Each scrape scans the source and folds the snapshot into
the exporter's history, so `klp_transition_observed_seconds` is measured across scrapes. The default
address is loopback (`--listen 9100` = `127.0.0.1:9100`); another address must be written out as an
IP literal (`0.0.0.0:9100`, `[::]:9100`), and host names other than `localhost` are refused, so
klptop never exposes a host's task picture to the network by a name that happens to resolve there.

The emulator runs on the real clock here (scrapes arrive in real time): before each scan it is
advanced by the real time elapsed since the previous one.
*/
import {closeSync, fsyncSync, openSync, writeSync} from 'node:fs';
import {createServer} from 'node:http';
import type {IncomingMessage, Server, ServerResponse} from 'node:http';
import {isIP} from 'node:net';
import {foldSnapshot} from '../model/history.js';
import type {History} from '../model/types.js';
import {createReader} from '../sources/reader.js';
import type {ScriptIo, ScriptSource} from './common.js';
import {describeError, linkedController, noLivepatchWords, realClock, replaceFileSync} from './common.js';
import {contentType, toPrometheus} from './prometheus.js';

export type ExportOptions = {
	readonly opened: ScriptSource;
	/** Write the textfile-collector file here. */
	readonly textfile?: string | undefined;
	/** Serve `/metrics` on this address (`PORT`, `ADDR:PORT`, `[ADDR]:PORT`). */
	readonly listen?: string | undefined;
	/** With `textfile`: rewrite every SECONDS until interrupted (one-shot when absent). */
	readonly delayS?: number | null | undefined;
	/** klptop's version for `klp_exporter_info`. */
	readonly version: string;
	readonly signal?: AbortSignal;
	/** Tests only: called once the server listens, with its URL. */
	readonly onListening?: (url: string) => void;
};

export type ListenAddress = {readonly host: string; readonly port: number; readonly loopback: boolean};

export class ExportUsageError extends Error {}

function isLoopbackIp(host: string): boolean {
	if (isIP(host) === 4) {
		return host.startsWith('127.');
	}

	return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(host);
}

/** `9100`, `:9100`, `127.0.0.1:9100`, `[::1]:9100`, `localhost:9100` -> host and port. Throws ExportUsageError. */
export function parseListen(value: string): ListenAddress {
	let host = '127.0.0.1';
	let portText: string;
	const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(value);
	if (bracket) {
		host = bracket[1]!;
		portText = bracket[2]!;
	} else if (/^\d+$/.test(value)) {
		portText = value;
	} else {
		const colon = value.lastIndexOf(':');
		if (colon < 0) {
			throw new ExportUsageError(`--listen takes PORT or ADDR:PORT, got '${value}'`);
		}

		if (colon > 0) {
			host = value.slice(0, colon);
		}

		portText = value.slice(colon + 1);
		if (host.includes(':')) {
			throw new ExportUsageError(`--listen: write IPv6 addresses in brackets, e.g. [::1]:9100`);
		}
	}

	if (!/^\d+$/.test(portText)) {
		throw new ExportUsageError(`--listen: '${portText}' is not a port number`);
	}

	const port = Number(portText);
	if (port > 65_535) {
		throw new ExportUsageError(`--listen: port ${port} is out of range (0-65535)`);
	}

	if (host === 'localhost') {
		return {host: '127.0.0.1', port, loopback: true};
	}

	if (isIP(host) === 0) {
		throw new ExportUsageError(
			`--listen: '${host}' is not an IP address; write the address out (127.0.0.1, or 0.0.0.0 to listen on every interface)`,
		);
	}

	return {host, port, loopback: isLoopbackIp(host)};
}

/** Write `text` to `file` atomically: a temp file beside it, fsync, rename (`replaceFileSync`). */
export function writeFileAtomic(file: string, text: string): void {
	replaceFileSync(file, (temp) => {
		const fd = openSync(temp, 'wx', 0o644);
		try {
			writeSync(fd, text);
			fsyncSync(fd);
		} finally {
			closeSync(fd);
		}
	});
}

/** Scans the source and keeps the exporter's history; the emulator follows the real clock. */
function createCollector(opened: ScriptSource, version: string, io: ScriptIo): () => string {
	const reader = createReader(opened.port, opened.source);
	let history: History | null = null;
	let toldNoLivepatch = false;
	let last = realClock.now();
	return () => {
		const {emulation} = opened;
		if (emulation) {
			const now = realClock.now();
			emulation.advance(Math.max(0, now - last));
			last = now;
		}

		history = foldSnapshot(
			history,
			reader.scan({threads: 'blockers', ...(emulation ? {clock: () => emulation.now()} : {})}),
		);
		if (!history.snapshot.kernel.livepatch && !toldNoLivepatch) {
			// Said once; the exporter keeps serving `klp_livepatch_available 0` rather than die.
			toldNoLivepatch = true;
			io.stderr.write(
				`klptop export: ${noLivepatchWords(opened.source)}; serving klp_livepatch_available 0\n`,
			);
		}

		return toPrometheus(history, {version});
	};
}

export type MetricsServer = {
	readonly url: string;
	readonly server: Server;
	close(): Promise<void>;
};

/** Start serving `/metrics`. Rejects on listen errors (EADDRINUSE, EACCES). */
export function serveMetrics(address: ListenAddress, collect: () => string): Promise<MetricsServer> {
	const handler = (request: IncomingMessage, response: ServerResponse) => {
		const url = new URL(request.url ?? '/', 'http://klptop');
		if (request.method !== 'GET' && request.method !== 'HEAD') {
			response.writeHead(405, {Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8'});
			response.end('method not allowed\n');
			return;
		}

		if (url.pathname === '/metrics') {
			let body: string;
			try {
				body = collect();
			} catch (error) {
				response.writeHead(500, {'Content-Type': 'text/plain; charset=utf-8'});
				response.end(`klptop: scan failed: ${describeError(error)}\n`);
				return;
			}

			response.writeHead(200, {
				'Content-Type': contentType,
				'Content-Length': Buffer.byteLength(body),
				'Cache-Control': 'no-store',
			});
			response.end(request.method === 'HEAD' ? undefined : body);
			return;
		}

		if (url.pathname === '/') {
			response.writeHead(200, {'Content-Type': 'text/plain; charset=utf-8'});
			response.end('klptop exporter: metrics at /metrics\n');
			return;
		}

		response.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'});
		response.end('not found; metrics are at /metrics\n');
	};

	const server = createServer(handler);
	server.keepAliveTimeout = 5000;
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(address.port, address.host, () => {
			server.off('error', reject);
			const bound = server.address();
			const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
			const host = address.host.includes(':') ? `[${address.host}]` : address.host;
			resolve({
				url: `http://${host}:${port}/metrics`,
				server,
				close: () =>
					new Promise<void>((done) => {
						server.close(() => {
							done();
						});
						server.closeAllConnections();
					}),
			});
		});
	});
}

/** Run `export`. Resolves with the exit code: 0, or 2 on bad options or I/O errors. */
export async function runExport(options: ExportOptions, io: ScriptIo): Promise<number> {
	const fail = (message: string): number => {
		io.stderr.write(`klptop export: ${message}\n`);
		return 2;
	};

	const {textfile, listen} = options;
	if ((textfile === undefined) === (listen === undefined)) {
		return fail('give exactly one of --textfile PATH or --listen ADDR:PORT');
	}

	const delayS = options.delayS ?? null;
	if (delayS !== null && !(Number.isFinite(delayS) && delayS > 0)) {
		return fail('-d takes a number of seconds greater than 0');
	}

	const collect = createCollector(options.opened, options.version, io);
	const controller = linkedController(options.signal);

	if (textfile !== undefined) {
		if (textfile === '' || textfile.endsWith('/')) {
			return fail('--textfile takes a file path (for node_exporter: <collector dir>/klptop.prom)');
		}

		for (;;) {
			let text: string;
			try {
				text = collect();
			} catch (error) {
				return fail(`scan failed: ${describeError(error)}`);
			}

			try {
				writeFileAtomic(textfile, text);
			} catch (error) {
				return fail(`cannot write ${textfile}: ${describeError(error)}`);
			}

			if (delayS === null || controller.signal.aborted) {
				return 0;
			}

			await realClock.sleep(delayS * 1000, controller.signal);
			if (controller.signal.aborted) {
				return 0;
			}
		}
	}

	let address: ListenAddress;
	try {
		address = parseListen(listen!);
	} catch (error) {
		return fail(error instanceof Error ? error.message : String(error));
	}

	if (delayS !== null) {
		return fail('-d applies to --textfile only (with --listen every scrape reads afresh)');
	}

	let served: MetricsServer;
	try {
		served = await serveMetrics(address, collect);
	} catch (error) {
		return fail(`cannot listen on ${listen!}: ${describeError(error)}`);
	}

	if (!address.loopback) {
		io.stderr.write(
			`klptop export: warning: listening on ${address.host}, beyond this host: anyone who can reach it sees patch and transition state\n`,
		);
	}

	io.stderr.write(`klptop export: serving ${served.url}\n`);
	options.onListening?.(served.url);
	await new Promise<void>((resolve) => {
		if (controller.signal.aborted) {
			resolve();
			return;
		}

		controller.signal.addEventListener(
			'abort',
			() => {
				resolve();
			},
			{once: true},
		);
	});
	await served.close();
	return 0;
}
