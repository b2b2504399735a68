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
	const [size, setSize] = useState(() => sizeOf(stdout));
	useEffect(() => {
		const onResize = () => {
			setSize(sizeOf(stdout));
		};

		stdout.on('resize', onResize);
		return () => {
			stdout.off('resize', onResize);
		};
	}, [stdout]);
	return size;
}

/** The dashboard's stream tells the terminal's width apart from the one Ink lays frames out in. */
function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
	const columns = (stdout as {terminalColumns?: number}).terminalColumns ?? stdout.columns;
	return {columns: columns || 80, rows: stdout.rows || 24};
}
