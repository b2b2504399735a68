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

export async function runFleetDashboard(context: FleetContext, theme: Theme): Promise<number> {
	context.fleet.start();
	try {
		// A signal leaves time to clean up the hosts (the fleet's stop below) before the process ends.
		return await runTerminal({graceMs: 15_000}, ({onRedraw}) => (
			<Root context={context} theme={theme} onRedraw={onRedraw} />
		));
	} finally {
		await context.fleet.stop();
	}
}
