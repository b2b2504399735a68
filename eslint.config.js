// @ts-check
import fs from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

/*
The boundaries of ARCHITECTURE.md ("Rules of each folder"), enforced: a crossing is a lint error
instead of a review comment. Each Node module or process-wide hook below is allowed in the folders
listed with it and forbidden everywhere else under source/ (a new folder starts with none of them).
*/
const boundaries = [
	{
		modules: ['fs', 'fs/promises'],
		allowed: ['sources', 'actions', 'emulator', 'state', 'script', 'record'],
		why: 'only the data sources (reading), the actions (acting), the emulator (its disk mirror), state (XDG files), script and record (output files) touch the filesystem',
	},
	{
		modules: ['worker_threads'],
		allowed: ['sources', 'emulator'],
		why: 'threads belong to the walk helper (sources) and the emulator mirror',
	},
	{
		modules: ['net', 'http', 'https'],
		allowed: ['script', 'emulator'],
		why: 'sockets belong to export --listen (script) and the emulator tree protocol',
	},
	{
		modules: ['child_process'],
		allowed: ['fleet'],
		why: 'child processes (the system ssh) belong to the fleet transport',
	},
];
/** Folders that may install process-wide signal/exit handlers or end the process. */
const processHooksAllowed = ['cli', 'ui', 'actions', 'script', 'record', 'fleet'];

const folders = fs
	.readdirSync(new URL('source', import.meta.url), {withFileTypes: true})
	.filter((entry) => entry.isDirectory())
	.map((entry) => entry.name);

const noKill = {
	selector: "MemberExpression[object.name='process'][property.name='kill']",
	message: 'Only source/actions may send signals (ARCHITECTURE.md).',
};
const noProcessHooks = {
	selector:
		"CallExpression[callee.object.name='process'][callee.property.name=/^(on|once|off|addListener|removeListener|prependListener|exit|abort)$/]",
	message: `Process-wide handlers and process.exit belong to ${processHooksAllowed.join(', ')} (ARCHITECTURE.md).`,
};
/** Outside source/actions, the engine is reached through its index only. */
const actionsInternals = {
	group: ['**/actions/*', '!**/actions/index.js'],
	message: 'Import the action engine through source/actions/index.js (ARCHITECTURE.md).',
};
/** Views are pure functions of props: types from anywhere, values only from pure formatting. */
const viewImports = {
	group: [
		'**/dashboard/*',
		'**/ui/*',
		'**/hooks/*',
		'**/actions/*',
		'**/sources/*',
		'**/state/*',
		'**/script/*',
	],
	allowTypeImports: true,
	message:
		'Views import only types and pure formatting; the dashboard hands them data as props (ARCHITECTURE.md).',
};

/** `alsoAllowed`: modules one file of the folder may use besides the folder's own allowances. */
function restrictedImports(folder, alsoAllowed = []) {
	const paths = boundaries
		.filter((rule) => !rule.allowed.includes(folder))
		.flatMap((rule) =>
			rule.modules
				.filter((name) => !alsoAllowed.includes(name))
				.flatMap((name) => [name, `node:${name}`])
				.map((name) => ({name, message: `${rule.why} (ARCHITECTURE.md).`})),
		);
	const patterns = [
		...(folder === 'actions' ? [] : [actionsInternals]),
		...(folder === 'views' ? [viewImports] : []),
	];
	return ['error', {paths, patterns}];
}

function restrictedSyntax(folder) {
	return [
		'error',
		...(folder === 'actions' || folder === 'emulator' ? [] : [noKill]),
		...(processHooksAllowed.includes(folder) ? [] : [noProcessHooks]),
	];
}

export default tseslint.config(
	{
		ignores: [
			'dist/**',
			'node_modules/**',
			'coverage/**',
			'test/kernel/build/**',
			'.tmp/**',
			'bench/out/**',
			'**/*.c',
		],
	},
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		files: ['**/*.{ts,tsx}'],
		plugins: {'react-hooks': reactHooks},
		rules: {
			'react-hooks/rules-of-hooks': 'error',
			'react-hooks/exhaustive-deps': 'warn',
			'@typescript-eslint/consistent-type-imports': 'error',
			'@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
			eqeqeq: ['error', 'always'],
			'no-console': 'off',
		},
	},
	// Files directly in source/ (keymap, version) and cli.tsx: the rules of a folder with no allowances.
	{
		files: ['source/*.{ts,tsx}', 'cli.tsx'],
		rules: {
			'@typescript-eslint/no-restricted-imports': restrictedImports(''),
			'no-restricted-syntax': restrictedSyntax('cli'),
		},
	},
	...folders.map((folder) => ({
		files: [`source/${folder}/**/*.{ts,tsx}`],
		rules: {
			'@typescript-eslint/no-restricted-imports': restrictedImports(folder),
			'no-restricted-syntax': restrictedSyntax(folder),
		},
	})),
	{
		// The fleet's host list file, its ssh layer (private control directory) and --push's copies.
		files: ['source/fleet/inventory.ts', 'source/fleet/ssh.ts', 'source/fleet/push.ts'],
		rules: {
			'@typescript-eslint/no-restricted-imports': restrictedImports('fleet', ['fs', 'fs/promises']),
		},
	},
	{
		files: ['**/*.{js,mjs}'],
		languageOptions: {
			globals: Object.fromEntries(
				[
					'process',
					'console',
					'URL',
					'Buffer',
					'performance',
					'setTimeout',
					'clearTimeout',
					'setInterval',
					'clearInterval',
					'setImmediate',
					'AbortController',
					'TextDecoder',
					'TextEncoder',
					'structuredClone',
				].map((name) => [name, 'readonly']),
			),
		},
	},
);
