#!/usr/bin/env node
/*
Regenerates the dashboard picture in README.md from a real terminal run: the built CLI runs in a
tmux pane of 120x34 on the emulator's `demo` scenario, and after a few seconds the pane is
captured as text and written between the `screenshot:start` / `screenshot:end` markers.

	npm run build && node scripts/readme-screenshot.mjs [seconds]
*/
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {setTimeout as sleep} from 'node:timers/promises';

const seconds = Number(process.argv[2] ?? 6);
const session = `klptop-shot-${process.pid}`;
const readme = new URL('../README.md', import.meta.url);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const tmux = (...args) => execFileSync('tmux', args, {encoding: 'utf8'});

tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '34', `node ${cli} --emulate demo`);
try {
	await sleep(seconds * 1000);
	const screen = tmux('capture-pane', '-p', '-t', session)
		.split('\n')
		.map((line) => line.trimEnd())
		.join('\n')
		.replace(/\n+$/, '');
	const text = readFileSync(readme, 'utf8');
	const block = `<!-- screenshot:start (scripts/readme-screenshot.mjs: tmux capture of \`klptop --emulate demo\`, 120x34, ${seconds} s in) -->\n\`\`\`\n${screen}\n\`\`\`\n<!-- screenshot:end -->`;
	const next = text.replace(/<!-- screenshot:start[\s\S]*?<!-- screenshot:end -->/, block);
	if (next === text && !text.includes(block)) {
		throw new Error('README.md has no screenshot:start/end markers');
	}

	writeFileSync(readme, next);
	console.log(screen);
} finally {
	tmux('send-keys', '-t', session, 'q');
	await sleep(500);
	try {
		tmux('kill-session', '-t', session);
	} catch {
		// Already gone: q ended it.
	}
}
