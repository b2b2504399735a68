import {cleanup} from 'ink-testing-library';
import {afterEach} from 'vitest';

afterEach(() => {
	cleanup();
});
