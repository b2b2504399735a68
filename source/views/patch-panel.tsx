/**
The patch panel: one dense line per loaded patch (name, enabled, transition, replace, stack_order,
objects/functions, a state word). Hand-rolled rows rather than a boxed table: a box costs three
lines plus one separator per row, and this panel must stay small at 80x24.
*/
import {Box} from 'ink';
import {clean} from '../model/sanitize.js';
import type {LastTransition, PatchInfo, TransitionProgress} from '../model/types.js';
import {fit, percent, switchedCount} from './format.js';
import {Line, Lines, Title} from './line.js';
import type {Segment} from './line.js';
import type {Theme} from './theme.js';
import {glyphs} from './theme.js';

export type PatchPanelProps = {
	readonly patches: readonly PatchInfo[];
	readonly transition: TransitionProgress | null;
	readonly lastTransition: LastTransition | null;
	/** Livepatch modules loaded with no patch listed (`Snapshot.leftoverModules`); null when unknown. */
	readonly leftoverModules?: readonly string[] | null;
	readonly selected: string | null;
	readonly focused: boolean;
	/** Patch lines available (the title line is extra). */
	readonly rows: number;
	readonly width: number;
	readonly theme: Theme;
};

/** One word (or two) for where a patch stands: `patching 87%`, `unpatching 40%`, `applied`, `disabled`. */
export function patchStateWord(
	patch: PatchInfo,
	transition: TransitionProgress | null,
	lastTransition: LastTransition | null,
): string {
	if (transition !== null && transition.patch === patch.name) {
		return `${transition.direction} ${percent(switchedCount(transition), transition.total)}%`;
	}

	if (patch.transition) {
		return patch.enabled ? 'patching' : 'unpatching';
	}

	const forced =
		lastTransition !== null && lastTransition.patch === patch.name && lastTransition.outcome === 'forced';
	if (patch.enabled) {
		return forced ? 'applied (forced)' : 'applied';
	}

	return forced ? 'disabled (forced)' : 'disabled';
}

/**
What the empty panel says. After unpatching (reverse of a load, disable) the patch directory goes
but the module stays loaded until `rmmod`: "no livepatch module is loaded" is said only when
/proc/modules was read and lists none.
*/
export function noPatchSegments(leftoverModules: readonly string[] | null): Segment[] {
	if (leftoverModules === null) {
		return [{text: '  no patch under /sys/kernel/livepatch', dim: true}];
	}

	if (leftoverModules.length === 0) {
		return [{text: '  no livepatch module is loaded', dim: true}];
	}

	const names = leftoverModules.map((name) => clean(name)).join(' ');
	return [
		{text: '  no patch is active; still loaded (disabled): '},
		{text: names, bold: true},
		{text: `  unload with: rmmod ${names}`, color: 'yellow'},
	];
}

const yesNo = (value: boolean | null) => (value === null ? '-' : value ? 'yes' : 'no');

function counts(patch: PatchInfo): string {
	let functions = 0;
	for (const object of patch.objects) {
		functions += object.functions.length;
	}

	return `${patch.objects.length}/${functions}`;
}

export function PatchPanel(props: PatchPanelProps) {
	const {patches, transition, lastTransition, selected, focused, rows, width, theme} = props;
	const g = glyphs(theme);
	if (patches.length === 0) {
		return (
			<Box flexDirection="column" width={width}>
				<Title text="Patches 0" width={width} theme={theme} focused={focused} />
				<Line width={width} theme={theme} segments={noPatchSegments(props.leftoverModules ?? null)} />
			</Box>
		);
	}

	const selectedIndex = Math.max(
		0,
		patches.findIndex((patch) => patch.name === selected),
	);
	const top = Math.min(Math.max(0, selectedIndex - rows + 1), Math.max(0, patches.length - rows));
	const visible = patches.slice(top, top + rows);
	// Fixed columns, then the name takes what is left.
	const fixed = ' ENABLED TRANS REPLACE ORDER OBJ/FN ';
	const stateWidth = 17;
	// The name column is as wide as the longest name (within what the width leaves), not wider.
	let longest = 10;
	for (const patch of patches) longest = Math.max(longest, clean(patch.name).length);
	const nameWidth = Math.max(8, Math.min(longest, width - 2 - fixed.length - stateWidth));
	const lines = visible.map((patch) => {
		const state = patchStateWord(patch, transition, lastTransition);
		const inTransition = state.startsWith('patching') || state.startsWith('unpatching');
		const segments: Segment[] = [
			{text: '  '},
			{text: fit(clean(patch.name), nameWidth, 'left', g.ellipsis), bold: true},
			{text: ` ${fit(yesNo(patch.enabled), 7)}`},
			{text: ` ${fit(patch.transition ? 'yes' : 'no', 5)}`, color: patch.transition ? 'yellow' : undefined},
			{text: ` ${fit(yesNo(patch.replace), 7)}`},
			{text: ` ${fit(patch.stackOrder === null ? '-' : String(patch.stackOrder), 5, 'right')}`},
			{text: ` ${fit(counts(patch), 6, 'right')}`},
			{text: ' '},
			{
				text: fit(state, stateWidth),
				color: inTransition
					? 'yellow'
					: state.includes('forced')
						? 'red'
						: patch.enabled
							? 'green'
							: undefined,
				bold: inTransition,
			},
		];
		return {segments, inverse: focused && patch.name === selected, bold: !focused && patch.name === selected};
	});
	// The title line doubles as the column header, so the panel costs one line plus one per patch.
	const window = patches.length > rows ? ` (${top + 1}-${top + visible.length})` : '';
	const label = fit(` Patches ${patches.length}${window}`, nameWidth + 2);
	return (
		<Box flexDirection="column" width={width}>
			<Line
				width={width}
				theme={theme}
				segments={[
					{text: label, bold: true, inverse: focused},
					{text: `${fixed}${fit('STATE', stateWidth)}`, dim: true},
				]}
			/>
			<Lines lines={lines} width={width} theme={theme} />
		</Box>
	);
}
