/**
A small PNG decoder for screenshots (8-bit RGB or RGBA, not interlaced: what Chromium writes), with
zlib from Node: no image library. `pixel(x, y)` gives [r, g, b].
*/
import {inflateSync} from 'node:zlib';

export type Image = {
	readonly width: number;
	readonly height: number;
	pixel(x: number, y: number): [number, number, number];
};

function paeth(a: number, b: number, c: number): number {
	const p = a + b - c;
	const pa = Math.abs(p - a);
	const pb = Math.abs(p - b);
	const pc = Math.abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(png: Buffer): Image {
	if (png.subarray(0, 8).toString('latin1') !== '\u0089PNG\r\n\u001A\n') throw new Error('not a PNG');
	let at = 8;
	let width = 0;
	let height = 0;
	let channels = 0;
	const idat: Buffer[] = [];
	while (at < png.length) {
		const length = png.readUInt32BE(at);
		const type = png.subarray(at + 4, at + 8).toString('latin1');
		const data = png.subarray(at + 8, at + 8 + length);
		if (type === 'IHDR') {
			width = data.readUInt32BE(0);
			height = data.readUInt32BE(4);
			const depth = data[8];
			const color = data[9];
			if (depth !== 8 || (color !== 2 && color !== 6) || data[12] !== 0) {
				throw new Error(`unsupported PNG: depth ${depth}, colour type ${color}, interlace ${data[12]}`);
			}

			channels = color === 6 ? 4 : 3;
		} else if (type === 'IDAT') {
			idat.push(data);
		} else if (type === 'IEND') {
			break;
		}

		at += 12 + length;
	}

	const raw = inflateSync(Buffer.concat(idat));
	const stride = width * channels;
	const pixels = Buffer.alloc(height * stride);
	for (let y = 0; y < height; y++) {
		const filter = raw[y * (stride + 1)]!;
		const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
		for (let i = 0; i < stride; i++) {
			const a = i >= channels ? pixels[y * stride + i - channels]! : 0;
			const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
			const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0;
			const x = line[i]!;
			const value =
				filter === 0
					? x
					: filter === 1
						? x + a
						: filter === 2
							? x + b
							: filter === 3
								? x + ((a + b) >> 1)
								: x + paeth(a, b, c);
			pixels[y * stride + i] = value & 0xff;
		}
	}

	return {
		width,
		height,
		pixel(x, y) {
			const i = Math.floor(y) * stride + Math.floor(x) * channels;
			return [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
		},
	};
}
