/**
What runs on a fleet host, as the shell command line ssh hands to the remote shell: `klptop -b --json
-d S` for the stream, `klptop nudge|reverse|force ...` for an action. The command is `klptop` on the
remote PATH, `--remote-cmd` when given (a path, or a wrapper: it is a shell word list as typed), or
the copy `--push` made; `--sudo` puts `sudo -n` (never a prompt) in front of it.
*/

/** One shell word, quoted so the remote shell reads it back as it is. */
export function shellQuote(word: string): string {
	return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** One POSIX sh script whatever the login shell (csh, fish): `sh -c '...'`. */
export function posixShell(script: string): string {
	return `sh -c ${shellQuote(script)}`;
}

export type RemoteSpec = {
	/** `--remote-cmd`, as typed (shell words), or null for `klptop`. */
	readonly command: string | null;
	readonly sudo: boolean;
};

/** The command that starts klptop on a host: its own, or the one pushed there (`push.ts`). */
export function klptopCommand(spec: RemoteSpec, pushed: string | null): string {
	const base = pushed ?? spec.command ?? 'klptop';
	return spec.sudo ? `sudo -n ${base}` : base;
}

/**
The stream: `klptop -b --json -d S`, ended with its ssh channel. Without a tty sshd signals nothing
when the connection goes (the fleet quit or was killed, the network dropped), so a klptop that
writes rarely or hangs would outlive its viewer until a write met EPIPE. It runs in the background
of a POSIX shell whose watcher reads the channel's stdin, which the fleet's ssh holds open and never
writes: at EOF it sends klptop SIGTERM. The shell's status and stderr are klptop's; when klptop
ends by itself the watcher (a builtin loop, no process of its own) is ended with it.
*/
export function streamCommand(spec: RemoteSpec, pushed: string | null, delayS: number): string {
	const script = [
		'exec 3<&0',
		`${klptopCommand(spec, pushed)} -b --json -d ${delayS} </dev/null 3<&- & k=$!`,
		'{ while read -r _ <&3; do :; done; kill -TERM $k; } </dev/null >/dev/null 2>&1 & w=$!',
		'exec 3<&-',
		'wait $k; s=$?',
		'kill $w 2>/dev/null',
		'exit $s',
	].join('\n');
	return `exec ${posixShell(script)}`;
}

/** An action subcommand with its arguments (each quoted). */
export function actionCommand(spec: RemoteSpec, pushed: string | null, args: readonly string[]): string {
	return [klptopCommand(spec, pushed), ...args.map((arg) => shellQuote(arg))].join(' ');
}
