/**
Make a string that came from the kernel or a process safe to put on a terminal.

Any process can name itself (`prctl(PR_SET_NAME)`), `cmdline` is free text, and patch, object and
function names come from modules: none of it may reach root's terminal as control sequences.
procps' `escape_str` is the reference: C0 controls, DEL, C1 controls (U+0080-U+009F), lone
surrogates (invalid UTF-8 decodes to U+FFFD already) and private-use code points become `?`.
We also replace the Unicode bidi overrides and zero-width/format characters that can make a name
look like another (Trojan Source, CVE-2021-42574), and line/paragraph separators.

Ink does not sanitise (vadimdemedes/ink#362, #957): every view calls this on every foreign string.
*/
export function sanitize(text: string): string {
	let out = '';
	for (const ch of text) {
		const cp = ch.codePointAt(0)!;
		out += isUnsafe(cp) ? '?' : ch;
	}

	return out;
}

/** Printable ASCII only: a native match, fast even in code V8 has not optimized yet (a one-shot scan). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** True when the string needs no change: lets hot paths skip the copy. */
export function isClean(text: string): boolean {
	return PRINTABLE_ASCII.test(text) || sanitize(text) === text;
}

/** Sanitise, with a fast path for the common all-ASCII case. */
export function clean(text: string): string {
	return isClean(text) ? text : sanitize(text);
}

function isUnsafe(cp: number): boolean {
	return (
		cp < 0x20 || // C0, includes ESC, CR, LF, TAB, BEL
		cp === 0x7f || // DEL
		(cp >= 0x80 && cp <= 0x9f) || // C1, includes CSI (0x9b) and OSC (0x9d)
		(cp >= 0xd800 && cp <= 0xdfff) || // lone surrogates
		(cp >= 0xe000 && cp <= 0xf8ff) || // private use
		cp >= 0xf0000 || // supplementary private use planes
		cp === 0x00ad || // soft hyphen
		(cp >= 0x200b && cp <= 0x200f) || // zero-width and LRM/RLM
		(cp >= 0x2028 && cp <= 0x202e) || // line/paragraph separators, bidi embeddings/overrides
		(cp >= 0x2060 && cp <= 0x206f) || // word joiner, invisible operators, bidi isolates
		cp === 0xfeff || // BOM / zero-width no-break space
		(cp >= 0xfff9 && cp <= 0xfffb) // interlinear annotations
	);
}
