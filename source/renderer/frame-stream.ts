/**
The stream Ink renders to (see `index.ts` for why the renderer exists).
*/
import {EventEmitter} from 'node:events';
import type {FrameWriter} from './frame-writer.js';
import {markerLength, resolveRawLines} from './raw-lines.js';
import type {InkLayout, RawLines} from './raw-lines.js';

/**
The stream Ink renders to. Ink runs in debug mode, which writes each complete frame in one call;
this stream hands it to the frame writer, which puts only the changed lines on the real terminal.
Before that, synchronously (the frame belongs to the render that registered its lines), the views'
finished lines replace their markers (`raw-lines.ts`: Ink never takes them apart character by
character). Rows and 'resize' come from the real terminal; `columns`, the width Ink lays frames
out in, is a marker's while the screen holds only finished lines (`InkLayout`), the terminal's
otherwise; `terminalColumns` is always the terminal's (the App's width).
*/
export class FrameStream extends EventEmitter {
	readonly isTTY = true;
	private readonly terminal: NodeJS.WriteStream;
	private readonly writer: FrameWriter;
	private readonly rawLines: RawLines;
	private readonly layout: InkLayout;

	constructor(terminal: NodeJS.WriteStream, writer: FrameWriter, rawLines: RawLines, layout: InkLayout) {
		super();
		this.terminal = terminal;
		this.writer = writer;
		this.rawLines = rawLines;
		this.layout = layout;
	}

	get columns(): number {
		return this.layout.narrow ? markerLength : this.terminalColumns;
	}

	get terminalColumns(): number {
		return this.terminal.columns || 80;
	}

	get rows(): number {
		return this.terminal.rows || 24;
	}

	write = (data: string): boolean => {
		if (data !== '') this.writer.frame(resolveRawLines(data, this.rawLines));
		return true;
	};
}
