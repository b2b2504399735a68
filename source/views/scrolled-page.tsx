/**
A full-screen page of lines under a title (help, a thread's detail): scrolled to `scroll` within
its length, with the count of lines left below on the title's right.
*/
import {Box} from 'ink';
import {Lines, Title} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';

export type ScrolledPageProps = {
	readonly title: string;
	readonly lines: readonly Segment[][];
	readonly scroll: number;
	/** Body lines available. */
	readonly height: number;
	readonly width: number;
	readonly theme: Theme;
};

export function ScrolledPage({title, lines, scroll, height, width, theme}: ScrolledPageProps) {
	const top = Math.max(0, Math.min(scroll, lines.length - height));
	const shown = lines.slice(top, top + height);
	const more = top + height < lines.length ? `${lines.length - top - height} more lines below` : '';
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title text={title} width={width} theme={theme} focused right={more} />
			<Lines lines={shown.map((segments) => ({segments}))} width={width} theme={theme} />
		</Box>
	);
}
