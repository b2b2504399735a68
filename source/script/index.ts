/** The script modes, for `source/cli/main.ts`: batch, wait, export, capture. */
export {runBatch} from './batch.js';
export type {BatchOptions} from './batch.js';
export {runWait} from './wait.js';
export type {WaitOptions} from './wait.js';
export {runExport} from './export.js';
export type {ExportOptions} from './export.js';
export {runCapture, defaultCaptureName} from './capture.js';
export type {CaptureRunOptions} from './capture.js';
export {abortOnSignals} from './common.js';
export type {ScriptIo, ScriptSource} from './common.js';
