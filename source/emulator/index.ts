/**
The emulator's public side, one barrel: the emulation handle (emulation.ts: a scenario on an
emulated kernel, its read and control ports, the virtual clock, the real-time driver), the kernel
itself (kernel.ts), the procfs/sysfs views (procfs.ts), the base world (world.ts) and the disk
mirror (mirror.ts). Nothing inside source/emulator imports this file.

```ts
const emulation = createEmulation('stuck-interruptible', {seed: 7});
emulation.port.readFile('/sys/kernel/livepatch/klp_sleeper_patch/transition'); // '1\n'
emulation.advance(16_000); // the fake signal round frees cat 182
```
*/
export {EmulatedKernel, featuresOf, kernelGenerations, PF_KTHREAD} from './kernel.js';
export type {
	Features,
	KernelGeneration,
	KPatch,
	LogRecord,
	PatchSpec,
	Program,
	Site,
	SleepMode,
	SpawnOptions,
	Task,
} from './kernel.js';
export {createControl, createPort} from './port.js';
export {renderKmsg} from './procfs.js';
export {patchCatalog, sites, sleepSite, spawnReader, spawnSleeperKthread} from './world.js';
export {MirrorDirError, mirrorToDisk, writeTreeOnce, type DiskMirror} from './mirror.js';
export {
	createEmulation,
	listScenarios,
	startRealtime,
	type Emulation,
	type EmulationOptions,
} from './emulation.js';
