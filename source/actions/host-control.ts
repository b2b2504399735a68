/**
The real host's `ControlPort`: the only code in klptop that calls `process.kill` or writes to sysfs
on the machine it runs on. Only `createActionContext()` builds it, and only for the host's own `/`.

It is deliberately narrow, a second line of defence behind the guards:
- signals go to one positive PID (a 0 or negative PID would hit a process group or every process);
- writes go only to `/sys/kernel/livepatch/<patch>/enabled` or `force`, opened write-only without
  `O_CREAT` or `O_TRUNC`, so a vanished patch reads as ENOENT instead of creating a file.
Kernel errors surface unchanged as `FsError` codes (EBUSY, EINVAL, ENOENT, EPERM, ESRCH, ...).
*/
import fs from 'node:fs';
import path from 'node:path';
import {fsError} from '../sources/fs-port.js';
import type {ControlPort} from '../sources/fs-port.js';

const writable = /^\/sys\/kernel\/livepatch\/[^/]+\/(?:enabled|force)$/;

export function createHostControl(): ControlPort {
	return {
		async write(target, value) {
			const normal = path.posix.normalize(target);
			if (normal !== target || !writable.test(target) || target.includes('\0')) {
				throw fsError(
					'EINVAL',
					`klptop writes only /sys/kernel/livepatch/<patch>/{enabled,force}, not ${target}`,
				);
			}

			const fd = fs.openSync(target, fs.constants.O_WRONLY);
			try {
				fs.writeFileSync(fd, value);
			} finally {
				fs.closeSync(fd);
			}
		},
		async kill(pid, signal) {
			if (!Number.isSafeInteger(pid) || pid <= 0) {
				throw fsError('EINVAL', `refusing to signal pid ${pid}: only one positive PID at a time`);
			}

			process.kill(pid, signal);
		},
	};
}
