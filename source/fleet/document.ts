/**
`klptop fleet --once --json`: one document for the whole fleet, schema_version 1 (additive only, as
the host document): the counts of the header, per patch how many hosts have it applied, in
transition or missing, and a `hosts` array with each host's status and its own document (the last
one it sent, already checked and sanitised on arrival; null when none came).
*/
import type {JsonDocument} from '../output/json.js';
import type {ConnectionStatus, HostState} from './host.js';
import type {Condition, FleetCounts, PatchCount} from './model.js';
import {conditionOf, documentAge, summarize} from './model.js';

export type FleetHostJson = {
	name: string;
	/** What ssh connected to (ansible_host, or the name). */
	destination: string;
	groups: string[];
	/** The connection: ok, connecting, unreachable, auth-failed, host-key-unknown, no-klptop, ... */
	status: ConnectionStatus;
	/** What the host is: failing, stuck, transition, connecting, no-livepatch, applied, idle. */
	condition: Condition;
	error: string | null;
	/** Seconds since its last document arrived, null when none did. */
	document_age_s: number | null;
	/** The klptop copied there for this run (`--push`), null when it runs its own. */
	pushed: 'bundle' | 'executable' | null;
	document: JsonDocument | null;
};

export type FleetDocument = {
	schema_version: 1;
	time: string;
	fleet: {
		hosts: number;
		reporting: number;
		applied: number;
		in_transition: number;
		stuck: number;
		unreachable: number;
		failing: number;
		connecting: number;
		no_livepatch: number;
		not_root: number;
	};
	patches: Array<{name: string; applied: number; in_transition: number; missing: number}>;
	hosts: FleetHostJson[];
};

function countsJson(c: FleetCounts): FleetDocument['fleet'] {
	return {
		hosts: c.hosts,
		reporting: c.reporting,
		applied: c.applied,
		in_transition: c.inTransition,
		stuck: c.stuck,
		unreachable: c.unreachable,
		failing: c.failing,
		connecting: c.connecting,
		no_livepatch: c.noLivepatch,
		not_root: c.notRoot,
	};
}

function patchJson(p: PatchCount): FleetDocument['patches'][number] {
	return {name: p.name, applied: p.applied, in_transition: p.inTransition, missing: p.missing};
}

export function fleetDocument(states: readonly HostState[], now: number): FleetDocument {
	const summary = summarize(states, now);
	return {
		schema_version: 1,
		time: new Date(now).toISOString(),
		fleet: countsJson(summary.counts),
		patches: summary.patches.map((p) => patchJson(p)),
		hosts: states.map((state) => {
			const age = documentAge(state, now);
			return {
				name: state.host.name,
				destination: state.host.destination,
				groups: [...state.host.groups],
				status: state.status,
				condition: conditionOf(state, now),
				error: state.error,
				document_age_s: age === null ? null : Math.round(age * 1000) / 1000,
				pushed: state.pushed,
				document: state.doc,
			};
		}),
	};
}
