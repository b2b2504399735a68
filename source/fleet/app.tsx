/**
The fleet screen: wiring only (the host dashboard's `App` shape). The fleet (`fleet.ts`) runs the
streams; this component takes a picture of its hosts when they change (at once, or at most every
`minRefreshMs` in a flood, and once a second for the ages), folds keys through the reducer (`screen-state.ts`)
and the key map (`keymap.ts`), and draws the views. Enter on a host puts the host dashboard's own
`App` on screen, fed by that host's stream (`host-feed.ts`); Esc there comes back.
*/
import {Box, useApp, useInput} from 'ink';
import {useCallback, useEffect, useMemo, useRef, useState} from 'react';
import type {ReactNode} from 'react';
import {useFunctionKeys} from '../hooks/use-function-keys.js';
import {useScreenRequests} from '../hooks/use-screen-requests.js';
import {footerBindings} from '../keymap.js';
import {keyNames} from '../dashboard/input.js';
import {App} from '../ui/app.js';
import {Footer} from '../views/footer.js';
import {helpLines} from '../views/help-lines.js';
import {TooSmall} from '../views/notice.js';
import {ScrolledPage} from '../views/scrolled-page.js';
import type {Theme} from '../views/theme.js';
import {planFleetAction, runFleetAction} from './act.js';
import type {Fleet} from './fleet.js';
import {createHostFeed} from './host-feed.js';
import type {HostFeed} from './host-feed.js';
import {fleetKeymap, fleetLegend} from './keymap.js';
import {
	fleetKeyContext,
	fleetKeyEffect,
	fleetMinHeight,
	fleetMinWidth,
	initialFleetState,
	layoutOfFleet,
	reduceFleet,
	selectedHost,
} from './screen-state.js';
import type {FleetUiAction, FleetUiState} from './screen-state.js';
import {FleetDialogView, FleetHeader, FleetStatusLine, HostTable, PatchTable} from './views.js';

/**
Redraws caused by documents are at most this often, however many hosts report (a thousand hosts:
one document a millisecond); a lone document is drawn at once.
*/
export const minRefreshMs = 250;

export type FleetAppProps = {
	readonly fleet: Fleet;
	readonly delayS: number;
	/** Why actions are off (started without --allow-actions), or null. */
	readonly readonlyReason: string | null;
	readonly theme: Theme;
	readonly width: number;
	readonly height: number;
	readonly onRedraw?: () => void;
	/** Clock (ms), injectable for tests. */
	readonly now?: () => number;
};

function emptyText(state: FleetUiState): string {
	if (state.states.length === 0) return 'no host';
	if (state.view.filter !== '') return `no host matches the filter '${state.view.filter}' (Esc clears it)`;
	return 'no host';
}

/** The context the help page is drawn for (every key listed, as opened from the main screen). */
const helpContext = {
	screen: 'main',
	prompt: null,
	row: 'host',
	transition: true,
	search: false,
	readonlyReason: null,
	dialog: null,
	busy: false,
} as const;

export function FleetApp(props: FleetAppProps) {
	const {fleet, theme, width, height, onRedraw} = props;
	const now = props.now ?? Date.now;
	const {exit} = useApp();
	const [state, setState] = useState<FleetUiState>(() =>
		initialFleetState({
			width,
			height,
			delayS: props.delayS,
			readonlyReason: props.readonlyReason,
			states: fleet.states(),
			now: now(),
			helpLines: helpLines(helpContext, theme, fleetKeymap, fleetLegend).length,
		}),
	);
	// As in the host dashboard: the ref is the state, so typeahead sees what the last key left.
	const stateRef = useRef(state);
	const dispatch = useCallback((action: FleetUiAction) => {
		stateRef.current = reduceFleet(stateRef.current, action);
		setState(stateRef.current);
	}, []);

	useEffect(() => {
		dispatch({type: 'resize', width, height});
	}, [dispatch, width, height]);

	// A picture of the hosts when they change: at once when the last one a change caused is
	// minRefreshMs old, else then (a flood of documents is one frame per minRefreshMs); and when
	// nothing has been drawn for a second, for the ages and elapsed times.
	useEffect(() => {
		let lastDraw = performance.now();
		let lastChangeDraw = Number.NEGATIVE_INFINITY;
		let timer: ReturnType<typeof setTimeout> | null = null;
		const refresh = () => {
			lastDraw = performance.now();
			dispatch({type: 'refresh', states: fleet.states(), now: now()});
		};

		const onChange = () => {
			if (timer !== null) return;
			timer = setTimeout(
				() => {
					timer = null;
					lastChangeDraw = performance.now();
					refresh();
				},
				Math.max(0, lastChangeDraw + minRefreshMs - performance.now()),
			);
		};

		const unsubscribe = fleet.subscribe(onChange);
		const ticker = setInterval(() => {
			if (timer === null && performance.now() - lastDraw >= 1000) refresh();
		}, 100);
		return () => {
			unsubscribe();
			clearInterval(ticker);
			if (timer !== null) clearTimeout(timer);
		};
	}, [fleet, dispatch, now]);

	useScreenRequests(state, exit, onRedraw);

	// The host dashboard's feed, while one is open.
	const hostName = state.screen.kind === 'host' ? state.screen.name : null;
	const hostFeed = useMemo<HostFeed | null>(
		() => (hostName === null ? null : createHostFeed(fleet, hostName, props.delayS)),
		[fleet, hostName, props.delayS],
	);
	useEffect(() => () => hostFeed?.close?.(), [hostFeed]);

	const onKey = (name: string) => {
		if (stateRef.current.screen.kind === 'host') return;
		const effect = fleetKeyEffect(name, stateRef.current);
		if (effect === null) return;
		if (effect.type !== 'request') {
			dispatch(effect);
			return;
		}

		const current = stateRef.current;
		if (effect.id === 'nudge' || effect.id === 'reverse' || effect.id === 'force') {
			const host = selectedHost(current);
			if (host === null) return;
			const plan = planFleetAction(effect.id, host);
			dispatch(
				'kind' in plan ? {type: 'dialog', dialog: plan} : {type: 'status', text: plan.text, tone: plan.tone},
			);
			return;
		}

		// y (confirm) or Enter (the typed name of a force).
		const dialog = current.dialog;
		if (dialog === null) return;
		if (dialog.kind === 'force' && dialog.typed !== dialog.host) {
			dispatch({
				type: 'status',
				text: `type the host's name exactly (${dialog.host}) to force`,
				tone: 'warn',
			});
			return;
		}

		dispatch({type: 'busy', text: `${dialog.kind} on ${dialog.host}: waiting for its klptop...`});
		void runFleetAction(fleet, dialog).then((status) => {
			dispatch({type: 'action-result', status});
		});
	};

	useInput(
		(input, key) => {
			for (const name of keyNames(input, key)) onKey(name);
		},
		{isActive: state.screen.kind !== 'host'},
	);
	useFunctionKeys(onKey);

	const frame = (children: ReactNode) => (
		<Box flexDirection="column" width={width} height={height}>
			{children}
		</Box>
	);

	if (state.screen.kind === 'host') {
		if (hostFeed !== null) {
			return (
				<App
					feed={hostFeed}
					makeEmulatorFeed={() => hostFeed}
					delayS={props.delayS}
					readonlyReason={
						props.readonlyReason === null
							? 'a fleet host: act from the fleet screen (Esc, then k, R or F on its row)'
							: props.readonlyReason
					}
					theme={theme}
					pids={null}
					tids={null}
					hostname={state.screen.name}
					width={width}
					height={height}
					initialHistory={hostFeed.initialHistory}
					onRedraw={onRedraw}
					onBack={() => dispatch({type: 'host-closed'})}
				/>
			);
		}
	}

	const layout = layoutOfFleet(state);
	if (layout.tooSmall) {
		return frame(
			<TooSmall
				width={width}
				height={height}
				minWidth={fleetMinWidth}
				minHeight={fleetMinHeight}
				theme={theme}
			/>,
		);
	}

	const ctx = fleetKeyContext(state);
	const header = (
		<FleetHeader
			summary={state.summary}
			delayS={state.delayS}
			paused={state.paused}
			now={state.now}
			width={width}
			theme={theme}
		/>
	);
	const bottom = (
		<>
			<FleetStatusLine
				prompt={state.prompt}
				status={state.status}
				view={state.view}
				search={state.search}
				rows={state.rows.length}
				width={width}
				theme={theme}
			/>
			<Footer bindings={footerBindings(ctx, fleetKeymap)} context={ctx} width={width} theme={theme} />
		</>
	);
	const pageRows = layout.pageRows;
	if (state.dialog !== null) {
		return frame(
			<>
				{header}
				<FleetDialogView dialog={state.dialog} height={pageRows} width={width} theme={theme} />
				{bottom}
			</>,
		);
	}

	if (state.screen.kind === 'help') {
		return frame(
			<>
				{header}
				<ScrolledPage
					title="Help: every key of the fleet screen (Esc goes back)"
					lines={helpLines({...ctx, screen: 'main'}, theme, fleetKeymap, fleetLegend)}
					scroll={state.screen.scroll}
					height={pageRows}
					width={width}
					theme={theme}
				/>
				{bottom}
			</>,
		);
	}

	return frame(
		<>
			{header}
			<PatchTable summary={state.summary} rows={layout.patchRows} width={width} theme={theme} />
			<HostTable
				rows={state.rows}
				top={state.top}
				selectedIndex={state.selected.index}
				height={layout.tableRows}
				width={width}
				sort={state.view.sort}
				now={state.now}
				emptyText={emptyText(state)}
				theme={theme}
			/>
			{bottom}
		</>,
	);
}
