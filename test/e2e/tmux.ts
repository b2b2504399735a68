/*
Drive a program in a real terminal: tmux on a private socket (so no other tmux user is touched),
keys with send-keys, the screen with capture-pane, and waits that poll the screen instead of
sleeping. Every session runs a plain shell, so after the program ends the shell's normal screen,
its prompt and its echo are there to check that the terminal was given back intact.
*/
import {execFileSync} from 'node:child_process';

export const repoRoot = new URL('../../', import.meta.url).pathname;

export async function sleep(ms: number): Promise<void> {
	await new Promise((resolve) => {
		setTimeout(resolve, ms);
	});
}

export class Tmux {
	readonly socket: string;
	readonly session: string;

	constructor(name: string) {
		this.socket = `klptop-e2e-${process.pid}-${name}`;
		this.session = name;
	}

	run(...args: string[]): string {
		return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], {encoding: 'utf8'});
	}

	/** A shell in a detached window of `width` x `height`, in the repository. */
	start(width: number, height: number): void {
		this.run(
			'new-session',
			'-d',
			'-s',
			this.session,
			'-x',
			String(width),
			'-y',
			String(height),
			'-c',
			repoRoot,
			'env -i PATH="$PATH" HOME="$HOME" TERM=xterm-256color CI=false PS1="$ " bash --norc --noprofile',
		);
		// A detached session keeps the size we give it, not that of some client.
		this.run('set-option', '-t', this.session, 'window-size', 'manual');
		// Wait for the shell's prompt: keys typed before bash has set up its line editor are echoed
		// by the tty first and redrawn after the prompt (on a loaded machine the command line then
		// reads `<typed>$ <typed>`). capture-pane drops the trailing space of `$ `.
		const deadline = Date.now() + 20_000;
		const pause = new Int32Array(new SharedArrayBuffer(4));
		while (!this.screen().startsWith('$') && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
	}

	/** Type a command line at the shell and press Enter. */
	type(line: string): void {
		this.run('send-keys', '-t', this.session, '-l', line);
		this.run('send-keys', '-t', this.session, 'Enter');
	}

	/** Press keys by tmux name (`Enter`, `Escape`, `Down`, `C-l`) or literal text with `literal`. */
	keys(...names: string[]): void {
		this.run('send-keys', '-t', this.session, ...names);
	}

	literal(text: string): void {
		this.run('send-keys', '-t', this.session, '-l', text);
	}

	screen(): string {
		return this.run('capture-pane', '-p', '-t', this.session);
	}

	lines(): string[] {
		return this.screen().replace(/\n$/, '').split('\n');
	}

	format(spec: string): string {
		return this.run('display-message', '-p', '-t', this.session, spec).trim();
	}

	alternateOn(): boolean {
		return this.format('#{alternate_on}') === '1';
	}

	size(): {width: number; height: number} {
		const [width, height] = this.format('#{pane_width} #{pane_height}').split(' ').map(Number);
		return {width: width!, height: height!};
	}

	resize(width: number, height: number): void {
		this.run('resize-window', '-t', this.session, '-x', String(width), '-y', String(height));
	}

	/** Pid of the program the shell is running (the shell's child), or null. */
	programPid(): number | null {
		const shell = this.format('#{pane_pid}');
		try {
			const out = execFileSync('pgrep', ['-P', shell], {encoding: 'utf8'}).trim();
			return out === '' ? null : Number(out.split('\n')[0]);
		} catch {
			return null;
		}
	}

	/** Poll the screen until `check` holds; fail with the screen in the message. */
	async waitFor(check: (screen: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const screen = this.screen();
			if (check(screen)) return screen;
			if (Date.now() > deadline) {
				throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
			}

			await sleep(50);
		}
	}

	async waitForText(text: string | RegExp, timeoutMs?: number): Promise<string> {
		return this.waitFor(
			(screen) => (typeof text === 'string' ? screen.includes(text) : text.test(screen)),
			String(text),
			timeoutMs,
		);
	}

	kill(): void {
		try {
			this.run('kill-server');
		} catch {
			// Already gone.
		}
	}
}
