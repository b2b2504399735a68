/**
The fleet as plain text: `klptop fleet --once` without `--json`, and where stdout is no terminal.
The same words and columns as the screen (`cells.ts`), the same order (stuck and failing first).
*/
import {clean} from '../model/sanitize.js';
import {fit} from '../views/format.js';
import {columnTitles, fleetColumns, hostCells} from './cells.js';
import type {HostState} from './host.js';
import type {FleetSummary} from './model.js';
import {summarize} from './model.js';
import {defaultFleetView, fleetRows} from './rows.js';

function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The header's count line: `24 hosts: 3 applied, 12 in transition (4 stuck > 60s), 2 unreachable, ...`. */
export function countsLine(summary: FleetSummary): string {
	const c = summary.counts;
	const parts = [
		`${c.applied} applied`,
		`${c.inTransition} in transition (${c.stuck} stuck > 60s)`,
		`${c.unreachable} unreachable`,
	];
	if (c.failing > 0) parts.push(`${c.failing} failing`);
	parts.push(`${c.noLivepatch} no livepatch`);
	if (c.connecting > 0) parts.push(`${c.connecting} connecting`);
	if (c.notRoot > 0) parts.push(`${c.notRoot} not root`);
	return `${plural(c.hosts, 'host')}: ${parts.join(', ')}`;
}

/** One line per patch: how many reporting hosts have it applied, in transition, missing. */
export function patchLines(summary: FleetSummary, width: number): string[] {
	const nameWidth = Math.max(12, Math.min(40, width - 40));
	const lines = [
		`${fit('PATCH', nameWidth)} ${fit('APPLIED', 8, 'right')} ${fit('IN TRANS', 9, 'right')} ${fit('MISSING', 8, 'right')}`,
	];
	for (const p of summary.patches) {
		lines.push(
			`${fit(clean(p.name), nameWidth)} ${fit(String(p.applied), 8, 'right')} ${fit(String(p.inTransition), 9, 'right')} ${fit(String(p.missing), 8, 'right')}`,
		);
	}

	return lines;
}

export function fleetText(states: readonly HostState[], now: number, width: number): string {
	const summary = summarize(states, now);
	const rows = fleetRows(states, defaultFleetView, now);
	const longest = Math.max(0, ...states.map((state) => [...clean(state.host.name)].length));
	const columns = fleetColumns(width, longest);
	const cell = (text: string, w: number, right = false) => fit(text, w, right ? 'right' : 'left');
	const lines = [countsLine(summary), ''];
	if (summary.patches.length > 0) lines.push(...patchLines(summary, width), '');
	lines.push(
		columns
			.map((column) => cell(columnTitles[column.id], column.width, column.right))
			.join(' ')
			.trimEnd(),
	);
	for (const row of rows) {
		if (row.kind !== 'host') continue;
		const cells = hostCells(row.state, row.condition, now, false);
		const noteFrom = columns.findIndex((column) => column.id === 'transition');
		const failing = row.condition === 'failing' || row.state.status === 'pushing';
		const parts = columns.map((column, i) => {
			if (failing && i >= noteFrom) return i === noteFrom ? cells.note : '';
			return cell(cells[column.id], column.width, column.right);
		});
		let line = parts
			.filter((part, i) => !(failing && i > noteFrom) || part !== '')
			.join(' ')
			.trimEnd();
		if (!failing && cells.note !== '') line += `  (${cells.note})`;
		lines.push([...line.trimEnd()].slice(0, width).join(''));
	}

	return lines.join('\n');
}
