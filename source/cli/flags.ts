/** Parsed command-line flags, as `cli.tsx` hands them over. */
export type Flags = {
	readonly root?: string | undefined;
	readonly emulate?: string | undefined;
	readonly kernel?: string | undefined;
	readonly threads?: number | undefined;
	readonly seed?: number | undefined;
	readonly at?: number | undefined;
	readonly once: boolean;
	readonly json: boolean;
	readonly delay?: number | undefined;
	readonly pid?: string | undefined;
	readonly tid?: string | undefined;
	readonly readonly: boolean;
	readonly color: boolean;
	readonly ascii: boolean;
	readonly list: boolean;
	readonly confirm?: string | undefined;
	readonly batch: boolean;
	readonly iterations?: number | undefined;
	readonly timeout?: number | undefined;
	readonly reverseOnTimeout: boolean;
	readonly textfile?: string | undefined;
	readonly listen?: string | undefined;
	readonly output?: string | undefined;
};

/** `1,2, 3` -> [1, 2, 3]; throws a usage error on anything else. */
export function parseIdList(value: string | undefined, name: string): number[] | null {
	if (value === undefined || value === '') {
		return null;
	}

	const ids = value.split(',').map((part) => {
		const text = part.trim();
		if (!/^\d+$/.test(text)) {
			throw new UsageError(`--${name} takes numbers separated by commas, got '${value}'`);
		}

		return Number(text);
	});
	return ids;
}

export class UsageError extends Error {}
