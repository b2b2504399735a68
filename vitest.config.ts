import {defineConfig} from 'vitest/config';

export default defineConfig({
	test: {
		environment: 'node',
		pool: 'forks',
		include: ['test/**/*.test.{ts,tsx}'],
		exclude: ['test/kernel/**', 'node_modules/**'],
		testTimeout: 20_000,
		setupFiles: ['test/setup.ts'],
		// Builds dist once for the whole run (the e2e tests run the compiled CLI).
		globalSetup: ['test/global-setup.ts'],
	},
});
