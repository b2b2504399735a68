/**
htop's function keys (F1 help, F3 search, F10 quit) as key names. Ink's `useInput` hands them over
as an empty input with no flag set, so they cannot be told apart there: this hook reads the same
key sequences from Ink's input events (one key per event) and names the function keys.
*/
import {useStdin} from 'ink';
import {useEffect, useRef} from 'react';

/** xterm (SS3 and CSI ~), the Linux console (`ESC [ [ A`) and rxvt spellings. */
const sequences: Readonly<Record<string, string>> = {
	'\u001BOP': 'f1',
	'\u001B[11~': 'f1',
	'\u001B[[A': 'f1',
	'\u001BOR': 'f3',
	'\u001B[13~': 'f3',
	'\u001B[[C': 'f3',
	'\u001B[21~': 'f10',
};

/** The name of a function key's sequence, or null. */
export function functionKeyName(data: string): string | null {
	return sequences[data] ?? null;
}

export function useFunctionKeys(onKey: (name: string) => void): void {
	const {internal_eventEmitter: emitter} = useStdin();
	const handler = useRef(onKey);
	handler.current = onKey;
	useEffect(() => {
		const listen = (data: string) => {
			const name = functionKeyName(data);
			if (name !== null) handler.current(name);
		};

		emitter?.on('input', listen);
		return () => {
			emitter?.removeListener('input', listen);
		};
	}, [emitter]);
}
