/**
`--push`: a host without klptop gets a copy for this run over the fleet's connection: the
single-file bundle where it has Node.js >= 20, else the standalone executable, in a private
`mktemp -d` directory, checked by its size, removed when the fleet ends. Where the copies come
from: ARCHITECTURE.md, "The fleet".
*/
import {existsSync, statSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import type {FleetHost} from './inventory.js';
import {posixShell, shellQuote} from './remote.js';
import type {Transport} from './ssh.js';

declare const __KLPTOP_WALK_HELPER_SOURCE__: string | undefined;

export type PushFile = {readonly name: string; readonly size: number} & (
	{readonly file: string} | {readonly bytes: Uint8Array}
);

export type PushArtifacts = {
	/** The single-file bundle, run by the host's node. */
	readonly bundle: PushFile | null;
	/** The standalone linux-x64 executable. */
	readonly executable: PushFile | null;
};

function fileIfThere(file: string, name: string): PushFile | null {
	try {
		return existsSync(file) ? {name, size: statSync(file).size, file} : null;
	} catch {
		return null;
	}
}

/** What this klptop can push, found beside itself (see the header). */
export function locateArtifacts(): PushArtifacts {
	const self = fileURLToPath(import.meta.url);
	const seaUrl = (globalThis as {__klptopMetaUrl?: string}).__klptopMetaUrl;
	if (seaUrl !== undefined) {
		let bundle: PushFile | null = null;
		try {
			const sea = createRequire(import.meta.url)('node:sea') as {getAsset(name: string): ArrayBuffer};
			const bytes = new Uint8Array(sea.getAsset('klptop.mjs'));
			bundle = {name: 'klptop.mjs', size: bytes.length, bytes};
		} catch {
			// An executable without the asset pushes itself only.
		}

		return {bundle, executable: fileIfThere(process.execPath, 'klptop')};
	}

	if (typeof __KLPTOP_WALK_HELPER_SOURCE__ === 'string') {
		return {
			bundle: fileIfThere(self, 'klptop.mjs'),
			executable: fileIfThere(path.join(path.dirname(self), 'sea', 'klptop-linux-x64'), 'klptop'),
		};
	}

	// dist/source/fleet/push.js, or source/fleet/push.ts run from the repository (tests).
	const dist = [path.resolve(path.dirname(self), '../..'), path.resolve(path.dirname(self), '../../dist')];
	const first = (relative: string, name: string) =>
		dist.map((dir) => fileIfThere(path.join(dir, relative), name)).find((found) => found !== null) ?? null;
	return {bundle: first('klptop.mjs', 'klptop.mjs'), executable: first('sea/klptop-linux-x64', 'klptop')};
}

/** What the probe found on a host. */
export type HostFacts = {
	readonly arch: string;
	readonly node: string | null;
	readonly nodeMajor: number | null;
};

export const probeCommand = posixShell(
	'uname -m; command -v node || echo -; node -e "process.stdout.write(process.versions.node)" 2>/dev/null || printf -; echo',
);

export function parseProbe(stdout: string): HostFacts | null {
	const [arch, node, version] = stdout.split('\n').map((line) => line.trim());
	if (arch === undefined || arch === '' || node === undefined || version === undefined) return null;
	const major = /^(\d+)\./.exec(version);
	const usable = node !== '-' && node.startsWith('/');
	return {arch, node: usable ? node : null, nodeMajor: usable && major ? Number(major[1]) : null};
}

export type PushChoice =
	| {readonly kind: 'bundle'; readonly file: PushFile; readonly node: string}
	| {readonly kind: 'executable'; readonly file: PushFile}
	| {readonly kind: 'none'; readonly why: string};

/** The bundle where the host has node >= 20, else the executable on x86_64. */
export function choosePush(facts: HostFacts, artifacts: PushArtifacts): PushChoice {
	if (facts.node !== null && (facts.nodeMajor ?? 0) >= 20 && artifacts.bundle !== null) {
		return {kind: 'bundle', file: artifacts.bundle, node: facts.node};
	}

	if (facts.arch === 'x86_64' && artifacts.executable !== null) {
		return {kind: 'executable', file: artifacts.executable};
	}

	const nodeText = facts.nodeMajor === null ? 'no node' : `node ${facts.nodeMajor}`;
	const have =
		artifacts.bundle !== null && artifacts.executable !== null
			? 'the bundle needs node >= 20, the executable x86_64'
			: artifacts.bundle !== null
				? 'this klptop has only the bundle (node >= 20)'
				: artifacts.executable !== null
					? 'this klptop has only the executable (x86_64)'
					: 'this klptop has neither the bundle (npm run bundle) nor the executable (npm run sea)';
	return {kind: 'none', why: `cannot push: the host is ${facts.arch} with ${nodeText}; ${have}`};
}

/** The upload: a private directory, the file from stdin, its size and the directory back. */
export function uploadCommand(name: string): string {
	return posixShell(
		`umask 077; d=$(mktemp -d "\${TMPDIR:-/tmp}/klptop-fleet.XXXXXXXX") || exit 1; cat > "$d/${name}" || exit 1; chmod 700 "$d/${name}"; wc -c < "$d/${name}"; echo "$d"`,
	);
}

/** Only a directory `uploadCommand` made is ever removed. */
export function isPushDir(dir: string): boolean {
	return /^\/[\w./-]*\/klptop-fleet\.[A-Za-z0-9]{8}$/.test(dir) && !dir.includes('/../');
}

export function cleanupCommand(dir: string): string {
	if (!isPushDir(dir)) throw new Error(`not a directory klptop pushed to: ${dir}`);
	return `rm -rf -- ${shellQuote(dir)}`;
}

export type PushedCopy = {
	readonly kind: 'bundle' | 'executable';
	readonly dir: string;
	/** The command that runs the copy (before `--sudo`). */
	readonly command: string;
};

/** Probe, choose, upload, check: the copy's command line, or why there is none. */
export async function pushTo(
	transport: Transport,
	host: FleetHost,
	artifacts: PushArtifacts,
): Promise<PushedCopy | {readonly error: string}> {
	const probe = await transport.run(host, probeCommand, {timeoutMs: 30_000});
	const facts = probe.code === 0 ? parseProbe(probe.stdout.toString('utf8')) : null;
	if (facts === null) {
		return {error: `cannot push: probing the host failed (status ${probe.code}): ${probe.stderr.trim()}`};
	}

	const choice = choosePush(facts, artifacts);
	if (choice.kind === 'none') return {error: choice.why};
	const input = 'file' in choice.file ? {file: choice.file.file} : choice.file.bytes;
	const upload = await transport.run(host, uploadCommand(choice.file.name), {input, timeoutMs: 300_000});
	const [size, dir] = upload.stdout
		.toString('utf8')
		.split('\n')
		.map((line) => line.trim());
	if (upload.code !== 0 || dir === undefined || !isPushDir(dir)) {
		return {error: `cannot push: the copy failed (status ${upload.code}): ${upload.stderr.trim()}`};
	}

	if (Number(size) !== choice.file.size) {
		await transport.run(host, cleanupCommand(dir), {timeoutMs: 30_000});
		return {error: `cannot push: ${size ?? '?'} of ${choice.file.size} bytes arrived`};
	}

	const file = shellQuote(`${dir}/${choice.file.name}`);
	return {
		kind: choice.kind,
		dir,
		command: choice.kind === 'bundle' ? `${shellQuote(choice.node)} ${file}` : file,
	};
}
