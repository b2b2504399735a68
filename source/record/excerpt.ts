/**
The last minutes of a running recorder's file as a recording of their own, for `klptop capture` to
embed: a bug report then carries how the transition got where it is, not only where it is.
*/
import {encodeFrame} from './delta.js';
import {encodeRecord, magicLine} from './format.js';
import type {RecordingHeader} from './format.js';
import type {SourceInfo} from '../model/types.js';
import {findRecorders} from '../state/recorder.js';
import {loadRecording} from './load.js';
import {createReplay} from './replay.js';

export {embeddedRecordingName} from './load.js';

/** @default 10 minutes */
export const excerptMs = 10 * 60_000;

/** The recording of `file` from `since` (ms since the epoch) on, as the bytes of a recording file. */
export function recordingExcerpt(file: string, since: number): Buffer {
	const recording = loadRecording(file);
	const replay = createReplay(recording);
	const from = replay.indexAt(since);
	const {header} = recording;
	const snapshot = replay.snapshotAt(from);
	const excerptHeader: RecordingHeader = {...header, segment: 0, kernel: snapshot.kernel.release};
	const parts = [magicLine(), encodeRecord(excerptHeader)];
	parts.push(encodeRecord(encodeFrame(null, snapshot, {t: recording.frames[from]!.t, full: true})));
	for (const frame of recording.frames.slice(from + 1)) parts.push(encodeRecord(frame));
	for (const {time, entry} of recording.actions) {
		if (time >= snapshot.time) parts.push(encodeRecord({k: 'a', t: time - header.start, entry}));
	}

	return Buffer.concat(parts);
}

/**
The excerpt of the newest recorder running now on `source` (found through its announcement in the
state directory), or null when none runs, or its file cannot be read. The emulator runs in its own
process: no recorder ever records the one a capture reads.
*/
export function runningRecorderExcerpt(
	stateDir: string,
	source: SourceInfo,
	now: number,
): {readonly file: string; readonly bytes: Buffer} | null {
	if (source.kind === 'emulator') return null;
	for (const recorder of findRecorders(stateDir, source)) {
		try {
			return {file: recorder.file, bytes: recordingExcerpt(recorder.file, now - excerptMs)};
		} catch {
			// Unreadable (rotated away this instant, not ours): try the next one.
		}
	}

	return null;
}
