import {describe, expect, it} from 'vitest';
import {parseLivepatchLine} from '../../source/model/kernel-log.js';

describe('parseLivepatchLine', () => {
	it('reads the exact kernel formats of kernel-livepatch.md §5', () => {
		expect(parseLivepatchLine("livepatch: 'klp_sleeper_patch': starting unpatching transition")).toEqual({
			kind: 'starting',
			patch: 'klp_sleeper_patch',
			direction: 'unpatching',
		});
		expect(parseLivepatchLine("livepatch: 'p': patching...")).toEqual({
			kind: 'starting',
			patch: 'p',
			direction: 'patching',
		});
		expect(parseLivepatchLine("livepatch: 'p': unpatching complete")).toEqual({
			kind: 'complete',
			patch: 'p',
			direction: 'unpatching',
		});
		expect(parseLivepatchLine("livepatch: 'p': reversing transition from unpatching to patching")).toEqual({
			kind: 'reversing',
			patch: 'p',
			from: 'unpatching',
			to: 'patching',
		});
		expect(parseLivepatchLine('livepatch: klp_try_switch_task: swapper/0:0 is running')).toEqual({
			kind: 'task',
			comm: 'swapper/0',
			tid: 0,
			reason: 'is running',
		});
		expect(
			parseLivepatchLine('livepatch: klp_check_stack: a:b:77 is sleeping on function klp_sleeper_wait'),
		).toMatchObject({
			comm: 'a:b',
			tid: 77,
		});
		expect(parseLivepatchLine('livepatch: signaling remaining tasks').kind).toBe('signaling');
		expect(parseLivepatchLine('livepatch: forcing remaining tasks to the patched state').kind).toBe(
			'forcing',
		);
		expect(parseLivepatchLine("livepatch: 'p': canceling patching transition, going to unpatch").kind).toBe(
			'canceling',
		);
		expect(parseLivepatchLine('something else')).toEqual({kind: 'other', patch: null});
		// Only the livepatch core's own lines count: a module printing the same words is ignored.
		expect(parseLivepatchLine("klp_evil: 'p': starting patching transition")).toEqual({
			kind: 'other',
			patch: null,
		});
		expect(parseLivepatchLine("livepatch: 'p': initializing patching transition")).toEqual({
			kind: 'initializing',
			patch: 'p',
			direction: 'patching',
		});
	});
});
