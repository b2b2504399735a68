/**
The detail of one thread (Enter on a task row): who it is, where it sits, why the transition
waits for it and what can help, in plain words (`explainBlocker`), then its full kernel stack with
the frame that matched a patched function highlighted.

The view keeps showing the thread after it stopped blocking (switched or exited), saying so, so the
screen never jumps away under the reader.
*/
import type {History} from '../model/types.js';
import type {Detail} from '../dashboard/state.js';
import {detailLines} from './detail-lines.js';
import {ScrolledPage} from './scrolled-page.js';
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
	return (
		<ScrolledPage
			title={`Thread ${detail.thread.tid}`}
			lines={detailLines(detail, history, width, theme)}
			scroll={scroll}
			height={height}
			width={width}
			theme={theme}
		/>
	);
}
