/**
Loading the modules that load Ink without Node's `fetch` (issue 12: start and memory).

yoga-layout, Ink's layout engine, loads its WebAssembly from a `data:` URL with `fetch` when the
global exists, else decodes the same base64 itself. Node's `fetch` is lazy: its first call loads
undici and with it http, https, tls, http2, zlib, crypto and the web streams, 66 more built-in
modules: 6.6 MB of resident memory and about 50 ms of a start (measured: 58.5 against 51.9 MB,
72-83 against 29-31 ms to import yoga), for bytes yoga decodes as well without it. klptop fetches
nothing, so the global is hidden while such an import evaluates and put back once it settles.
*/
export async function importWithoutFetch<T>(load: () => Promise<T>): Promise<T> {
	const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
	if (fetch?.configurable !== true) return load();
	Reflect.deleteProperty(globalThis, 'fetch');
	try {
		return await load();
	} finally {
		Object.defineProperty(globalThis, 'fetch', fetch);
	}
}
