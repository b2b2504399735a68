/**
Which hosts make the fleet: names on the command line and `--hosts FILE` (`-` for stdin), as a host
list (`[user@]host` per line, `#` comments) or Ansible's INI inventory (groups, children, vars,
ranges, `ansible_host/port/user` with Ansible's precedence). Every name reaches ssh's command line,
so one ssh could read as an option (leading `-`) or holding blanks or control characters is refused
with its line number.
*/
import {readFileSync} from 'node:fs';
import {UsageError} from '../cli/flags.js';
import {isClean} from '../model/sanitize.js';

export type FleetHost = {
	/** The name the fleet shows: the inventory name or the ssh_config alias as written. */
	readonly name: string;
	/** What ssh connects to: `ansible_host`, else the name (ssh_config resolves aliases). */
	readonly destination: string;
	/** `ansible_port` or `name:port`, null: ssh_config or 22. */
	readonly port: number | null;
	/** `ansible_user` or `user@` in a host list, null: ssh_config or the local user. */
	readonly user: string | null;
	/** Inventory groups the host belongs to, directly or through `:children` (not `all`). */
	readonly groups: readonly string[];
};

/** ssh would read a leading `-` as an option: `-oProxyCommand=...` in an inventory runs a command. */
// eslint-disable-next-line no-control-regex
const safeName = /^[^\s\-\u0000-\u001F\u007F][^\s\u0000-\u001F\u007F]*$/;

function checkName(text: string, what: string, where: string): string {
	// isClean: no bidi override or zero-width character either, so a name shows as what it is.
	if (!safeName.test(text) || !isClean(text)) {
		throw new UsageError(
			`${where}: ${what} '${text.replaceAll(/[^\x20-\x7E]/g, '?')}' is not a usable host name`,
		);
	}

	return text;
}

function checkPort(text: string, where: string): number {
	const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
	if (!(port >= 1 && port <= 65_535)) {
		throw new UsageError(`${where}: port '${text.replaceAll(/[^\x20-\x7E]/g, '?')}' is not 1 to 65535`);
	}

	return port;
}

/** A host given as an argument or a host-list line: `[user@]host`. */
export function hostFromName(text: string, where = 'host'): FleetHost {
	const at = text.lastIndexOf('@');
	const user = at > 0 ? checkName(text.slice(0, at), 'user', where) : null;
	const name = checkName(at > 0 ? text.slice(at + 1) : text, 'host', where);
	return {name: text, destination: name, port: null, user, groups: []};
}

/** True when the text is an Ansible INI inventory rather than a plain host list. */
export function isIniInventory(text: string): boolean {
	for (const raw of text.split('\n')) {
		const line = stripComment(raw);
		if (line === '') continue;
		if (/^\[[^\]]+\]$/.test(line)) return true;
		if (/^\S+\s+[A-Za-z_]\w*=/.test(line)) return true;
	}

	return false;
}

/** A line without its comment: `#` or `;` at the start (INI), ` #` after text. */
function stripComment(raw: string): string {
	const line = raw.trim();
	if (line.startsWith('#') || line.startsWith(';')) return '';
	const hash = line.search(/\s#/);
	return (hash >= 0 ? line.slice(0, hash) : line).trim();
}

/** One host per line, `#` comments. */
export function parseHostList(text: string, origin: string): FleetHost[] {
	const hosts: FleetHost[] = [];
	for (const [i, raw] of text.split('\n').entries()) {
		const line = stripComment(raw);
		if (line === '') continue;
		const where = `${origin}:${i + 1}`;
		if (/\s/.test(line)) {
			throw new UsageError(`${where}: one host per line (found '${line.replaceAll(/[^\x20-\x7E]/g, '?')}')`);
		}

		hosts.push(hostFromName(line, where));
	}

	return hosts;
}

/** `web[01:03].x` -> web01.x web02.x web03.x; `db-[a:c]` -> db-a db-b db-c; `[1:9:4]` strides. */
export function expandHostPattern(pattern: string, where: string): string[] {
	const m = /^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\](.*)$/.exec(pattern);
	if (!m) return [pattern];
	const [, head, from, to, strideText, tail] = m as unknown as [
		string,
		string,
		string,
		string,
		string | undefined,
		string,
	];
	const stride = strideText === undefined ? 1 : Number(strideText);
	const names: string[] = [];
	const bad = () => new UsageError(`${where}: cannot expand the host range '${pattern}'`);
	if (stride < 1) throw bad();
	if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
		const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
		const start = Number(from);
		const end = Number(to);
		if (end < start || (end - start) / stride > 10_000) throw bad();
		for (let n = start; n <= end; n += stride) {
			for (const rest of expandHostPattern(tail, where))
				names.push(`${head}${String(n).padStart(width, '0')}${rest}`);
		}
	} else if (/^[a-z]$/i.test(from) && /^[a-z]$/i.test(to) && from <= to) {
		for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c += stride) {
			for (const rest of expandHostPattern(tail, where))
				names.push(`${head}${String.fromCharCode(c)}${rest}`);
		}
	} else {
		throw bad();
	}

	return names;
}

/** `a=1 b="two words" c='x'` -> entries (Ansible's INI host-line variables). */
function parseVars(text: string, where: string): Array<[string, string]> {
	const vars: Array<[string, string]> = [];
	const pattern = /([A-Za-z_]\w*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/y;
	let rest = text.trim();
	while (rest !== '') {
		pattern.lastIndex = 0;
		const m = pattern.exec(rest);
		if (!m)
			throw new UsageError(`${where}: cannot read '${rest.replaceAll(/[^\x20-\x7E]/g, '?')}' as key=value`);
		let value = m[2]!;
		if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
			value = value.slice(1, -1);
		}

		vars.push([m[1]!, value]);
		rest = rest.slice(m[0].length).trim();
	}

	return vars;
}

type Connection = {host?: string; port?: string; user?: string};

/** The connection variables among some `key=value` pairs (new names win over `ansible_ssh_*`). */
function connectionOf(vars: ReadonlyArray<readonly [string, string]>): Connection {
	const out: Connection = {};
	const keys: ReadonlyArray<[keyof Connection, string[]]> = [
		['host', ['ansible_ssh_host', 'ansible_host']],
		['port', ['ansible_ssh_port', 'ansible_port']],
		['user', ['ansible_ssh_user', 'ansible_user']],
	];
	for (const [field, names] of keys) {
		for (const name of names) {
			const found = vars.find(([key]) => key === name);
			if (found) out[field] = found[1];
		}
	}

	return out;
}

type IniHost = {name: string; vars: Connection; groups: Set<string>; where: string};

/** Ansible's INI inventory format. */
export function parseAnsibleIni(text: string, origin: string): FleetHost[] {
	const hosts = new Map<string, IniHost>();
	const groupVars = new Map<string, Connection>();
	/** parent -> children */
	const children = new Map<string, Set<string>>();
	let section: {group: string; kind: 'hosts' | 'vars' | 'children'} = {group: 'ungrouped', kind: 'hosts'};
	for (const [i, raw] of text.split('\n').entries()) {
		const where = `${origin}:${i + 1}`;
		const line = stripComment(raw);
		if (line === '') continue;
		const header = /^\[([^\]:]+)(?::(vars|children))?\]$/.exec(line);
		if (header) {
			section = {group: header[1]!.trim(), kind: (header[2] as 'vars' | 'children' | undefined) ?? 'hosts'};
			continue;
		}

		if (line.startsWith('['))
			throw new UsageError(`${where}: cannot read the section '${line.replaceAll(/[^\x20-\x7E]/g, '?')}'`);
		if (section.kind === 'vars') {
			const vars = parseVars(line.replace(/\s*=\s*/, '='), where);
			groupVars.set(section.group, {...groupVars.get(section.group), ...connectionOf(vars)});
			continue;
		}

		if (section.kind === 'children') {
			const child = line.split(/\s+/)[0]!;
			const set = children.get(section.group) ?? new Set<string>();
			set.add(child);
			children.set(section.group, set);
			continue;
		}

		const space = line.search(/\s/);
		const pattern = space < 0 ? line : line.slice(0, space);
		const vars = connectionOf(space < 0 ? [] : parseVars(line.slice(space), where));
		for (const expanded of expandHostPattern(pattern, where)) {
			// `name:port`, Ansible's shorthand (not for IPv6 addresses, which hold several colons).
			const colon = expanded.split(':').length === 2 ? expanded.indexOf(':') : -1;
			const name = colon > 0 ? expanded.slice(0, colon) : expanded;
			const own: Connection = colon > 0 ? {...vars, port: vars.port ?? expanded.slice(colon + 1)} : vars;
			const host = hosts.get(name) ?? {name, vars: {}, groups: new Set<string>(), where};
			host.vars = {...host.vars, ...own};
			if (section.group !== 'ungrouped' && section.group !== 'all') host.groups.add(section.group);
			hosts.set(name, host);
		}
	}

	/** A group and every group above it, nearest last (so nearer vars are applied later and win). */
	const parentsOf = (group: string, seen = new Set<string>()): string[] => {
		if (seen.has(group)) return [];
		seen.add(group);
		const above: string[] = [];
		for (const [parent, set] of children) {
			if (set.has(group)) above.push(...parentsOf(parent, seen), parent);
		}

		return above;
	};

	return [...hosts.values()].map((host) => {
		const groups: string[] = [];
		let connection: Connection = {...groupVars.get('all')};
		for (const group of host.groups) {
			for (const g of [...parentsOf(group), group]) {
				if (!groups.includes(g) && g !== 'all') groups.push(g);
				connection = {...connection, ...groupVars.get(g)};
			}
		}

		connection = {...connection, ...host.vars};
		const name = checkName(host.name, 'host', host.where);
		return {
			name,
			destination: checkName(connection.host ?? name, 'ansible_host', host.where),
			port: connection.port === undefined ? null : checkPort(connection.port, host.where),
			user: connection.user === undefined ? null : checkName(connection.user, 'ansible_user', host.where),
			groups,
		};
	});
}

/** Either form, decided by `isIniInventory`. */
export function parseInventory(text: string, origin: string): FleetHost[] {
	return isIniInventory(text) ? parseAnsibleIni(text, origin) : parseHostList(text, origin);
}

/** The same host named twice (two groups, a file and an argument) is one host with both groups. */
export function mergeHosts(hosts: readonly FleetHost[]): FleetHost[] {
	const byName = new Map<string, FleetHost>();
	for (const host of hosts) {
		const seen = byName.get(host.name);
		byName.set(host.name, seen ? {...seen, groups: [...new Set([...seen.groups, ...host.groups])]} : host);
	}

	return [...byName.values()];
}

/**
The fleet: `names` from the command line, then the hosts of `file` (`-` reads `stdin`). Throws a
usage error when there is none, or the file cannot be read.
*/
export function readInventory(
	names: readonly string[],
	file: string | undefined,
	readStdin: () => string = () => readFileSync(0, 'utf8'),
): FleetHost[] {
	const hosts = names.map((name, i) => hostFromName(name, `argument ${i + 1}`));
	if (file !== undefined) {
		let text: string;
		try {
			text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code ?? String(error);
			throw new UsageError(`--hosts ${file}: cannot read it (${code})`);
		}

		hosts.push(...parseInventory(text, file === '-' ? 'stdin' : file));
	}

	const merged = mergeHosts(hosts);
	if (merged.length === 0) {
		throw new UsageError('fleet needs hosts: klptop fleet HOST... or --hosts FILE (- for stdin)');
	}

	return merged;
}
