#!/usr/bin/env node
/*
Regenerates the pictures in README.md from real terminal runs: the built CLI runs in a tmux pane of
120x34, and after some seconds the pane is captured as text and written between the README's
markers.

	npm run build && node scripts/readme-screenshot.mjs [seconds]          the dashboard, `klptop --emulate demo`
	npm run build && sudo node scripts/readme-screenshot.mjs fleet [seconds]  the fleet, `klptop fleet --hosts inventory.ini`

The fleet's picture is a real `klptop fleet` over ssh: its hosts are the loopback fleet the tests
use (test/fleet/ssh-world.mjs: a private sshd, live emulated trees behind ssh_config aliases; root
needed), listed in an Ansible INI inventory.
*/
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';

const fleet = process.argv[2] === 'fleet';
const seconds = Number(process.argv[fleet ? 3 : 2] ?? (fleet ? 75 : 6));
const session = `klptop-shot-${process.pid}`;
const readme = new URL('../README.md', import.meta.url);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const tmux = (...args) => execFileSync('tmux', args, {encoding: 'utf8'});

/** Run `command` in a 120x34 pane (in `cwd`), capture it after `seconds`, put it between `marker`s. */
async function shoot({command, cwd, marker, what}) {
	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '34', '-c', cwd, command);
	try {
		await sleep(seconds * 1000);
		const screen = tmux('capture-pane', '-p', '-t', session)
			.split('\n')
			.map((line) => line.trimEnd())
			.join('\n')
			.replace(/\n+$/, '');
		const text = readFileSync(readme, 'utf8');
		const block = `<!-- ${marker}:start (scripts/readme-screenshot.mjs: tmux capture of ${what}, 120x34, ${seconds} s in) -->\n\`\`\`\n${screen}\n\`\`\`\n<!-- ${marker}:end -->`;
		const pattern = new RegExp(`<!-- ${marker}:start[\\s\\S]*?<!-- ${marker}:end -->`);
		const next = text.replace(pattern, block);
		if (next === text && !text.includes(block)) {
			throw new Error(`README.md has no ${marker}:start/end markers`);
		}

		writeFileSync(readme, next);
		console.log(screen);
	} finally {
		tmux('send-keys', '-t', session, 'q');
		await sleep(fleet ? 3000 : 500);
		try {
			tmux('kill-session', '-t', session);
		} catch {
			// Already gone: q ended it.
		}
	}
}

if (fleet) {
	const {startFleetWorld} = await import('../test/fleet/ssh-world.mjs');
	// A rollout of klp_sleeper_patch under way: most hosts done, some in transition, one held by a
	// D-state sleeper (stuck after 60 s), a non-root login, and what goes wrong in any fleet.
	const tree = (scenario, extra = {}) => ({kind: 'tree', scenario, ...extra});
	const hosts = [
		['web01', tree('quick')],
		['web02', tree('quick')],
		['web03', tree('stuck-killable')],
		['web04', tree('quick', {kernel: '6.16'})],
		['web05', tree('demo')],
		['web06', tree('quick')],
		['db01', tree('stuck-interruptible')],
		['db02', tree('stuck-killable', {user: 'fleet'})],
		['db03', tree('replace')],
		['cache01', tree('quick', {kernel: '5.1'})],
		['cache02', {kind: 'unreachable'}],
		['cache03', {kind: 'unknown-key'}],
		['batch01', {kind: 'no-livepatch'}],
		['batch02', tree('stuck-kthread')],
	];
	const world = await startFleetWorld(hosts);
	try {
		writeFileSync(
			path.join(world.dir, 'inventory.ini'),
			[
				'[web]',
				'web[01:06]',
				'',
				'[db]',
				'db01',
				'db02 ansible_user=klptop-fleet',
				'db03',
				'',
				'[cache]',
				'cache[01:03]',
				'',
				'[batch]',
				'batch01',
				'batch02',
				'',
				'[prod:children]',
				'web',
				'db',
				'cache',
				'batch',
				'',
			].join('\n'),
		);
		// The operator's own ssh config (here the test fleet's) would be ~/.ssh/config: no flag needed.
		await shoot({
			command: `node ${cli} fleet --hosts inventory.ini --ssh-config ${world.sshConfig}`,
			cwd: world.dir,
			marker: 'fleet-screenshot',
			what: '`klptop fleet --hosts inventory.ini` over ssh to 14 loopback hosts',
		});
	} finally {
		await world.stop();
	}
} else {
	await shoot({
		command: `node ${cli} --emulate demo`,
		cwd: process.cwd(),
		marker: 'screenshot',
		what: '`klptop --emulate demo`',
	});
}
