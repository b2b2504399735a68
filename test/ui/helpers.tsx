/*
Helpers for the dashboard's component tests, named after Shopify cli-kit's vocabulary: wait for
the input handler to be ready before writing a key, then poll for the frame to show what we expect.
React 19's scheduler needs real timer turns (setTimeout), not just microtasks, to flush renders.
*/
import {EventEmitter} from 'node:events';
import chalk from 'chalk';
import {render} from 'ink-testing-library';
import type {Feed} from '../../source/ui/feed.js';
import {App} from '../../source/ui/app.js';
import type {AppProps} from '../../source/ui/app.js';
import type {History} from '../../source/model/types.js';
import {InkLayoutContext} from '../../source/renderer/raw-lines.js';
import type {InkLayout} from '../../source/renderer/raw-lines.js';

export const keys = {
	up: '\u001B[A',
	down: '\u001B[B',
	right: '\u001B[C',
	left: '\u001B[D',
	pageUp: '\u001B[5~',
	pageDown: '\u001B[6~',
	home: '\u001B[H',
	end: '\u001B[F',
	enter: '\r',
	escape: '\u001B',
	tab: '\t',
	backspace: '\u007F',
	space: ' ',
	ctrlC: '\u0003',
	ctrlL: '\u000C',
} as const;

/** ESC-free text of a frame (colour and style codes removed) for reading assertions. */
export function plain(frame: string | undefined): string {
	// eslint-disable-next-line no-control-regex
	return (frame ?? '').replace(/\u001B\[[0-9;]*m/g, '');
}

/** True when every character is 7-bit ASCII. */
export function isAscii(text: string): boolean {
	for (let i = 0; i < text.length; i++) {
		if (text.charCodeAt(i) > 0x7f) return false;
	}

	return true;
}

export async function tick(ms = 0): Promise<void> {
	await new Promise((resolve) => {
		setTimeout(resolve, ms);
	});
}

/** Wait until `check` passes on the latest frame (or fail with the frame in the message). */
export async function waitForFrame(
	lastFrame: () => string | undefined,
	check: (frame: string) => boolean,
	timeoutMs = 3000,
): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const frame = lastFrame() ?? '';
		if (check(frame)) return frame;
		if (Date.now() > deadline) {
			throw new Error(`frame never matched; last frame:\n${plain(frame)}`);
		}

		await tick(10);
	}
}

/** Give Ink a turn so `useInput` is subscribed before the first key is written. */
export async function waitForInputsToBeReady(): Promise<void> {
	await tick(20);
}

/** Make chalk emit styles until the returned function is called (for tests spanning re-renders). */
export function setChalkLevel(level: 0 | 1 | 2 | 3): () => void {
	const saved = chalk.level;
	chalk.level = level;
	return () => {
		chalk.level = saved;
	};
}

/** Run with chalk emitting styles (Ink's colours and inverse come from chalk's default instance). */
export function withChalkLevel<T>(level: 0 | 1 | 2 | 3, body: () => T): T {
	const saved = chalk.level;
	chalk.level = level;
	try {
		return body();
	} finally {
		chalk.level = saved;
	}
}

export const quiet = {color: false, ascii: false};

export type RenderAppOptions = Partial<AppProps> & {
	feed: Feed | null;
	history?: History | null;
	/** Provide the dashboard's layout outbox (raw-lines.ts `InkLayout`). */
	inkLayout?: InkLayout;
};

/** The dashboard's props for a test: a fake feed, 120x40, no emulator, plain theme. */
export function appProps(options: Omit<RenderAppOptions, 'inkLayout'>): AppProps {
	const {feed, history = null, ...rest} = options;
	return {
		feed,
		makeEmulatorFeed: () => {
			throw new Error('no emulator in this test');
		},
		delayS: 3600,
		readonlyReason: null,
		theme: quiet,
		pids: null,
		tids: null,
		hostname: 'testbox',
		width: 120,
		height: 40,
		initialHistory: history,
		...rest,
	};
}

/** Render the whole dashboard with a fake feed; size as props (ink-testing-library fixes 100 columns). */
export function renderApp(options: RenderAppOptions) {
	const {inkLayout, ...rest} = options;
	const props = appProps(rest);
	const result = render(
		inkLayout === undefined ? (
			<App {...props} />
		) : (
			<InkLayoutContext.Provider value={inkLayout}>
				<App {...props} />
			</InkLayoutContext.Provider>
		),
	);
	const press = async (key: string) => {
		await waitForInputsToBeReady();
		result.stdin.write(key);
		await tick(20);
	};

	const type = async (text: string) => {
		for (const ch of text) {
			await press(ch);
		}
	};

	return {...result, props, press, type, frame: () => plain(result.lastFrame())};
}

/** A stdout for `runDashboard`: records writes, has a size, emits 'resize'. */
export class FakeStdout extends EventEmitter {
	isTTY = true;
	columns: number;
	rows: number;
	readonly writes: string[] = [];

	constructor(columns = 100, rows = 30) {
		super();
		this.columns = columns;
		this.rows = rows;
	}

	write = (data: string): boolean => {
		this.writes.push(data);
		return true;
	};

	get output(): string {
		return this.writes.join('');
	}
}

/** A stdin in raw mode, as Ink expects it (modelled on ink-testing-library's). */
export class FakeStdin extends EventEmitter {
	isTTY = true;
	rawMode: boolean[] = [];
	private data: string | null = null;

	write = (data: string) => {
		this.data = data;
		this.emit('readable');
		this.emit('data', data);
	};

	read = () => {
		const {data} = this;
		this.data = null;
		return data;
	};

	setEncoding() {}
	setRawMode(mode: boolean) {
		this.rawMode.push(mode);
	}

	resume() {}
	pause() {}
	ref() {}
	unref() {}
}
