/**
The fleet screen on a terminal: the host dashboard's terminal handling (`runTerminal`: raw mode,
the alternate screen, the partial renderer, signals, the terminal given back), the fleet started
once the screen is up, and stopped afterwards however the screen ended (q, Ctrl-C, SIGTERM, a
dropped ssh session's SIGHUP): streams end, pushed copies are removed, ssh masters exit.
*/
import {useTerminalSize} from '../hooks/use-terminal-size.js';
import {runTerminal} from '../ui/run-dashboard.js';
import type {Theme} from '../views/theme.js';
import {FleetApp} from './app.js';
import type {FleetContext} from './fleet.js';

function Root(props: {readonly context: FleetContext; readonly theme: Theme; readonly onRedraw: () => void}) {
	const size = useTerminalSize();
	const {context} = props;
	return (
		<FleetApp
			fleet={context.fleet}
			delayS={context.delayS}
			readonlyReason={context.allowActions ? null : 'started without --allow-actions'}
			theme={props.theme}
			width={size.columns}
			height={size.rows}
			onRedraw={props.onRedraw}
		/>
	);
}

/** Signals that would end the process while the hosts are cleaned up. */
const cleanupSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function runFleetDashboard(context: FleetContext, theme: Theme): Promise<number> {
	// runTerminal's handlers end the screen on the first signal and are gone when it returns; a second
	// one (a closing terminal's SIGHUP after SIGTERM, another Ctrl-C) must not kill the process before
	// the stop below: pushed copies and ssh masters would be left. Its grace timer (15 s) bounds it.
	const hold = () => {};
	for (const signal of cleanupSignals) process.on(signal, hold);
	context.fleet.start();
	try {
		return await runTerminal({graceMs: 15_000}, ({onRedraw}) => (
			<Root context={context} theme={theme} onRedraw={onRedraw} />
		));
	} finally {
		await context.fleet.stop();
		for (const signal of cleanupSignals) process.off(signal, hold);
	}
}
