// Types of normalise.mjs (shared with the real-kernel tier's host scripts, which run without a build).

export interface NormalBlocker {
	comm: string;
	class: string;
	function: string;
	object: string | null;
	kthread: boolean;
}

export interface NormalState {
	patches: {name: string; enabled: boolean; transition: boolean; replace?: boolean; stack_order?: number}[];
	transition: {patch: string; direction: string} | null;
	blockers: NormalBlocker[];
	others: boolean;
}

export interface Step {
	state: NormalState;
	samples: number;
	first_s: number;
	until_s: number;
}

export interface FixtureAction {
	/** when the command started, s from the scenario start */
	t_s: number;
	/** when it returned */
	end_s: number;
	/** when the kernel logged its effect, if it logs one */
	kernel_s?: number;
	action: string;
	via?: string;
	/** comm of each TID a nudge aimed at */
	targets?: (string | null)[];
	result: string;
}

export const BRIEF_S: number;
export function normaliseView(view: unknown): NormalState;
export function foldObservations(
	observations: readonly {t: number; view?: unknown; state?: NormalState}[],
	end?: number,
): Step[];
export function errnoOf(text: string | null | undefined): string | null;
export function actionsFromEvents(
	events: readonly unknown[],
	start: number,
	klog?: readonly {t: number; msg: string}[],
): FixtureAction[];
export function formatStep(step: Step): string;
export function formatSequence(seq: readonly Step[]): string;
export function compareSequences(
	expected: readonly Step[],
	actual: readonly Step[],
): {ok: boolean; explain: string};
