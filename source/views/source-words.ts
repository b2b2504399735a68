/**
How the header names a source, in a file of its own without Ink: the first frame drawn before the
dashboard's modules load (`ui/splash.ts`) says it too.
*/
import {clean} from '../model/sanitize.js';
import type {SourceInfo} from '../model/types.js';

/** How the header names a source: `host NAME`, `tree DIR`, `capture FILE taken TIME`, `emulator SCENARIO` (never mistaken for this host). */
export function sourceWords(source: SourceInfo | null, hostname: string): string {
	if (source === null) return 'no source';
	switch (source.kind) {
		case 'host':
			return `host ${clean(hostname)}`;
		case 'tree':
			return source.capturedAt === undefined
				? `tree ${clean(source.root ?? '?')}`
				: `capture ${clean(source.root ?? '?')} taken ${new Date(source.capturedAt)
						.toISOString()
						.replace('T', ' ')
						.replace(/\.\d+Z$/, 'Z')}`;
		case 'emulator':
			return `emulator ${clean(source.scenario ?? '?')}`;
	}
}
