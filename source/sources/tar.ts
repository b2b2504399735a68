/**
A small ustar (POSIX.1-1988, with POSIX.1-2001 pax headers where ustar cannot say it) writer and
reader: enough for klptop's capture archives, readable by GNU tar, bsdtar and Python's tarfile.

Writer: regular files and directories; a name longer than ustar's name/prefix split allows (a
livepatch function directory can be long) or an id beyond 7 octal digits goes into a pax `x`
header. Reader: ustar, pax `x`/`g` and GNU `L`/`K` long names; checksums verified; anything but
regular files and directories (links, devices, fifos) is kept as type `other` and never followed.

Names in an archive are data: `safeArchivePath()` refuses absolute names and `..` components, and
the reader refuses an archive that contains one rather than guess what it meant.
*/

const block = 512;

export type TarEntryType = 'file' | 'directory' | 'other';

export type TarEntry = {
	/** Normalised relative path: no leading `./` or `/`, no trailing `/`, no `..`. */
	readonly name: string;
	readonly type: TarEntryType;
	readonly mode: number;
	readonly uid: number;
	readonly gid: number;
	/** Seconds since the epoch. */
	readonly mtime: number;
	/** File contents (a view into the archive buffer; empty for directories). */
	readonly data: Buffer;
};

export type TarWriteOptions = {
	readonly mode?: number;
	readonly uid?: number;
	readonly gid?: number;
	/** Seconds since the epoch. */
	readonly mtime?: number;
};

export class TarError extends Error {}

const unusualName = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|^\/|\/$|\\|\0/;

/**
Normalise an archive member name; null when it is unsafe (absolute, `..`, NUL) or empty.
`./a//b/` -> `a/b`.
*/
export function safeArchivePath(name: string): string | null {
	// Fast path: already normal (no empty, `.` or `..` component, not absolute, no trailing slash).
	if (name !== '' && !unusualName.test(name)) {
		return name;
	}

	if (name.includes('\0') || name.startsWith('/') || name.includes('\\')) {
		return null;
	}

	const parts: string[] = [];
	for (const part of name.split('/')) {
		if (part === '' || part === '.') {
			continue;
		}

		if (part === '..') {
			return null;
		}

		parts.push(part);
	}

	return parts.length === 0 ? null : parts.join('/');
}

// ---------------------------------------------------------------------------------------------------
// Writer

function writeString(header: Buffer, offset: number, length: number, text: string): boolean {
	const bytes = Buffer.from(text, 'utf8');
	if (bytes.length > length) {
		return false;
	}

	bytes.copy(header, offset);
	return true;
}

/** Octal, zero-padded to `length - 1` digits and NUL-terminated; false when it does not fit. */
function writeOctal(header: Buffer, offset: number, length: number, value: number): boolean {
	const text = Math.max(0, Math.floor(value)).toString(8);
	if (text.length > length - 1) {
		return false;
	}

	header.write(text.padStart(length - 1, '0') + '\0', offset, length, 'ascii');
	return true;
}

function checksum(header: Buffer): number {
	let sum = 0;
	for (let i = 0; i < block; i++) {
		sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
	}

	return sum;
}

/** Split a name into ustar prefix (<= 155 bytes) and name (<= 100 bytes) at a `/`; null when impossible. */
function splitName(name: string): {prefix: string; name: string} | null {
	if (Buffer.byteLength(name) <= 100) {
		return {prefix: '', name};
	}

	for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
		const prefix = name.slice(0, i);
		const rest = name.slice(i + 1);
		if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') {
			return {prefix, name: rest};
		}
	}

	return null;
}

type HeaderFields = {
	name: string;
	typeflag: string;
	size: number;
	mode: number;
	uid: number;
	gid: number;
	mtime: number;
};

/** A ustar header; returns null when a field does not fit (the caller then adds a pax header). */
function ustarHeader(fields: HeaderFields): Buffer | null {
	const header = Buffer.alloc(block);
	const split = splitName(fields.name);
	if (
		split === null ||
		!writeString(header, 0, 100, split.name) ||
		!writeOctal(header, 100, 8, fields.mode & 0o7777) ||
		!writeOctal(header, 108, 8, fields.uid) ||
		!writeOctal(header, 116, 8, fields.gid) ||
		!writeOctal(header, 124, 12, fields.size) ||
		!writeOctal(header, 136, 12, fields.mtime)
	) {
		return null;
	}

	header.write(fields.typeflag, 156, 1, 'ascii');
	header.write('ustar\u000000', 257, 8, 'ascii');
	writeString(header, 345, 155, split.prefix);
	header.write(checksum(header).toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
	return header;
}

function padding(size: number): Buffer {
	const rest = size % block;
	return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(block - rest);
}

/** One pax record: `"%d %s=%s\n"` where the length counts itself. */
function paxRecord(key: string, value: string): string {
	const body = ` ${key}=${value}\n`;
	let length = Buffer.byteLength(body) + 1;
	while (String(length).length + Buffer.byteLength(body) !== length) {
		length = String(length).length + Buffer.byteLength(body);
	}

	return `${length}${body}`;
}

/** Header blocks (pax + ustar, or ustar alone) for one member. */
function headersFor(fields: HeaderFields): Buffer[] {
	const plain = ustarHeader(fields);
	if (plain !== null) {
		return [plain];
	}

	let records = '';
	if (splitName(fields.name) === null) {
		records += paxRecord('path', fields.name);
	}

	if (fields.uid > 0o7777777) {
		records += paxRecord('uid', String(fields.uid));
	}

	if (fields.gid > 0o7777777) {
		records += paxRecord('gid', String(fields.gid));
	}

	if (fields.size > 0o77777777777) {
		records += paxRecord('size', String(fields.size));
	}

	const body = Buffer.from(records, 'utf8');
	// ASCII stand-ins that always fit; readers that know pax use the `path` record instead.
	const ascii = fields.name.replaceAll(/[^\x20-\x7e]/g, '_');
	const fallback = ascii.slice(-90).replace(/^\/+/, '') || 'x';
	const clamped = {
		...fields,
		uid: Math.min(fields.uid, 0o7777777),
		gid: Math.min(fields.gid, 0o7777777),
	};
	const pax = ustarHeader({
		...clamped,
		name: `PaxHeader/${fallback}`,
		typeflag: 'x',
		size: body.length,
		mode: 0o644,
	});
	const main = ustarHeader({...clamped, name: fallback, size: Math.min(fields.size, 0o77777777777)});
	if (pax === null || main === null) {
		throw new TarError(`cannot represent '${fields.name}' in a tar header`);
	}

	return [pax, body, padding(body.length), main];
}

export type TarWriter = {
	/** Bytes of one regular file member (headers, data, padding). */
	file(name: string, data: Buffer | string, options?: TarWriteOptions): Buffer[];
	/** Bytes of one directory member. */
	directory(name: string, options?: TarWriteOptions): Buffer[];
	/** The end-of-archive marker (two zero blocks). */
	end(): Buffer[];
};

/** Produces member bytes; the caller streams them (to gzip, a file, ...). */
export function createTarWriter(defaults: TarWriteOptions = {}): TarWriter {
	const mtime = defaults.mtime ?? Math.floor(Date.now() / 1000);
	const fieldsOf = (
		name: string,
		typeflag: string,
		size: number,
		options: TarWriteOptions,
		mode: number,
	): HeaderFields => {
		const safe = safeArchivePath(name);
		if (safe === null) {
			throw new TarError(`unsafe member name '${name}'`);
		}

		return {
			name: typeflag === '5' ? `${safe}/` : safe,
			typeflag,
			size,
			mode: options.mode ?? defaults.mode ?? mode,
			uid: options.uid ?? defaults.uid ?? 0,
			gid: options.gid ?? defaults.gid ?? 0,
			mtime: options.mtime ?? mtime,
		};
	};

	return {
		file(name, data, options = {}) {
			const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
			return [...headersFor(fieldsOf(name, '0', bytes.length, options, 0o644)), bytes, padding(bytes.length)];
		},
		directory(name, options = {}) {
			return headersFor(fieldsOf(name, '5', 0, options, 0o755));
		},
		end() {
			return [Buffer.alloc(block * 2)];
		},
	};
}

// ---------------------------------------------------------------------------------------------------
// Reader

function readString(buffer: Buffer, offset: number, length: number): string {
	let stop = offset;
	const limit = offset + length;
	while (stop < limit && buffer[stop] !== 0) {
		stop++;
	}

	return buffer.toString('utf8', offset, stop);
}

function readOctal(buffer: Buffer, offset: number, length: number, field: string): number {
	const first = buffer[offset]!;
	if (first & 0x80) {
		// GNU base-256 for big values.
		let value = 0;
		for (let i = 1; i < length; i++) {
			value = value * 256 + buffer[offset + i]!;
		}

		return value;
	}

	// Octal digits, optionally surrounded by spaces and ended by NUL or space.
	let value = 0;
	let digits = 0;
	let i = offset;
	const limit = offset + length;
	while (i < limit && buffer[i] === 0x20) {
		i++;
	}

	for (; i < limit; i++) {
		const byte = buffer[i]!;
		if (byte >= 0x30 && byte <= 0x37) {
			value = value * 8 + (byte - 0x30);
			digits++;
		} else {
			break;
		}
	}

	for (; i < limit; i++) {
		const byte = buffer[i]!;
		if (byte === 0) {
			break;
		}

		if (byte !== 0x20) {
			throw new TarError(`bad ${field} field '${readString(buffer, offset, length)}' in a tar header`);
		}
	}

	return digits === 0 ? 0 : value;
}

function parsePax(data: Buffer): Map<string, string> {
	const records = new Map<string, string>();
	let offset = 0;
	while (offset < data.length) {
		const space = data.indexOf(0x20, offset);
		if (space < 0) {
			break;
		}

		const length = Number(data.toString('ascii', offset, space));
		if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) {
			throw new TarError('bad pax extended header');
		}

		const record = data.toString('utf8', space + 1, offset + length - 1);
		const equals = record.indexOf('=');
		if (equals > 0) {
			records.set(record.slice(0, equals), record.slice(equals + 1));
		}

		offset += length;
	}

	return records;
}

function isZeroBlock(buffer: Buffer, offset: number): boolean {
	for (let i = offset; i < offset + block; i++) {
		if (buffer[i] !== 0) {
			return false;
		}
	}

	return true;
}

/**
Every member of an uncompressed tar archive. Throws `TarError` on a damaged archive, and on a
member whose name is absolute or contains `..` (path traversal is refused, not repaired).
*/
export function parseTar(buffer: Buffer): TarEntry[] {
	const entries: TarEntry[] = [];
	let offset = 0;
	let pax = new Map<string, string>();
	let globalPax = new Map<string, string>();
	let longName: string | null = null;
	let ended = false;
	while (offset + block <= buffer.length) {
		if (isZeroBlock(buffer, offset)) {
			ended = true;
			break;
		}

		let stored: number;
		try {
			stored = readOctal(buffer, offset + 148, 8, 'checksum');
		} catch {
			throw new TarError(`not a tar archive, or damaged (bad header at byte ${offset})`);
		}

		const header = buffer.subarray(offset, offset + block);
		if (stored !== checksum(header)) {
			throw new TarError(`not a tar archive, or damaged (header checksum mismatch at byte ${offset})`);
		}

		const typeflag = String.fromCharCode(header[156] || 0x30);
		let size = readOctal(header, 124, 12, 'size');
		const magic = header.toString('ascii', 257, 262);
		const prefix = magic === 'ustar' ? readString(header, 345, 155) : '';
		let name = readString(header, 0, 100);
		if (prefix !== '') {
			name = `${prefix}/${name}`;
		}

		const overrides =
			globalPax.size === 0 ? pax : pax.size === 0 ? globalPax : new Map([...globalPax, ...pax]);
		if (overrides.has('size')) {
			size = Number(overrides.get('size'));
		}

		const dataStart = offset + block;
		const dataEnd = dataStart + size;
		if (!Number.isSafeInteger(size) || size < 0 || dataEnd > buffer.length) {
			throw new TarError(`tar member '${name}' is truncated`);
		}

		const data = buffer.subarray(dataStart, dataEnd);
		offset = dataStart + Math.ceil(size / block) * block;

		if (typeflag === 'x') {
			pax = parsePax(data);
			continue;
		}

		if (typeflag === 'g') {
			globalPax = new Map([...globalPax, ...parsePax(data)]);
			continue;
		}

		if (typeflag === 'L') {
			longName = readString(data, 0, data.length);
			continue;
		}

		if (typeflag === 'K') {
			continue;
		}

		if (longName !== null) {
			name = longName;
		}

		name = overrides.get('path') ?? name;
		const safe = safeArchivePath(name);
		if (safe === null) {
			throw new TarError(`refusing tar member '${name}': absolute path or '..' (path traversal)`);
		}

		const type: TarEntryType =
			typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
		entries.push({
			name: safe,
			type: type === 'file' && name.endsWith('/') ? 'directory' : type,
			mode: readOctal(header, 100, 8, 'mode'),
			uid: overrides.has('uid') ? Number(overrides.get('uid')) : readOctal(header, 108, 8, 'uid'),
			gid: overrides.has('gid') ? Number(overrides.get('gid')) : readOctal(header, 116, 8, 'gid'),
			mtime: readOctal(header, 136, 12, 'mtime'),
			data: type === 'file' ? data : Buffer.alloc(0),
		});
		if (pax.size > 0) {
			pax = new Map();
		}

		longName = null;
	}

	if (!ended && offset < buffer.length) {
		throw new TarError(`tar archive truncated at byte ${offset} (partial header)`);
	}

	return entries;
}
