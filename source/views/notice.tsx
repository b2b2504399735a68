/**
Full-screen notices: the terminal is too small, or the source has no livepatch support. Plain
lines, cut to the width and never taller than the frame.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {SourceInfo} from '../model/types.js';
import {wrapText} from './format.js';
import {Line} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';

export function TooSmall({
	width,
	height,
	minWidth,
	minHeight,
	theme,
}: {
	readonly width: number;
	readonly height: number;
	readonly minWidth: number;
	readonly minHeight: number;
	readonly theme: Theme;
}) {
	const lines = [`terminal too small: need ${minWidth}x${minHeight}`, `(now ${width}x${height}; q quits)`];
	// At a tiny height keep only what fits: the frame must never be taller than the terminal.
	const rows = Math.max(1, height);
	return (
		<Box flexDirection="column" width={width}>
			{lines.slice(0, rows).map((text) => (
				<Line key={text} width={width} theme={theme} segments={[{text, bold: true}]} />
			))}
		</Box>
	);
}

export function NoLivepatch({
	source,
	release,
	width,
	height,
	theme,
}: {
	readonly source: SourceInfo | null;
	readonly release: string | null;
	readonly width: number;
	readonly height: number;
	readonly theme: Theme;
}) {
	const where =
		source === null || source.kind === 'host'
			? 'This machine'
			: source.kind === 'tree'
				? `The tree ${clean(source.root ?? '?')}`
				: `The emulator (${clean(source.scenario ?? '?')})`;
	const kernel = release === null ? '' : ` (kernel ${clean(release)})`;
	const paragraphs: Array<{text: string; style?: Omit<Segment, 'text'>}> = [
		{text: `${where}${kernel} has no /sys/kernel/livepatch.`, style: {bold: true}},
		{
			text: 'The kernel was built without CONFIG_LIVEPATCH, or sysfs is not mounted there: there is no live patch and no transition to watch.',
		},
		{text: ''},
		{
			text: "Press e to open klptop's built-in emulator instead: an emulated kernel (clearly labelled as such) with a transition stuck on a sleeping task.",
			style: {color: 'cyan', bold: true},
		},
		{text: 'Press q to quit.'},
	];
	const lines: Segment[][] = [];
	for (const paragraph of paragraphs) {
		if (paragraph.text === '') {
			lines.push([{text: ' '}]);
			continue;
		}

		for (const line of wrapText(paragraph.text, Math.max(10, width - 4))) {
			lines.push([{text: `  ${line}`, ...paragraph.style}]);
		}
	}

	return (
		<Box flexDirection="column" width={width}>
			<Line width={width} theme={theme} segments={[{text: 'klptop', bold: true}]} />
			{lines.slice(0, Math.max(0, height - 2)).map((segments, i) => (
				<Line key={i} width={width} theme={theme} segments={segments} />
			))}
		</Box>
	);
}
