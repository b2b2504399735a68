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
	private row = 0;
	private col = 0;

	constructor(columns: number, rows: number, initial: readonly string[] = []) {
		this.columns = columns;
		this.rows = rows;
		this.main = this.blank();
		this.alt = this.blank();
		initial.forEach((line, i) => {
			[...line].slice(0, columns).forEach((ch, j) => {
				this.main[i]![j] = ch;
			});
		});
	}

	private blank(): string[][] {
		return Array.from({length: this.rows}, () => Array.from({length: this.columns}, () => ' '));
	}

	private get grid(): string[][] {
		return this.alternate ? this.alt : this.main;
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
					if (on) this.alt = this.blank();
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
						if (this.alternate) this.alt = this.blank();
						else this.main = this.blank();
					}

					break;
				case 'K':
					for (let j = this.col; j < this.columns; j++) this.grid[this.row]![j] = ' ';
					break;
				case 'm':
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
