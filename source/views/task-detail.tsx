/**
The detail of one thread (Enter on a task row): who it is, where it sits, why the transition
waits for it and what can help, in plain words (`explainBlocker`), then its full kernel stack with
the frame that matched a patched function highlighted.

The view keeps showing the thread after it stopped blocking (switched or exited), saying so, so the
screen never jumps away under the reader.
*/
import {Box} from 'ink';
import type {History} from '../model/types.js';
import type {Detail} from '../ui/state.js';
import {detailLines} from './detail-lines.js';
import {Lines, Title} from './line.js';
import type {Theme} from './theme.js';

export type TaskDetailProps = {
	readonly detail: Detail;
	readonly history: History | null;
	readonly scroll: number;
	/** Body lines available. */
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
};

export function TaskDetail({detail, history, scroll, height, width, theme}: TaskDetailProps) {
	const lines = detailLines(detail, history, width, theme);
	const top = Math.max(0, Math.min(scroll, lines.length - height));
	const shown = lines.slice(top, top + height);
	const more = top + height < lines.length ? `${lines.length - top - height} more lines below` : '';
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text={`Thread ${detail.thread.tid}`} width={width} theme={theme} focused right={more} />
			<Lines lines={shown.map((segments) => ({segments}))} width={width} theme={theme} />
		</Box>
	);
}
