/**
A file klptop writes for the operator (the report's chart): replaced whole or not at all (a temp
file beside it, renamed over it), like export's textfile and capture's archive.
*/
import fs from 'node:fs';
import {replaceFileSync} from '../script/common.js';

export function writeTextFile(file: string, content: string): void {
	replaceFileSync(file, (temp) => {
		fs.writeFileSync(temp, content, {flag: 'wx', mode: 0o644});
	});
}
