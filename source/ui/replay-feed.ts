/**
The dashboard's feed for a recording (`klptop --replay FILE`): beside the live feeds of
`cli/main.ts` (host, tree, emulator), with the same `Feed` shape. It never polls anything: its
`replay` control hands the App the history of whichever recorded poll is on screen, folded from the
recording exactly as it was folded live (`record/replay.ts`). Nothing can be acted on: it is a
recording.
*/
import type {Replay} from '../record/replay.js';
import type {Feed} from './feed.js';

export function createReplayFeed(replay: Replay, start: number): Feed {
	const {recording} = replay;
	return {
		source: recording.header.source,
		poll: () => replay.snapshotAt(start),
		actions: null,
		replay: {
			host: recording.header.host,
			count: replay.count,
			start,
			jumps: [...new Set(replay.jumps.map((jump) => jump.index))],
			timeAt: (index) => replay.timeAt(index),
			historyAt: (index) => replay.historyAt(index),
			warning: recording.warnings.length > 0 ? recording.warnings.join('; ') : null,
		},
	};
}
