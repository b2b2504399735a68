/**
What a screen's state asks of the terminal, shared by the dashboard and the fleet screen: quit when
`quit` is set, and a full repaint (`onRedraw`: the frame writer clears and paints every line) each
time `redraws` counts up (Ctrl-L, a resize).
*/
import {useEffect, useRef} from 'react';

export function useScreenRequests(
	{quit, redraws}: {readonly quit: boolean; readonly redraws: number},
	exit: () => void,
	onRedraw: (() => void) | undefined,
): void {
	useEffect(() => {
		if (quit) exit();
	}, [quit, exit]);

	const seen = useRef(redraws);
	useEffect(() => {
		if (redraws !== seen.current) {
			seen.current = redraws;
			onRedraw?.();
		}
	}, [redraws, onRedraw]);
}
