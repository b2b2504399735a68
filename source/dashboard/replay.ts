/**
Where a replay stands (`klptop --replay FILE`): which recorded poll is on screen, playing or not, how
fast. Pure: the App turns a new position into the history of that poll (the replay feed folds it)
and runs the play timer; the keys only move the position.
*/
import type {CommandId} from '../keymap.js';

export type ReplayPosition = {
	/** The recorded poll on screen (0-based). */
	readonly index: number;
	readonly count: number;
	readonly playing: boolean;
	/** Playback speed: 1, 2, 4, ... 64. */
	readonly speed: number;
	/** Polls that show an event worth jumping to (`[`, `]`), ascending. */
	readonly jumps: readonly number[];
};

export const maxSpeed = 64;

export function initialReplay(start: number, count: number, jumps: readonly number[]): ReplayPosition {
	return {index: Math.max(0, Math.min(count - 1, start)), count, playing: false, speed: 1, jumps};
}

/** The position after a replay key, plus the status line to show; null when `id` is no replay key. */
export function replayCommand(
	position: ReplayPosition,
	id: CommandId,
): {readonly position: ReplayPosition; readonly status: string} | null {
	const at = (index: number, status: string) => ({
		position: {...position, index: Math.max(0, Math.min(position.count - 1, index)), playing: false},
		status,
	});
	const last = position.count - 1;
	switch (id) {
		case 'replay-play': {
			if (position.playing) return {position: {...position, playing: false}, status: 'replay paused'};
			// Play from the start again once at the end, like a media player.
			const index = position.index >= last ? 0 : position.index;
			return {position: {...position, index, playing: true}, status: `playing at ${position.speed}x`};
		}

		case 'replay-back':
			return at(position.index - 1, position.index === 0 ? 'at the first recorded poll' : 'one poll back');
		case 'replay-forward':
			return at(
				position.index + 1,
				position.index >= last ? 'at the last recorded poll' : 'one poll forward',
			);
		case 'replay-previous-event': {
			const index = position.jumps.findLast((jump) => jump < position.index);
			return index === undefined ? at(0, 'no earlier event: at the first poll') : at(index, 'previous event');
		}

		case 'replay-next-event': {
			const index = position.jumps.find((jump) => jump > position.index);
			return index === undefined ? at(last, 'no later event: at the last poll') : at(index, 'next event');
		}

		case 'replay-faster':
		case 'replay-slower': {
			const speed =
				id === 'replay-faster' ? Math.min(maxSpeed, position.speed * 2) : Math.max(1, position.speed / 2);
			return {position: {...position, speed}, status: `replay speed ${speed}x`};
		}

		default:
			return null;
	}
}

/** One poll on while playing; playing stops at the last one. */
export function replayTick(position: ReplayPosition): ReplayPosition {
	if (!position.playing) return position;
	const index = Math.min(position.count - 1, position.index + 1);
	return {...position, index, playing: index < position.count - 1};
}

/**
Real milliseconds to wait before showing the next poll while playing: the recorded interval divided
by the speed, at most a second (an idle stretch recorded once a minute is not sat through), at
least 20 ms.
*/
export function replayDelayMs(recordedMs: number, speed: number): number {
	return Math.max(20, Math.min(1000, recordedMs / speed));
}
