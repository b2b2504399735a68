/**
klp_mutex (source/emulator/kernel/klp-mutex.ts): free, an operation runs at once; held, it waits and
learns its outcome when the holder releases; waiters run in order until one takes the mutex again.
*/
import {describe, expect, it} from 'vitest';
import {KlpMutex} from '../../../source/emulator/kernel/klp-mutex.js';
import {fsError, type FsError} from '../../../source/sources/fs-port.js';

describe('KlpMutex', () => {
	it('runs an operation at once while nobody holds it', () => {
		const mutex = new KlpMutex();
		const ran: string[] = [];
		expect(mutex.run(() => ran.push('write'))).toBe('done');
		expect(ran).toEqual(['write']);
		expect(mutex.busy).toBe(false);
	});

	it('queues behind a holder and reports each outcome when it releases', () => {
		const mutex = new KlpMutex();
		mutex.hold(1_000_000);
		const outcomes: Array<string | null> = [];
		const report = (error: FsError | null) => outcomes.push(error ? error.code : null);
		expect(mutex.run(() => outcomes.push('first ran'), report)).toBe('queued');
		expect(
			mutex.run(() => {
				throw fsError('EBUSY', 'Device or resource busy');
			}, report),
		).toBe('queued');
		expect(outcomes).toEqual([]);
		mutex.release();
		expect(outcomes).toEqual(['first ran', null, 'EBUSY']);
		expect(mutex.busy).toBe(false);
	});

	it('stops running waiters when one of them takes the mutex again', () => {
		const mutex = new KlpMutex();
		mutex.hold(1);
		const ran: string[] = [];
		mutex.run(() => {
			ran.push('completion');
			mutex.hold(2);
		});
		mutex.run(() => ran.push('next write'));
		mutex.release();
		expect(ran).toEqual(['completion']);
		expect(mutex.busy).toBe(true);
		mutex.release();
		expect(ran).toEqual(['completion', 'next write']);
	});

	it('can be dropped without running the waiters', () => {
		const mutex = new KlpMutex();
		mutex.hold(1);
		const ran: string[] = [];
		mutex.run(() => ran.push('write'));
		mutex.drop();
		expect(mutex.busy).toBe(false);
		expect(ran).toEqual([]);
		mutex.release();
		expect(ran).toEqual(['write']);
	});
});
