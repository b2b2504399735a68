/** The help screen's text, generated from the key map (no Ink here: the reducer counts its lines). */
import type {Binding, Category, KeyContext} from '../keymap.js';
import {categoryTitles, displayKey, displayKeyAscii, keymap} from '../keymap.js';
import {clean} from '../model/sanitize.js';
import {fit} from './format.js';
import type {Segment} from './segment.js';
import type {Theme} from './theme.js';

const taskLegend: readonly string[] = [
	'TID/TGID thread and process id; USER owner; S state letter (R running, S sleeping, D uninterruptible,',
	'T stopped, Z zombie); K kernel thread; PATCH patch_state -> what the transition needs (-1 idle,',
	'0 old code, 1 new code); STUCK how long it has blocked; CLASS running / intr(erruptible) /',
	'unintr(erruptible) / stopped / zombie; FUNCTION the patched function found on its stack [module];',
	'COMM the thread name. Enter on a thread explains in plain words why it is stuck and what helps.',
];

/**
The help text as lines of segments; `context` is the screen help was opened from. Another screen
(the fleet's) passes its own key map and the legend of its own columns.
*/
export function helpLines<C = KeyContext>(
	context: C,
	theme: Theme,
	map: ReadonlyArray<Binding<C, string>> = keymap as unknown as ReadonlyArray<Binding<C, string>>,
	legend: readonly string[] = taskLegend,
): Segment[][] {
	const lines: Segment[][] = [];
	const order: Category[] = [
		'general',
		'replay',
		'move',
		'find',
		'view',
		'tag',
		'action',
		'prompt',
		'dialog',
	];
	const keyWidth = 16;
	for (const category of order) {
		const bindings = map.filter(
			(binding) => binding.category === category && (binding.helpWhen?.(context) ?? true),
		);
		if (bindings.length === 0) continue;
		lines.push([{text: categoryTitles[category], bold: true, underline: true}]);
		for (const binding of bindings) {
			const keys = binding.keys
				.map((key) => (theme.ascii ? displayKeyAscii(key) : displayKey(key)))
				.join(' ');
			const off = binding.disabled?.(context) ?? null;
			const line: Segment[] = [
				{text: `  ${fit(keys, keyWidth)} `, bold: true, color: 'cyan'},
				{text: binding.description},
			];
			if (off !== null) {
				line.push({text: `  (${clean(off)})`, color: 'yellow'});
			}

			lines.push(line);
		}

		lines.push([{text: ' '}]);
	}

	lines.push([{text: 'Columns', bold: true, underline: true}]);
	for (const text of legend) {
		lines.push([{text: `  ${text}`}]);
	}

	return lines;
}
