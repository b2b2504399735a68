/*
--push's choices, pure and with a real shell: the probe as a host's sh runs it, the bundle where the
host's node is >= 20, else the executable on x86_64, else why not; and only a directory the upload
made is ever removed.
*/
import {execFileSync} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {choosePush, cleanupCommand, isPushDir, parseProbe, probeCommand} from '../../source/fleet/push.js';
import type {PushArtifacts} from '../../source/fleet/push.js';

const bundle = {name: 'klptop.mjs', file: '/opt/klptop/klptop.mjs', size: 800_000};
const executable = {name: 'klptop', file: '/opt/klptop/sea/klptop-linux-x64', size: 90_000_000};
const both: PushArtifacts = {bundle, executable};

describe('the probe', () => {
	it("reads this machine's arch and node as a host's shell reports them", () => {
		const facts = parseProbe(execFileSync('/bin/sh', ['-c', probeCommand], {encoding: 'utf8'}));
		expect(facts).toEqual({
			arch: execFileSync('uname', ['-m'], {encoding: 'utf8'}).trim(),
			node: execFileSync('/bin/sh', ['-c', 'command -v node'], {encoding: 'utf8'}).trim(),
			nodeMajor: Number(process.versions.node.split('.')[0]),
		});
	});

	it('finds no node where there is none, and refuses what is no probe output', () => {
		expect(parseProbe('x86_64\n-\n-\n')).toEqual({arch: 'x86_64', node: null, nodeMajor: null});
		// A shell function or alias named node is no path: not used.
		expect(parseProbe('x86_64\nnode\n20.1.0\n')).toEqual({arch: 'x86_64', node: null, nodeMajor: null});
		expect(parseProbe('')).toBeNull();
		expect(parseProbe('x86_64\n')).toBeNull();
	});
});

describe('choosePush', () => {
	it('takes the bundle where the host has node >= 20', () => {
		expect(choosePush({arch: 'aarch64', node: '/usr/bin/node', nodeMajor: 22}, both)).toEqual({
			kind: 'bundle',
			file: bundle,
			node: '/usr/bin/node',
		});
	});

	it('takes the executable on x86_64 with an older node or none', () => {
		for (const nodeMajor of [18, null]) {
			const node = nodeMajor === null ? null : '/usr/bin/node';
			expect(choosePush({arch: 'x86_64', node, nodeMajor}, both)).toEqual({
				kind: 'executable',
				file: executable,
			});
		}
	});

	it('says why when nothing fits', () => {
		expect(choosePush({arch: 'aarch64', node: '/usr/bin/node', nodeMajor: 18}, both)).toEqual({
			kind: 'none',
			why: 'cannot push: the host is aarch64 with node 18; the bundle needs node >= 20, the executable x86_64',
		});
		expect(choosePush({arch: 'x86_64', node: null, nodeMajor: null}, {bundle, executable: null})).toEqual({
			kind: 'none',
			why: 'cannot push: the host is x86_64 with no node; this klptop has only the bundle (node >= 20)',
		});
	});
});

describe('cleanup', () => {
	it('removes only a directory the upload made', () => {
		expect(cleanupCommand('/tmp/klptop-fleet.AbC12345')).toBe('rm -rf -- /tmp/klptop-fleet.AbC12345');
		for (const dir of [
			'/',
			'/tmp',
			'/tmp/klptop-fleet.',
			'/tmp/../etc/klptop-fleet.AbC12345',
			'tmp/klptop-fleet.AbC12345',
			'/tmp/x; rm -rf ~/klptop-fleet.AbC12345',
		]) {
			expect(isPushDir(dir)).toBe(false);
			expect(() => cleanupCommand(dir)).toThrow(/not a directory klptop pushed to/);
		}
	});
});
