/*
A small model of a terminal for tests: replays what the dashboard wrote (cursor positioning, erase
line/screen, the alternate screen, SGR codes ignored) onto a grid of cells, so a test can read the
screen a user would see, and check that leaving the alternate screen brings the old one back.
It understands exactly the sequences the frame writer and `runDashboard` emit; anything else in the
output fails the test loudly instead of being silently misread.
*/

export class ScreenModel {
	readonly columns: number;
	readonly rows: number;
	alternate = false;
	cursorVisible = true;
	private main: string[][];
	private alt: string[][];
	private mainStyle: string[][];
	private altStyle: string[][];
	/** Current SGR attributes, as a map attribute -> code (independent of the code under test). */
	private attrs = new Map<string, string>();
	private row = 0;
	private col = 0;

	constructor(columns: number, rows: number, initial: readonly string[] = []) {
		this.columns = columns;
		this.rows = rows;
		this.main = this.blank();
		this.alt = this.blank();
		this.mainStyle = this.blank('');
		this.altStyle = this.blank('');
		initial.forEach((line, i) => {
			[...line].slice(0, columns).forEach((ch, j) => {
				this.main[i]![j] = ch;
			});
		});
	}

	private blank(fill = ' '): string[][] {
		return Array.from({length: this.rows}, () => Array.from({length: this.columns}, () => fill));
	}

	private get grid(): string[][] {
		return this.alternate ? this.alt : this.main;
	}

	private get styleGrid(): string[][] {
		return this.alternate ? this.altStyle : this.mainStyle;
	}

	private get style(): string {
		return [...this.attrs]
			.sort()
			.map(([, code]) => code)
			.join(';');
	}

	private sgr(params: number[]): void {
		const codes = params.length === 0 ? [0] : params;
		for (const code of codes) {
			if (code === 0) this.attrs.clear();
			else if ([1, 2, 3, 4, 7, 9].includes(code)) this.attrs.set(`a${code}`, String(code));
			else if (code === 22) {
				this.attrs.delete('a1');
				this.attrs.delete('a2');
			} else if ([23, 24, 27, 29].includes(code)) this.attrs.delete(`a${code - 20}`);
			else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) this.attrs.set('fg', String(code));
			else if (code === 39) this.attrs.delete('fg');
			else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) this.attrs.set('bg', String(code));
			else if (code === 49) this.attrs.delete('bg');
			else throw new Error(`unexpected SGR ${code}`);
		}
	}

	/** Style of each cell of a row ('' default), to compare what two byte streams left on screen. */
	styles(row: number): string[] {
		return [...this.styleGrid[row]!];
	}

	/** Apply output bytes. */
	feed(data: string): void {
		// eslint-disable-next-line no-control-regex
		const token = /\u001B\[([?]?)([0-9;]*)([A-Za-z])|([^\u001B]+)|(\u001B.?)/gy;
		let m: RegExpExecArray | null;
		while ((m = token.exec(data)) !== null) {
			if (m[4] !== undefined) {
				this.text(m[4]);
				continue;
			}

			if (m[5] !== undefined) {
				throw new Error(`unexpected escape ${JSON.stringify(m[5])}`);
			}

			const [, privateMark, params = '', final] = m;
			const numbers = params === '' ? [] : params.split(';').map(Number);
			if (privateMark === '?') {
				const mode = numbers[0];
				const on = final === 'h';
				if (mode === 1049) {
					this.alternate = on;
					if (on) {
						this.alt = this.blank();
						this.altStyle = this.blank('');
					}
				} else if (mode === 25) {
					this.cursorVisible = on;
				} else if (mode !== 2026) {
					throw new Error(`unexpected private mode ${mode}`);
				}

				continue;
			}

			switch (final) {
				case 'H':
					this.row = Math.min(this.rows - 1, (numbers[0] ?? 1) - 1);
					this.col = Math.min(this.columns - 1, (numbers[1] ?? 1) - 1);
					break;
				case 'J':
					if (numbers[0] === 2) {
						if (this.alternate) {
							this.alt = this.blank();
							this.altStyle = this.blank('');
						} else {
							this.main = this.blank();
							this.mainStyle = this.blank('');
						}
					}

					break;
				case 'K':
					for (let j = this.col; j < this.columns; j++) {
						this.grid[this.row]![j] = ' ';
						this.styleGrid[this.row]![j] = this.attrs.has('bg') ? `bg${this.attrs.get('bg')}` : '';
					}

					break;
				case 'm':
					this.sgr(numbers);
					break;
				default:
					throw new Error(`unexpected CSI ${final}`);
			}
		}
	}

	private text(text: string): void {
		for (const ch of text) {
			if (ch === '\n') {
				this.row = Math.min(this.rows - 1, this.row + 1);
				this.col = 0;
				continue;
			}

			if (ch === '\r') {
				this.col = 0;
				continue;
			}

			if (this.col < this.columns) {
				this.grid[this.row]![this.col] = ch;
				this.styleGrid[this.row]![this.col] = this.style;
				this.col++;
			}
		}
	}

	/** The visible screen, one string per row, trailing spaces trimmed. */
	lines(): string[] {
		return this.grid.map((row) => row.join('').trimEnd());
	}

	screen(): string {
		return this.lines().join('\n');
	}
}
