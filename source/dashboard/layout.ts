/**
How the screen is cut into areas, from the terminal size alone: one pure function shared by the
reducer (page sizes, scrolling) and the views (how many lines each area draws).

The frame uses every row and never more: the frame writer (`frame-writer.ts`) positions each line
absolutely and drops anything below the last row, and a frame taller than the terminal would make
any line-based writer scroll and redraw everything.
*/

/** Below this size the dashboard shows only a "terminal too small" notice. */
export const minWidth = 60;
export const minHeight = 15;

export type Layout = {
	readonly width: number;
	/** Lines the frame may use (the terminal's rows). */
	readonly frameHeight: number;
	readonly tooSmall: boolean;
	readonly headerRows: number;
	/** Patch lines shown under the patch panel's title line. */
	readonly patchRows: number;
	/** The transition's sparkline and its marks under the patch lines (0 or 2). */
	readonly timelineRows: number;
	/** Task table body lines (under its column header). */
	readonly tableRows: number;
	/** Event log lines under its title line. */
	readonly logRows: number;
	/** Body lines of a full view (help, details): frame minus header, the view's title and the two bottom lines. */
	readonly pageRows: number;
};

/** From this height on, a transition's timeline gets its two lines in the patch panel. */
export const timelineMinHeight = 20;

export function computeLayout(width: number, height: number, patchCount: number, timeline = false): Layout {
	const frameHeight = Math.max(1, height);
	const tooSmall = width < minWidth || height < minHeight;
	const headerRows = 3;
	const maxPatchRows = height >= 35 ? 6 : height >= 24 ? 3 : 2;
	const patchRows = Math.min(Math.max(patchCount, 1), maxPatchRows);
	const logRows = height >= 40 ? 6 : height >= 30 ? 4 : height >= 20 ? 2 : 1;
	const timelineRows = timeline && height >= timelineMinHeight ? 2 : 0;
	// Header, patch title + rows + timeline, table header, log title + rows, status line, footer.
	const fixed = headerRows + 1 + patchRows + timelineRows + 1 + 1 + logRows + 1 + 1;
	const tableRows = Math.max(1, frameHeight - fixed);
	return {
		width,
		frameHeight,
		tooSmall,
		headerRows,
		patchRows,
		timelineRows,
		tableRows,
		logRows,
		pageRows: Math.max(1, frameHeight - headerRows - 3),
	};
}
