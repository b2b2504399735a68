/**
The help screen (`h`, `?`): every binding of the key map by category, generated from the same
table the input handler matches against, plus a short legend of the columns. Keys that do not
apply on the screen help was opened from are still listed; disabled ones say why.
*/
import type {KeyContext} from '../keymap.js';
import {helpLines} from './help-lines.js';
import {ScrolledPage} from './scrolled-page.js';
import type {Theme} from './theme.js';

export type HelpScreenProps = {
	readonly context: KeyContext;
	readonly scroll: number;
	/** Body lines available. */
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
};

export function HelpScreen({context, scroll, height, width, theme}: HelpScreenProps) {
	return (
		<ScrolledPage
			title="Help: every key (Esc goes back)"
			lines={helpLines(context, theme)}
			scroll={scroll}
			height={height}
			width={width}
			theme={theme}
		/>
	);
}
