/*
The fleet's host list: plain lists with comments, Ansible INI inventories (groups, children, vars,
ranges, the connection variables and their precedence), stdin, and names that would reach ssh's
command line as options.
*/
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {UsageError} from '../../source/cli/flags.js';
import {
	expandHostPattern,
	isIniInventory,
	parseAnsibleIni,
	parseHostList,
	readInventory,
} from '../../source/fleet/inventory.js';

describe('host lists', () => {
	it('reads one host or alias per line, skipping comments and blank lines', () => {
		const hosts = parseHostList('# the web tier\nweb01\n\n  web02   # rack 4\nops@db01\n', 'hosts.txt');
		expect(hosts).toEqual([
			{name: 'web01', destination: 'web01', port: null, user: null, groups: []},
			{name: 'web02', destination: 'web02', port: null, user: null, groups: []},
			{name: 'ops@db01', destination: 'db01', port: null, user: 'ops', groups: []},
		]);
	});

	it('refuses two words on a line and names that ssh would read as options, with the line', () => {
		expect(() => parseHostList('web01\nweb02 web03\n', 'h')).toThrow('h:2: one host per line');
		expect(() => parseHostList('-oProxyCommand=touch${IFS}/tmp/x\n', 'h')).toThrow(
			/h:1: host '-oProxyCommand=.*' is not a usable host name/,
		);
		expect(() => parseHostList('-x@web\n', 'h')).toThrow(UsageError);
		expect(() => parseHostList('web\u001B[2J\n', 'h')).toThrow("host 'web?[2J'");
	});
});

describe('Ansible INI inventories', () => {
	const inventory = `
# production
bastion.example.com ansible_port=2222

[web]
web[01:03].example.com
web-canary.example.com ansible_host=10.0.0.9 ansible_user=deploy

[db]
db-[a:b].example.com:5022
db-x ansible_ssh_host=10.0.1.5 ansible_ssh_user=old ansible_user=new

[eu:children]
web
db

[eu:vars]
ansible_user = eu-admin

[db:vars]
ansible_user=dba

[all:vars]
ansible_port=22
`;

	it('is told from a host list', () => {
		expect(isIniInventory(inventory)).toBe(true);
		expect(isIniInventory('web01\nweb02\n')).toBe(false);
		expect(isIniInventory('web01 ansible_host=10.0.0.1\n')).toBe(true);
	});

	it('expands ranges, keeps groups (children included) and the connection variables with their precedence', () => {
		const hosts = parseAnsibleIni(inventory, 'inv.ini');
		const byName = new Map(hosts.map((host) => [host.name, host]));
		expect(hosts.map((host) => host.name)).toEqual([
			'bastion.example.com',
			'web01.example.com',
			'web02.example.com',
			'web03.example.com',
			'web-canary.example.com',
			'db-a.example.com',
			'db-b.example.com',
			'db-x',
		]);
		// A host's own variable beats all:vars.
		expect(byName.get('bastion.example.com')).toEqual({
			name: 'bastion.example.com',
			destination: 'bastion.example.com',
			port: 2222,
			user: null,
			groups: [],
		});
		// eu:vars reach web through eu:children.
		expect(byName.get('web02.example.com')).toEqual({
			name: 'web02.example.com',
			destination: 'web02.example.com',
			port: 22,
			user: 'eu-admin',
			groups: ['eu', 'web'],
		});
		expect(byName.get('web-canary.example.com')).toMatchObject({destination: '10.0.0.9', user: 'deploy'});
		// db:vars (the child) beat eu:vars (the parent); name:port gives the port.
		expect(byName.get('db-b.example.com')).toEqual({
			name: 'db-b.example.com',
			destination: 'db-b.example.com',
			port: 5022,
			user: 'dba',
			groups: ['eu', 'db'],
		});
		// The new variable names beat the old ansible_ssh_ ones.
		expect(byName.get('db-x')).toMatchObject({destination: '10.0.1.5', user: 'new'});
	});

	it('expands numeric ranges with their zero padding and strides, and letter ranges', () => {
		expect(expandHostPattern('n[8:10]', 'x')).toEqual(['n8', 'n9', 'n10']);
		expect(expandHostPattern('n[08:10].x', 'x')).toEqual(['n08', 'n09', 'n10'].map((n) => `${n}.x`));
		expect(expandHostPattern('n[1:9:4]', 'x')).toEqual(['n1', 'n5', 'n9']);
		expect(expandHostPattern('r[a:b]-[1:2]', 'x')).toEqual(['ra-1', 'ra-2', 'rb-1', 'rb-2']);
		expect(() => expandHostPattern('n[9:1]', 'x')).toThrow('cannot expand');
	});

	it('refuses a bad port and an ansible_host that ssh would read as an option', () => {
		expect(() => parseAnsibleIni('[a]\nweb ansible_port=99999\n', 'i')).toThrow("i:2: port '99999'");
		expect(() => parseAnsibleIni('[a]\nweb ansible_host=-oProxyCommand=x\n', 'i')).toThrow(
			'i:2: ansible_host',
		);
	});
});

describe('readInventory', () => {
	it('merges arguments, a file and stdin, one host per name', () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'klptop-inventory-'));
		const file = path.join(dir, 'inventory.ini');
		writeFileSync(file, '[web]\nweb01\n[canary]\nweb01\nweb02\n');
		const hosts = readInventory(['web02', 'db01'], file);
		expect(hosts.map((host) => [host.name, host.groups])).toEqual([
			['web02', ['canary']],
			['db01', []],
			['web01', ['web', 'canary']],
		]);
		expect(readInventory([], '-', () => 'a\nb\n').map((host) => host.name)).toEqual(['a', 'b']);
	});

	it('says what is missing or unreadable', () => {
		expect(() => readInventory([], undefined)).toThrow('fleet needs hosts');
		expect(() => readInventory([], '/nonexistent/hosts')).toThrow(
			'--hosts /nonexistent/hosts: cannot read it (ENOENT)',
		);
	});
});
