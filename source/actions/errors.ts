/**
Kernel errors in plain words. The same codes come from the real kernel (through Node's fs and
process.kill) and from the emulator (which throws them as `FsError`s), so one table serves both.
*/
import {errorCode} from '../sources/fs-port.js';

export type ErrorSituation =
	| 'nudge'
	| 'reverse'
	| 'force'
	| 'disable'
	/** Writing 1 to a patch that is disabled (not in transition): >= 5.1 refuses it. */
	| 'enable-disabled'
	/** Writing 1 to a patch that is already enabled. */
	| 'enable-enabled';

export function explainError(error: unknown, situation: ErrorSituation): string {
	const code = errorCode(error);
	switch (code) {
		case 'EBUSY': {
			return 'EBUSY: another transition is running (the kernel runs one at a time); wait for it to finish or reverse it first';
		}

		case 'EINVAL': {
			return einval(situation);
		}

		case 'ENOENT': {
			return situation === 'nudge'
				? 'ENOENT: the task has exited'
				: 'ENOENT: the patch is gone (its sysfs directory no longer exists; it was unloaded)';
		}

		case 'EACCES':
		case 'EPERM': {
			return `${code}: permission denied; this needs root`;
		}

		case 'ESRCH': {
			return 'ESRCH: the task has exited';
		}

		case 'EROFS': {
			return 'EROFS: this tree is read-only';
		}

		default: {
			const message = error instanceof Error ? error.message : String(error);
			return message.startsWith(code) ? message : `${code}: ${message}`;
		}
	}
}

function einval(situation: ErrorSituation): string {
	switch (situation) {
		case 'force': {
			return 'EINVAL: there is no transition of this patch to force (it has ended meanwhile)';
		}

		case 'reverse': {
			return 'EINVAL: the patch is already in that state (the transition ended or was reversed meanwhile)';
		}

		case 'enable-disabled': {
			return (
				'EINVAL: this kernel does not allow re-enabling a disabled patch (kernels 5.1 and later); ' +
				'load the patch module again instead'
			);
		}

		case 'enable-enabled':
		case 'disable': {
			return 'EINVAL: the patch is already in that state';
		}

		case 'nudge': {
			return 'EINVAL: the kernel refused the signal';
		}
	}
}
