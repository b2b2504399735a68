/** Disk mirror of the emulated tree (placeholder until the full mirror lands). */
import type {Emulation} from './index.js';

export type DiskMirror = {sync(): void; close(): Promise<void>};

export async function mirrorToDisk(_emulation: Emulation, _dir: string): Promise<DiskMirror> {
	throw new Error('mirrorToDisk: not implemented yet');
}

export function writeTreeOnce(_emulation: Emulation, _dir: string): void {
	throw new Error('writeTreeOnce: not implemented yet');
}
