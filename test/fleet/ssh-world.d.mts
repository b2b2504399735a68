// Types of ssh-world.mjs (plain JavaScript: scripts/readme-screenshot.mjs uses it without a build).

export declare const fleetUser: string;

/** What a "host" is, behind its alias. */
export type HostKind =
	| {
			readonly kind: 'tree';
			readonly scenario: string;
			readonly kernel?: string;
			readonly user?: 'root' | 'fleet';
	  }
	/** A kernel without CONFIG_LIVEPATCH. */
	| {readonly kind: 'no-livepatch'}
	/** One document, then silence with the connection up. */
	| {readonly kind: 'stall'; readonly scenario: string}
	/** Lines that are no klptop document (with escape sequences in them). */
	| {readonly kind: 'garbage'}
	/** A klptop that fails at once (status 3). */
	| {readonly kind: 'exits'}
	/** No klptop on the PATH. */
	| {readonly kind: 'no-klptop'}
	/** A port nothing listens on. */
	| {readonly kind: 'unreachable'}
	/** An address missing from known_hosts. */
	| {readonly kind: 'unknown-key'}
	/** A client key the server does not know. */
	| {readonly kind: 'auth-fail'};

export type FleetWorld = {
	readonly dir: string;
	/** The generated ssh_config, for `ssh -F` (`--ssh-config`). */
	readonly sshConfig: string;
	/** Aliases in the order given. */
	readonly aliases: readonly string[];
	/** The emulated tree behind an alias, when it has one. */
	readonly trees: ReadonlyMap<string, string>;
	/** A host list file with the given aliases. */
	hostsFile(name: string, aliases: readonly string[]): string;
	/** Flags every fleet command of the tests takes. */
	readonly flags: readonly string[];
	/** Stop sshd and the emulators, remove the directory. */
	stop(): Promise<void>;
};

/** Start the world: alias N on 127.0.0.(N+2). Needs root. */
export declare function startFleetWorld(
	hosts: ReadonlyArray<readonly [string, HostKind]>,
): Promise<FleetWorld>;
