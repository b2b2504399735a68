/**
The help screen (`h`, `?`): every binding of the key map by category, generated from the same
table the input handler matches against, plus a short legend of the columns. Keys that do not
apply on the screen help was opened from are still listed; disabled ones say why.
*/
import {Box} from 'ink';
import type {KeyContext} from '../keymap.js';
import {helpLines} from './help-lines.js';
import {Lines, Title} from './line.js';
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
	const lines = helpLines(context, theme);
	const top = Math.max(0, Math.min(scroll, lines.length - height));
	const shown = lines.slice(top, top + height);
	const more = top + height < lines.length ? `${lines.length - top - height} more lines below` : '';
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text="Help: every key (Esc goes back)" width={width} theme={theme} focused right={more} />
			<Lines lines={shown.map((segments) => ({segments}))} width={width} theme={theme} />
		</Box>
	);
}
