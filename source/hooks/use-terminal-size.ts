import {useEffect, useState} from 'react';
import {useStdout} from 'ink';

export type TerminalSize = {readonly columns: number; readonly rows: number};

/**
The terminal's size, kept current on `resize`. Read from Ink's stdout (not `process.stdout`) so
tests can inject a stream; modelled on Ink 7's `useWindowSize`, which Ink 6.8 lacks. Measured once
at the top of the tree and passed down as props: views never call this.
*/
export function useTerminalSize(): TerminalSize {
	const {stdout} = useStdout();
	const read = (): TerminalSize => ({columns: stdout.columns || 80, rows: stdout.rows || 24});
	const [size, setSize] = useState(read);
	useEffect(() => {
		const onResize = () => {
			setSize({columns: stdout.columns || 80, rows: stdout.rows || 24});
		};

		stdout.on('resize', onResize);
		return () => {
			stdout.off('resize', onResize);
		};
	}, [stdout]);
	return size;
}
