/**
Where the benchmarks find the build and keep their work: the checkout's `dist/` (or KLPTOP_DIST, another
build), and KLPTOP_BENCH_DIR (default /tmp/klptop-bench), where the emulated trees are cached between runs.
*/
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(benchDir, '..');
export const dist = path.resolve(process.env.KLPTOP_DIST ?? path.join(repo, 'dist'));
export const work = path.resolve(process.env.KLPTOP_BENCH_DIR ?? '/tmp/klptop-bench');
