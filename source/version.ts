/**
klptop's version, compiled in: a bundle or a standalone executable has no package.json beside it
for meow to find (test/cli/version.test.ts keeps it equal to package.json's).
*/
export const version = '0.1.0';
export const description =
	'top for Linux kernel livepatch transitions: who holds a live patch back, why, and what can still help';
