/**
`klptop fleet ...` from the command line: the hosts (`inventory.ts`), ssh (`ssh.ts`), the remote
command (`remote.ts`), `--push`'s copies (`push.ts`), then one of three front ends on the same
fleet: the screen (a terminal), `--once` (a picture, also when stdout is no terminal), `wait`.
*/
import {UsageError} from '../cli/flags.js';
import type {Flags} from '../cli/flags.js';
import type {ScriptIo} from '../script/common.js';
import {createFleet} from './fleet.js';
import type {FleetContext} from './fleet.js';
import {readInventory} from './inventory.js';
import {locateArtifacts} from './push.js';
import {runFleetOnce, runFleetWait} from './script.js';
import {createSshTransport, defaultSshSettings} from './ssh.js';
import type {Transport} from './ssh.js';
import {importWithoutFetch} from '../ui/load-ui.js';

export type FleetIo = ScriptIo & {
	readonly stdout: NodeJS.WriteStream;
	readonly stderr: NodeJS.WriteStream;
};

/** `--ssh-option` as ssh takes it after `-o`: `Key=Value` (or `Key Value`). */
function checkSshOption(option: string): string {
	if (!/^[A-Za-z][A-Za-z0-9]*(=|\s)/.test(option)) {
		throw new UsageError(
			`--ssh-option takes Key=Value, as ssh -o does (got '${option.replaceAll(/[^\x20-\x7E]/g, '?')}')`,
		);
	}

	return option;
}

/** Everything but the front end: validated flags, the transport and the fleet (not started). */
export function openFleet(names: readonly string[], flags: Flags, transport?: Transport): FleetContext {
	const hosts = readInventory(names, flags.hosts);
	const delayS = flags.delay ?? 1;
	if (!(delayS >= 0.1 && delayS <= 3600)) throw new UsageError('--delay takes seconds between 0.1 and 3600');
	const jobs = flags.jobs ?? 32;
	if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 4096))
		throw new UsageError('-j takes a whole number from 1 to 4096');
	const options = (flags.sshOption ?? []).map((option) => checkSshOption(option));
	const push = flags.push ? locateArtifacts() : null;
	if (push !== null && push.bundle === null && push.executable === null) {
		throw new UsageError(
			'--push has nothing to copy: build the single-file bundle (npm run bundle) or the executable (npm run sea)',
		);
	}

	const settings = {...defaultSshSettings, configFile: flags.sshConfig ?? null, options};
	const fleet = createFleet({
		hosts,
		transport: transport ?? createSshTransport(settings),
		remote: {command: flags.remoteCmd ?? null, sudo: flags.sudo ?? false},
		delayS,
		jobs,
		push,
		connectTimeoutS: settings.connectTimeoutS,
	});
	return {fleet, delayS, allowActions: flags.allowActions ?? false};
}

/** `klptop fleet [wait [PATCH]] [HOST...]`. */
export async function runFleet(
	rest: readonly string[],
	flags: Flags,
	io: FleetIo,
	withAbort: (run: (signal: AbortSignal) => Promise<number>) => Promise<number>,
): Promise<number> {
	const waiting = rest[0] === 'wait';
	// `fleet wait [PATCH [HOST...]]`: after `wait` comes the patch, so hosts usually come from --hosts.
	const names = waiting ? rest.slice(2) : rest;
	const context = openFleet(names, flags);
	const now = () => Date.now();
	const settleS = 10 + 3 * context.delayS + 2;
	if (waiting) {
		return withAbort(async (signal) =>
			runFleetWait(
				{
					fleet: context.fleet,
					now,
					signal,
					patch: rest[1] ?? null,
					timeoutS: flags.timeout ?? null,
					json: flags.json,
					settleS,
				},
				io,
			),
		);
	}

	if (flags.once || !io.stdout.isTTY) {
		return withAbort(async (signal) =>
			runFleetOnce(
				{
					fleet: context.fleet,
					now,
					signal,
					json: flags.json,
					timeoutS: flags.timeout ?? settleS,
					width: io.stdout.isTTY ? io.stdout.columns : 120,
				},
				io,
			),
		);
	}

	process.env['NODE_ENV'] ??= 'production';
	const {runFleetDashboard} = await importWithoutFetch(async () => import('./run-screen.js'));
	return runFleetDashboard(context, {color: flags.color && !process.env['NO_COLOR'], ascii: flags.ascii});
}
