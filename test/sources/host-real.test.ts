import {readdirSync, readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {createHostPort} from '../../source/sources/host-port.js';
import {createReader} from '../../source/sources/reader.js';

const source = {kind: 'host', root: '/', scenario: null} as const;

describe('reader against this machine', () => {
	it('sees no livepatch, the kernel release and every thread of this process', () => {
		const port = createHostPort('/');
		try {
			// Our own thread list must not change while we look (libuv starts threads lazily): retry then.
			const ownTask = () =>
				readdirSync('/proc/self/task')
					.map(Number)
					.sort((a, b) => a - b);
			let ownTids: number[] = [];
			let snapshot = createReader(port, source, {kernelLog: false}).scan({threads: 'all'});
			for (let attempt = 0; attempt < 5; attempt++) {
				ownTids = ownTask();
				snapshot = createReader(port, source, {kernelLog: false}).scan({threads: 'all'});
				if (ownTask().join() === ownTids.join()) {
					break;
				}
			}

			expect(snapshot.kernel.livepatch).toBe(false);
			expect(snapshot.kernel.release).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
			expect(snapshot.patches).toEqual([]);
			expect(snapshot.transition).toBeNull();
			expect(snapshot.blockers).toEqual([]);
			expect(snapshot.privileges.root).toBe(process.geteuid!() === 0);
			const seen = snapshot
				.threads!.filter((thread) => thread.tgid === process.pid)
				.map((thread) => thread.tid)
				.sort((a, b) => a - b);
			expect(seen).toEqual(ownTids);
			const self = snapshot.threads!.find((thread) => thread.tid === process.pid)!;
			expect(self.comm).toBe(readFileSync('/proc/self/comm', 'utf8').trimEnd());
			expect(self.ppid).toBe(process.ppid);
			expect(self.kthread).toBe(false);
			expect(snapshot.tasks.total).toBe(snapshot.threads!.length);
			// Boot time to the hundredth of a second: within btime's second, where uptime puts it.
			const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]) * 1000;
			const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
			expect(snapshot.kernel.bootTime).toBeGreaterThanOrEqual(btime - 50);
			expect(snapshot.kernel.bootTime).toBeLessThan(btime + 1050);
			expect(Math.abs(snapshot.kernel.bootTime! - (Date.now() - uptime))).toBeLessThan(100);
			// No livepatch: patch_state was not read.
			expect(self.patchState).toBeNull();
		} finally {
			port.close();
		}
	});
});
