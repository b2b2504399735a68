/**
The dashboard: wiring only. The reducer (`state.ts`) owns the state, the key map (`keymap.ts`)
decides what a key means, the poller folds scans into history, and the views draw. Size comes in as
props (measured once by the root), so this component renders the same in tests as in a terminal.
*/
import {Box, useApp, useInput} from 'ink';
import {useCallback, useContext, useEffect, useMemo, useRef, useState} from 'react';
import type {ReactNode} from 'react';
import type {ActionContext} from '../actions/index.js';
import {useFunctionKeys} from '../hooks/use-function-keys.js';
import {useScreenRequests} from '../hooks/use-screen-requests.js';
import {usePoller} from '../hooks/use-poller.js';
import type {PollTiming} from '../hooks/use-poller.js';
import {footerBindings, keymap} from '../keymap.js';
import {clean} from '../model/sanitize.js';
import type {History, Snapshot} from '../model/types.js';
import {hasAllThreads} from '../model/types.js';
import {EventLog} from '../views/event-log.js';
import {InkLayoutContext} from '../renderer/index.js';
import {Footer, StatusLine} from '../views/footer.js';
import {Header} from '../views/header.js';
import type {ReplayHeader} from '../views/header.js';
import {HelpScreen} from '../views/help-screen.js';
import {NoLivepatch, TooSmall} from '../views/notice.js';
import {PatchDetail} from '../views/patch-detail.js';
import {patchActions} from '../dashboard/patch-menu.js';
import {PatchPanel} from '../views/patch-panel.js';
import {samePicture} from '../views/same-picture.js';
import {TaskDetail} from '../views/task-detail.js';
import {TaskTable} from '../views/task-table.js';
import {ActionDialog} from '../views/action-dialog.js';
import {perform, recoverAtStart} from './act.js';
import type {Theme} from '../views/theme.js';
import type {Feed} from './feed.js';
import {keyEffect, keyNames} from '../dashboard/input.js';
import {minHeight, minWidth} from '../dashboard/layout.js';
import {initialReplay, replayDelayMs} from '../dashboard/replay.js';
import {initialState, keyContext, layoutOf, logEvents} from '../dashboard/state.js';
import type {UiAction, UiState} from '../dashboard/state.js';
import {reduce} from './reducer.js';

/** Scenario the no-livepatch screen offers (a transition stuck on an interruptible sleeper). */
export const offeredScenario = 'stuck-interruptible';

export type AppProps = {
	readonly feed: Feed | null;
	readonly makeEmulatorFeed: (scenario: string) => Feed;
	readonly delayS: number;
	/**
	Why actions are off whatever the source (`--readonly`), or null: then the feed's action context
	decides (its `disabledReason`: not root, a tree without an emulator, ...).
	*/
	readonly readonlyReason: string | null;
	readonly theme: Theme;
	readonly pids: readonly number[] | null;
	readonly tids: readonly number[] | null;
	readonly hostname: string;
	/** Terminal size in cells. */
	readonly width: number;
	readonly height: number;
	/** History folded from a scan made before the first frame (so it shows data at once). */
	readonly initialHistory?: History | null;
	/** A first scan still running when the first frame is drawn: the poller folds it when it is in. */
	readonly firstScan?: Promise<Snapshot> | null;
	/** Told about the feed in use (the root closes the last one on exit). */
	readonly onFeedChange?: (feed: Feed | null) => void;
	/** Repaint the whole terminal (Ctrl-L, resizes); the root's frame writer does it. */
	readonly onRedraw?: () => void;
	/**
	Where Esc leads from the main screen when it has nothing left to close or clear: the fleet screen
	that opened this host's dashboard. Absent: Esc stops there.
	*/
	readonly onBack?: () => void;
};

/** Esc on this state would do nothing (main screen, no prompt, dialog, filter or search). */
function escapeIsIdle(state: UiState): boolean {
	return (
		state.screen.kind === 'main' &&
		state.prompt === null &&
		state.dialog === null &&
		state.view.filter === '' &&
		state.search === ''
	);
}

function emptyText(state: UiState): string {
	const {history, view} = state;
	if (history === null) return 'scanning...';
	if (view.filter !== '') return `no row matches the filter '${clean(view.filter)}' (Esc clears it)`;
	if (view.showAll && state.replay !== null)
		return 'a recording holds the blockers, not every thread (a goes back)';
	if (view.showAll && !hasAllThreads(history.snapshot)) return 'all threads arrive with the next scan...';
	if (history.snapshot.transition === null) {
		return view.showAll
			? 'no thread to show'
			: 'no transition running: nothing is blocked (a shows all threads)';
	}

	if (history.hiddenBlocker) {
		return 'no visible thread blocks it: the transition waits for one klptop cannot see (idle task, hidepid, not root)';
	}

	return 'no thread blocks the transition right now';
}

function replayOf(feed: Feed | null) {
	const replay = feed?.replay ?? null;
	return replay === null ? null : initialReplay(replay.start, replay.count, replay.jumps);
}

/** What the header says about a replay: the recorded host, the poll's time, the playback. */
function replayHeader(feed: Feed | null, state: UiState): ReplayHeader | null {
	const replay = feed?.replay ?? null;
	const position = state.replay;
	if (replay === null || position === null) return null;
	return {
		host: replay.host,
		time: replay.timeAt(position.index),
		index: position.index,
		count: position.count,
		playing: position.playing,
		speed: position.speed,
	};
}

/**
A replay's new position comes with its history (the feed folds the recording up to it) in the same
state, so that no frame shows one poll's time over another poll's data.
*/
function withReplayHistory(before: UiState, after: UiState, feed: Feed | null): UiState {
	const replay = feed?.replay ?? null;
	const index = after.replay?.index ?? null;
	if (replay === null || index === null || index === (before.replay?.index ?? null)) return after;
	return reduce(after, {type: 'history', history: replay.historyAt(index)});
}

/** While playing, a timer moves the replay one recorded poll on, paced by the recorded intervals. */
function useReplay(feed: Feed | null, state: UiState, dispatch: (action: UiAction) => void): void {
	const replay = feed?.replay ?? null;
	const index = state.replay?.index ?? null;
	const playing = state.replay?.playing ?? false;
	const speed = state.replay?.speed ?? 1;
	useEffect(() => {
		if (replay === null || index === null || !playing) return;
		const recordedMs = replay.timeAt(index + 1) - replay.timeAt(index);
		const timer = setTimeout(
			() => {
				dispatch({type: 'replay-tick'});
			},
			replayDelayMs(recordedMs, speed),
		);
		return () => {
			clearTimeout(timer);
		};
	}, [replay, index, playing, speed, dispatch]);
}

/** Why the action keys do nothing for this feed, or null when they act. */
export function actionsOffReason(feed: Feed | null, override: string | null): string | null {
	if (override !== null) return override;
	if (feed === null) return null;
	const actions = feed.actions ?? null;
	return actions === null ? 'this source cannot be acted on' : actions.disabledReason;
}

/**
A poll's history that would draw the frame on screen again: the main screen (or help) without the
all-threads view or a dialog, no scan error to clear, and nothing it shows changed (`samePicture`).
*/
export function drawsNothingNew(state: UiState, history: History): boolean {
	return (
		state.history !== null &&
		state.scanError === null &&
		state.dialog === null &&
		(state.screen.kind === 'main' || state.screen.kind === 'help') &&
		!state.view.showAll &&
		samePicture(state.history, history)
	);
}

export function App(props: AppProps) {
	const {makeEmulatorFeed, theme, hostname, width, height, onFeedChange, onRedraw} = props;
	const {exit} = useApp();
	const [feed, setFeed] = useState<Feed | null>(props.feed);
	// The feed as keys see it: switched at once, like the state ref below.
	const feedRef = useRef(feed);
	const [state, setState] = useState<UiState>(() => {
		const init = initialState({
			width,
			height,
			delayS: props.delayS,
			readonlyReason: actionsOffReason(props.feed, props.readonlyReason),
			pids: props.pids,
			tids: props.tids,
			noFeed: props.feed === null,
			replay: replayOf(props.feed),
		});
		const first =
			replayOf(props.feed) === null
				? props.initialHistory
				: props.feed!.replay!.historyAt(init.replay!.index);
		const opened = first ? reduce(init, {type: 'history', history: first}) : init;
		const warning = props.feed?.replay?.warning ?? null;
		return warning === null ? opened : reduce(opened, {type: 'status', text: warning, tone: 'warn'});
	});
	// The ref is the state: every action is reduced into it at once, and React draws it when it
	// gets to it. A key read before React has drawn the last one (Esc then Tab on a busy machine)
	// still sees the state the last one left, never a stale render's.
	const stateRef = useRef(state);
	const dispatch = useCallback((action: UiAction) => {
		stateRef.current = withReplayHistory(stateRef.current, reduce(stateRef.current, action), feedRef.current);
		setState(stateRef.current);
	}, []);

	useEffect(() => {
		dispatch({type: 'resize', width, height});
	}, [dispatch, width, height]);

	const onHistory = useCallback(
		(history: History) => {
			// An idle poll that changes nothing on screen draws no frame (issue 12: idle under 1% of a core).
			if (drawsNothingNew(stateRef.current, history)) return false;
			dispatch({type: 'history', history});
			return true;
		},
		[dispatch],
	);
	const onError = useCallback(
		(message: string) => {
			dispatch({type: 'scan-failed', message});
		},
		[dispatch],
	);
	// Slow scans stretch the interval (usePoller): the header says so, in tenths of a second.
	const [periodS, setPeriodS] = useState<number | null>(null);
	const periodRef = useRef<number | null>(null);
	const onTiming = useCallback(({periodMs}: PollTiming) => {
		const asked = stateRef.current.delayS * 1000;
		const next = periodMs > asked * 1.1 ? Math.round(periodMs / 100) / 10 : null;
		// Only a change: React may render once more even for the same value.
		if (next === periodRef.current) return;
		periodRef.current = next;
		setPeriodS(next);
	}, []);
	const actions: ActionContext | null = feed?.actions ?? null;
	// At every start (and for an emulator opened later): resume what a crashed run left stopped.
	useEffect(() => {
		if (actions === null) return;
		recoverAtStart(actions, dispatch).catch((error: unknown) => {
			dispatch({type: 'status', text: `recovery failed: ${String(error)}`, tone: 'error'});
		});
	}, [actions, dispatch]);

	useReplay(feed, state, dispatch);
	usePoller({
		// A recording is not polled: its position decides the history (useReplay).
		feed: feed?.replay ? null : feed,
		delayS: state.delayS,
		paused: state.paused,
		threads: state.view.showAll ? 'columns' : 'blockers',
		pollNow: state.pollNow,
		initial: props.initialHistory ?? null,
		firstScan: props.firstScan ?? null,
		onHistory,
		onError,
		onTiming,
	});

	// q, and Ctrl-L and resizes: the frame writer clears the terminal and repaints every line.
	useScreenRequests(state, exit, onRedraw);

	const onKey = (name: string) => {
		if (name === 'escape' && props.onBack !== undefined && escapeIsIdle(stateRef.current)) {
			props.onBack();
			return;
		}

		const effect = keyEffect(name, stateRef.current);
		if (effect === null) return;
		if (effect.type === 'open-emulator') {
			const next = makeEmulatorFeed(offeredScenario);
			feedRef.current?.close?.();
			feedRef.current = next;
			setFeed(next);
			onFeedChange?.(next);
			dispatch({type: 'feed-opened', readonlyReason: actionsOffReason(next, props.readonlyReason)});
			return;
		}

		if (effect.type === 'request') {
			// Plans read the world, confirmations act on it: the App does it, the reducer only shows it.
			perform(effect.id, stateRef.current, feedRef.current?.actions ?? null, dispatch);
			return;
		}

		dispatch(effect);
	};

	useInput((input, key) => {
		// Each key of a chunk sees the state the one before it left (typeahead: `\cat` opens the
		// filter, then types into it): dispatch reduces into the ref at once.
		for (const name of keyNames(input, key)) onKey(name);
	});
	useFunctionKeys(onKey);

	const layout = layoutOf(state);
	// Every screen but the patch detail (its boxed table is laid out by Ink) is finished lines only,
	// which Ink may lay out in a marker's width: said before Ink lays this frame out (raw-lines.ts).
	const inkLayout = useContext(InkLayoutContext);
	if (inkLayout !== null) inkLayout.narrow = state.screen.kind !== 'patch-detail';
	const ctx = keyContext(state);
	const {history: logHistory, actionEvents} = state;
	const events = useMemo(() => logEvents({history: logHistory, actionEvents}), [logHistory, actionEvents]);
	const source = feed?.source ?? null;
	const history = state.history;
	const frame = (children: ReactNode) => (
		<Box flexDirection="column" width={width} height={layout.frameHeight}>
			{children}
		</Box>
	);
	if (layout.tooSmall) {
		return frame(
			<TooSmall width={width} height={height} minWidth={minWidth} minHeight={minHeight} theme={theme} />,
		);
	}

	if (state.noLivepatch) {
		return frame(
			<NoLivepatch
				source={source}
				release={history?.snapshot.kernel.release ?? null}
				width={width}
				height={layout.frameHeight}
				theme={theme}
			/>,
		);
	}

	const header = (
		<Header
			history={history}
			source={source}
			hostname={hostname}
			delayS={state.delayS}
			periodS={periodS}
			paused={state.paused}
			scanError={state.scanError}
			loadingAll={state.view.showAll && history !== null && !hasAllThreads(history.snapshot)}
			width={width}
			theme={theme}
			replay={replayHeader(feed, state)}
		/>
	);
	const bottom = (
		<>
			<StatusLine
				prompt={state.prompt}
				status={state.status}
				summary={{
					...state.view,
					search: state.search,
					tagged: state.tagged.size,
					rows: state.rows.length,
					limited: state.view.pids !== null || state.view.tids !== null,
				}}
				width={width}
				theme={theme}
			/>
			<Footer bindings={footerBindings(ctx, keymap)} context={ctx} width={width} theme={theme} />
		</>
	);

	// Every screen but the notices: the header, its body, the status line and the footer.
	const page = (body: ReactNode) =>
		frame(
			<>
				{header}
				{body}
				{bottom}
			</>,
		);
	const {screen} = state;
	if (state.dialog !== null) {
		return page(<ActionDialog dialog={state.dialog} height={layout.pageRows} width={width} theme={theme} />);
	}

	if (screen.kind === 'help') {
		return page(
			<HelpScreen
				context={{...ctx, screen: 'main'}}
				scroll={screen.scroll}
				height={layout.pageRows}
				width={width}
				theme={theme}
			/>,
		);
	}

	if (screen.kind === 'task-detail' && state.detail !== null) {
		return page(
			<TaskDetail
				detail={state.detail}
				history={history}
				scroll={screen.scroll}
				height={layout.pageRows}
				width={width}
				theme={theme}
			/>,
		);
	}

	if (screen.kind === 'patch-detail') {
		const patch = history?.snapshot.patches.find((candidate) => candidate.name === screen.name) ?? null;
		return page(
			<PatchDetail
				patch={patch}
				name={screen.name}
				history={history}
				actions={patch === null ? [] : patchActions(patch, history?.snapshot.transition ?? null)}
				menu={screen.menu}
				readonlyReason={state.readonlyReason}
				height={layout.pageRows}
				width={width}
				theme={theme}
				events={events}
			/>,
		);
	}

	return page(
		<>
			<PatchPanel
				patches={history?.snapshot.patches ?? []}
				transition={history?.transition ?? null}
				lastTransition={history?.lastTransition ?? null}
				leftoverModules={history?.snapshot.leftoverModules ?? null}
				selected={state.patch}
				focused={state.focus === 'patches'}
				rows={layout.patchRows}
				width={width}
				theme={theme}
				timeline={history?.timeline ?? null}
				timelineRows={layout.timelineRows}
				events={events}
				now={history?.snapshot.time ?? 0}
			/>
			<TaskTable
				rows={state.rows}
				top={state.top}
				selectedIndex={state.selected.index}
				height={layout.tableRows}
				width={width}
				sort={state.view.sort}
				tagged={state.tagged}
				focused={state.focus === 'tasks'}
				target={history?.snapshot.transition?.target ?? null}
				processes={state.view.processes}
				emptyText={emptyText(state)}
				theme={theme}
			/>
			<EventLog
				events={events}
				scroll={state.logScroll}
				height={layout.logRows}
				width={width}
				focused={state.focus === 'log'}
				theme={theme}
			/>
		</>,
	);
}
