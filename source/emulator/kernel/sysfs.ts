/**
write(2) to the files of the emulated world that take writes: livepatch's sysfs attributes
(core.c enabled_store, force_store, and signal_store of 4.16-5.0) and the klp_sleeper module's
`/proc/klp_sleeper_ctl`. Errors are thrown as the kernel returns them (ENOENT, EACCES, EINVAL,
EBUSY); a write that waits for klp_mutex returns 'queued'.
*/
import {fsError, type FsError} from '../../sources/fs-port.js';
import {enabledStore, forceStore, signalStore} from './core.js';
import {findPatch} from './patches.js';
import {release} from './sched.js';
import type {KernelState} from './state.js';

/** kstrtobool() (lib/kstrtox.c): `trueFalse` is whether the generation also takes t/T/f/F. */
export function kstrtobool(value: string, trueFalse: boolean): boolean {
	const first = value[0];
	const second = value[1]?.toLowerCase();
	switch (first) {
		case '1':
		case 'y':
		case 'Y': {
			return true;
		}

		case '0':
		case 'n':
		case 'N': {
			return false;
		}

		case 'o':
		case 'O': {
			if (second === 'n') {
				return true;
			}

			if (second === 'f') {
				return false;
			}

			break;
		}

		case 't':
		case 'T': {
			if (trueFalse) {
				return true;
			}

			break;
		}

		case 'f':
		case 'F': {
			if (trueFalse) {
				return false;
			}

			break;
		}
	}

	throw fsError('EINVAL', 'Invalid argument');
}

/**
A write(2) to a file of the emulated world by a process with `uid`. Sysfs attributes of
livepatch and `/proc/klp_sleeper_ctl` are writable; errors are thrown as the kernel returns them.
Returns 'queued' when the write waits for klp_mutex (a completion in progress); `onQueued` then
learns the outcome.
*/
export function write(
	k: KernelState,
	path: string,
	value: string,
	uid = 0,
	onQueued?: (error: FsError | null) => void,
): 'done' | 'queued' {
	if (path === '/proc/klp_sleeper_ctl') {
		writeSleeperCtl(k, path, value, uid);
		return 'done';
	}

	const match = /^\/sys\/kernel\/livepatch\/([^/]+)\/([^/]+)$/.exec(path);
	const patch = match ? findPatch(k, match[1]!) : undefined;
	if (!match || !patch) {
		throw fsError('ENOENT', `${path}: No such file or directory`);
	}

	const attribute = match[2]!;
	const writable =
		attribute === 'enabled' ||
		(attribute === 'force' && k.features.forceFile) ||
		(attribute === 'signal' && k.features.signalFile);
	const exists =
		writable ||
		attribute === 'transition' ||
		(attribute === 'replace' && k.features.replaceAttr) ||
		(attribute === 'stack_order' && k.features.stackOrderAttr) ||
		patch.objects.some((object) => object.name === attribute);
	if (!exists) {
		throw fsError('ENOENT', `${path}: No such file or directory`);
	}

	if (!writable || uid !== 0) {
		throw fsError('EACCES', `${path}: Permission denied`);
	}

	const parsed = kstrtobool(value, k.features.boolTrueFalse);
	if (attribute !== 'enabled' && !parsed) {
		return 'done';
	}

	const result = k.mutex.run(() => {
		if (patch.freed) {
			throw fsError('ENOENT', `${path}: No such file or directory`);
		}

		switch (attribute) {
			case 'enabled': {
				enabledStore(k, patch, parsed);
				break;
			}

			case 'force': {
				forceStore(k, patch);
				break;
			}

			default: {
				signalStore(k, patch);
			}
		}
	}, onQueued);
	return result;
}

/** `echo release > /proc/klp_sleeper_ctl`: root only, while the module is loaded. */
function writeSleeperCtl(k: KernelState, path: string, value: string, uid: number): void {
	if (!k.modules.has('klp_sleeper')) {
		throw fsError('ENOENT', `${path}: No such file or directory`);
	}

	if (uid !== 0) {
		throw fsError('EACCES', `${path}: Permission denied`);
	}

	if (value.trim() !== 'release') {
		throw fsError('EINVAL', `${path}: Invalid argument`);
	}

	release(k, 'klp_sleeper');
}
