import {closeSync, constants, openSync, renameSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {errorCode} from '../../source/sources/fs-port.js';
import {createHostPort} from '../../source/sources/host-port.js';
import {parseKmsgRecord} from '../../source/sources/parse.js';
import {makeTree, type Tree} from '../helpers/tree.js';

const trees: Tree[] = [];
afterEach(() => {
	for (const tree of trees.splice(0)) {
		tree.cleanup();
	}
});

function tree(): Tree {
	const made = makeTree({livepatch: false});
	trees.push(made);
	return made;
}

function codeOf(action: () => unknown): string | undefined {
	try {
		action();
	} catch (error) {
		return errorCode(error);
	}

	return undefined;
}

describe('host port over a tree', () => {
	it('reads files whole, including ones larger than its buffer, relative to the root', () => {
		const made = tree();
		const big = 'x'.repeat(200_000) + '\nend\n';
		made.write('/proc/big', big);
		made.write('/proc/utf8', 'caf\u00e9 \u{1f600}\n');
		for (const root of [made.root, `${made.root}/`]) {
			const port = createHostPort(root);
			expect(port.readFile('/proc/big')).toBe(big);
			expect(port.readFile('/proc/utf8')).toBe('caf\u00e9 \u{1f600}\n');
			expect(port.readFile('/proc/big')).toBe(big);
			expect(port.readFile('/proc/stat')).toContain('btime 1700000000\n');
		}
	});

	it('throws Node-style errors with a code', () => {
		const port = createHostPort(tree().root);
		expect(codeOf(() => port.readFile('/nope'))).toBe('ENOENT');
		expect(codeOf(() => port.readdir('/nope'))).toBe('ENOENT');
		expect(codeOf(() => port.readFile('/proc'))).toBe('EISDIR');
		expect(codeOf(() => port.readdir('/proc/stat'))).toBe('ENOTDIR');
	});

	it('readdir, exists, ownerUid, readerUid', () => {
		const made = tree();
		made.write('/proc/5/task/5/stat', '5 (x) S 1');
		const port = createHostPort(made.root);
		expect(port.readdir('/proc/5/task')).toEqual(['5']);
		expect(port.exists('/proc/5/task/5')).toBe(true);
		expect(port.exists('/proc/6')).toBe(false);
		expect(port.ownerUid('/proc/5/task/5')).toBe(process.geteuid!());
		expect(port.ownerUid('/proc/6')).toBeUndefined();
		expect(port.readerUid()).toBe(process.geteuid!());
	});

	it('a /dev/kmsg file: the backlog first, then only complete lines appended since', () => {
		const made = tree();
		const port = createHostPort(made.root);
		expect(port.readKmsg()).toBeUndefined();
		made.write('/dev/kmsg', '6,1,100,-;a\n6,2,200,-;b\n6,3,3');
		expect(port.readKmsg()).toEqual(['6,1,100,-;a', '6,2,200,-;b']);
		expect(port.readKmsg()).toEqual([]);
		made.append('/dev/kmsg', '00,-;c\n\n6,4,400,-;d\n');
		expect(port.readKmsg()).toEqual(['6,3,300,-;c', '6,4,400,-;d']);
		// Rewritten shorter: start over.
		made.write('/dev/kmsg', '6,9,900,-;z\n');
		expect(port.readKmsg()).toEqual(['6,9,900,-;z']);
		// Replaced by rename with the log grown: only the new lines.
		made.write('/dev/kmsg.new', '6,9,900,-;z\n6,10,1000,-;y\n');
		renameSync(made.path('/dev/kmsg.new'), made.path('/dev/kmsg'));
		expect(port.readKmsg()).toEqual(['6,10,1000,-;y']);
		port.close();
		port.close();
	});

	it("this machine's /dev/kmsg: one record per read until EAGAIN, undefined when it cannot be opened", () => {
		let readable: boolean;
		try {
			closeSync(openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK));
			readable = true;
		} catch {
			readable = false;
		}

		const port = createHostPort('/');
		try {
			const backlog = port.readKmsg();
			if (!readable) {
				expect(backlog).toBeUndefined();
				return;
			}

			expect(backlog!.length).toBeGreaterThan(0);
			for (const record of backlog!) {
				expect(parseKmsgRecord(record)!.bootSeconds).not.toBeNull();
			}

			// The kept descriptor remembers its position: the next call returns only new records.
			expect(port.readKmsg()!.length).toBeLessThan(backlog!.length);
		} finally {
			port.close();
		}
	});
});
