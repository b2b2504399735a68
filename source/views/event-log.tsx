/**
The event log pane: what happened, newest at the bottom (transition started, completed, reversed,
forced, fake-signal rounds, patches appearing and disappearing, kernel log lines, and the actions
once issue #4 lands). Scrolls back when focused.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {HistoryEvent, HistoryEventKind} from '../model/types.js';
import {formatClock} from './format.js';
import {Line, Lines, Title} from './line.js';
import type {Theme} from './theme.js';

export type EventLogProps = {
	readonly events: readonly HistoryEvent[];
	/** Events scrolled back from the newest. */
	readonly scroll: number;
	/** Lines under the title. */
	readonly height: number;
	readonly width: number;
	readonly focused: boolean;
	readonly theme: Theme;
};

const kindColor: Readonly<Partial<Record<HistoryEventKind, string>>> = {
	'transition-started': 'yellow',
	'transition-completed': 'green',
	'transition-reversed': 'magenta',
	'transition-forced': 'red',
	'fake-signal': 'yellow',
	'patch-appeared': 'cyan',
	'patch-disappeared': 'cyan',
	action: 'blue',
	warning: 'red',
};

export function EventLog({events, scroll, height, width, focused, theme}: EventLogProps) {
	const end = Math.max(0, events.length - scroll);
	const start = Math.max(0, end - height);
	const shown = events.slice(start, end);
	const position = scroll > 0 ? `${scroll} newer below` : '';
	return (
		<Box flexDirection="column" width={width} height={height + 1}>
			<Title
				text={`Events ${events.length}`}
				width={width}
				theme={theme}
				focused={focused}
				right={position}
			/>
			{shown.length === 0 ? (
				<Line width={width} theme={theme} segments={[{text: '  nothing happened yet', dim: true}]} />
			) : (
				<Lines
					lines={shown.map((event) => ({
						segments: [
							{text: `  ${formatClock(event.time)} `, dim: true},
							// The same line again and again (a task's "is sleeping on" every second): counted,
							// before the text so that a narrow terminal does not cut the count off.
							{text: event.repeats === undefined ? '' : `x${event.repeats} `, bold: true},
							{
								text: clean(event.text),
								color: kindColor[event.kind],
								dim: event.kind === 'kernel-log' || event.kind === 'thread-switched',
							},
						],
					}))}
					width={width}
					theme={theme}
				/>
			)}
		</Box>
	);
}
