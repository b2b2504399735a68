// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

/*
Boundaries (DEVELOPERS.md, style.md §5.2): only the data-source layer touches /proc and /sys,
only source/actions sends signals or writes sysfs, views are pure functions of props.
The rules below make a crossing a lint error instead of a review comment.
*/
const fsModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises'];
const restrictedFs = {
	paths: fsModules.map((name) => ({
		name,
		message:
			'Only source/sources (reading), source/actions (acting), source/emulator (its disk mirror), source/state (XDG files) and source/script (output files) may touch the filesystem.',
	})),
};
const noKill = {
	selector: "MemberExpression[object.name='process'][property.name='kill']",
	message: 'Only source/actions may send signals.',
};

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
	{
		files: ['source/**/*.{ts,tsx}'],
		ignores: [
			'source/sources/**',
			'source/actions/**',
			'source/emulator/**',
			'source/state/**',
			'source/script/**',
		],
		rules: {
			'no-restricted-imports': ['error', restrictedFs],
		},
	},
	{
		files: ['source/**/*.{ts,tsx}', 'cli.tsx'],
		ignores: ['source/actions/**', 'source/emulator/**'],
		rules: {
			'no-restricted-syntax': ['error', noKill],
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
