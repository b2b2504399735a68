/**
What the emulated kernel's files say: the texts of `/proc/<pid>/task/<tid>/{stat,status,stack,
cmdline}`, `/proc/{stat,uptime,modules,cmdline}` and `/dev/kmsg` records, in the formats of a real
host (fs/proc/array.c, the module list, printk's kmsg escaping). Shared by the in-process port
(port.ts: paths, modes, owners, errors) and the disk mirror (mirror.ts).
*/
import type {EmulatedKernel, LogRecord, Task} from './kernel.js';
import {renderFrame, type Frame} from './symbols.js';

const stateNames: Record<string, string> = {
	R: 'R (running)',
	S: 'S (sleeping)',
	D: 'D (disk sleep)',
	T: 'T (stopped)',
	Z: 'Z (zombie)',
	I: 'I (idle)',
};

const userStatMiddle = '18446744073709551615 94558229168128 94558229190225 140725544893184 0 0 0 0 0 0';
const kthreadStatMiddle = '18446744073709551615 0 0 0 0 0 0 0 2147483647 0';
const userStatTail =
	'0 0 0 94558229200000 94558229201000 94558230000000 140725544895000 140725544895020 140725544895020 140725544896000 0';
const kthreadStatTail = '0 0 0 0 0 0 0 0 0 0 0';

/**
`/proc/<pid>/task/<tid>/stat` (fs/proc/array.c do_task_stat), 52 fields: comm in parentheses
(it may hold spaces and `)`), 3 state, 4 ppid, 9 flags, 20 num_threads, 22 starttime.
*/
export function renderStat(task: Task, numThreads: number, isLeader: boolean): string {
	const salt = Math.imul(task.tid, 0x9e3779b1) >>> 0;
	const stime = (salt >>> 11) % 60;
	const sleeping = task.state === 'R' || task.state === 'Z' ? 0 : 1;
	if (task.kthread) {
		return `${task.tid} (${task.comm}) ${task.state} ${task.ppid} 0 0 0 -1 ${task.flags} 0 0 0 0 ${(salt >>> 9) % 12} ${stime} 0 0 ${20 + task.nice} ${task.nice} ${numThreads} 0 ${task.starttime} 0 0 ${kthreadStatMiddle} ${sleeping} 0 0 17 ${task.cpu} 0 0 ${kthreadStatTail}\n`;
	}

	return `${task.tid} (${task.comm}) ${task.state} ${task.ppid} ${task.tgid} ${task.tgid} 0 -1 ${task.flags} ${90 + ((salt >>> 5) % 400)} 0 0 0 ${(salt >>> 7) % 40} ${stime} 0 0 ${20 + task.nice} ${task.nice} ${numThreads} 0 ${task.starttime} ${2_412_544 + ((salt >>> 3) % 64) * 4096} ${200 + ((salt >>> 13) % 300)} ${userStatMiddle} ${sleeping} 0 0 ${isLeader ? 17 : -1} ${task.cpu} 0 0 ${userStatTail}\n`;
}

/** `Name:` escapes like seq_escape_str(ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\"). */
function escapeName(comm: string): string {
	return comm.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t');
}

const statusTail = [
	'SigQ:\t0/7664',
	'SigPnd:\t0000000000000000',
	'ShdPnd:\t0000000000000000',
	'SigBlk:\t0000000000000000',
].join('\n');
const capsRoot = 'CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff';
const capsUser = 'CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000';
const statusEnd = [
	'CapBnd:\t000001ffffffffff',
	'CapAmb:\t0000000000000000',
	'NoNewPrivs:\t0',
	'Seccomp:\t0',
	'Cpus_allowed:\t3',
	'Cpus_allowed_list:\t0-1',
	'voluntary_ctxt_switches:\t12',
	'nonvoluntary_ctxt_switches:\t1',
].join('\n');
const vmLines = 'VmPeak:\t    2412 kB\nVmSize:\t    2412 kB\nVmLck:\t       0 kB\nVmRSS:\t     800 kB\n';

/** `/proc/<pid>/status` (fs/proc/array.c proc_pid_status), the common lines. */
export function renderStatus(task: Task, numThreads: number): string {
	const uid = task.uid;
	const ids = `${uid}\t${uid}\t${uid}\t${uid}`;
	const session = task.kthread ? 0 : task.tgid;
	return `Name:\t${escapeName(task.comm)}
Umask:\t0022
State:\t${stateNames[task.state] ?? task.state}
Tgid:\t${task.tgid}
Ngid:\t0
Pid:\t${task.tid}
PPid:\t${task.ppid}
TracerPid:\t0
Uid:\t${ids}
Gid:\t${ids}
FDSize:\t${task.kthread ? 64 : 256}
Groups:\t${uid} 
NStgid:\t${task.tgid}
NSpid:\t${task.tid}
NSpgid:\t${session}
NSsid:\t${session}
${task.kthread ? '' : vmLines}Threads:\t${numThreads}
${statusTail}
SigIgn:\t${task.kthread ? 'ffffffffffffffff' : '0000000000000000'}
SigCgt:\t0000000000000000
${uid === 0 ? capsRoot : capsUser}
${statusEnd}
`;
}

export function renderCmdline(task: Task): string {
	return task.cmdline.length === 0 ? '' : `${task.cmdline.join('\0')}\0`;
}

const stackCache = new WeakMap<readonly Frame[], string>();
const oldStackCache = new WeakMap<readonly Frame[], string>();

/** `/proc/<pid>/stack`; frame arrays are shared between tasks, so is their text. */
export function renderStack(task: Task, hiddenAddresses: boolean): string {
	const cache = hiddenAddresses ? stackCache : oldStackCache;
	let text = cache.get(task.frames);
	if (text === undefined) {
		text = '';
		for (const frame of task.frames) {
			text += `${renderFrame(frame, hiddenAddresses)}\n`;
		}

		cache.set(task.frames, text);
	}

	return text;
}

/** A `/dev/kmsg` record: `level,seq,usec,flags;text` with the kernel's escaping of odd bytes. */
export function renderKmsg(record: LogRecord): string {
	let text = '';
	for (const char of record.text) {
		const code = char.charCodeAt(0);
		text += code < 0x20 || code === 0x7f || char === '\\' ? `\\x${code.toString(16).padStart(2, '0')}` : char;
	}

	return `${record.level},${record.seq},${record.us},-;${text}`;
}

export function renderUptime(kernel: EmulatedKernel): string {
	const uptime = kernel.uptimeUs() / 1e6;
	return `${uptime.toFixed(2)} ${(uptime * kernel.cpus.length * 0.93).toFixed(2)}\n`;
}

/**
`/proc/loadavg`: the load and running count (made up), running/total threads (the kernel's `nr_threads`, every task
but the idle ones) and the last PID handed out.
*/
export function renderLoadavg(kernel: EmulatedKernel): string {
	let threads = 0;
	for (const process of kernel.processes.values()) threads += process.threads.length;
	return `0.52 0.58 0.59 1/${threads} ${kernel.lastPid}\n`;
}

export function renderProcStat(kernel: EmulatedKernel): string {
	const btime = Math.floor(kernel.bootEpochMs / 1000);
	const ticks = Math.floor(kernel.uptimeUs() / 10_000);
	const cpuLines = kernel.cpus.map(
		(cpu) =>
			`cpu${cpu.index} ${Math.floor(ticks * 0.02)} 0 ${Math.floor(ticks * 0.03)} ${Math.floor(ticks * 0.95)} 3 0 1 0 0 0`,
	);
	let running = 0;
	let blocked = 0;
	for (const task of kernel.tasks.values()) {
		if (task.state === 'R') {
			running++;
		} else if (task.state === 'D') {
			blocked++;
		}
	}

	return [
		`cpu  ${Math.floor(ticks * 0.04)} 0 ${Math.floor(ticks * 0.06)} ${Math.floor(ticks * 1.9)} 6 0 2 0 0 0`,
		...cpuLines,
		'intr 0',
		`ctxt ${ticks * 37}`,
		`btime ${btime}`,
		`processes ${kernel.forks + 400}`,
		`procs_running ${Math.max(1, running)}`,
		`procs_blocked ${blocked}`,
		'softirq 0 0 0 0 0 0 0 0 0 0 0',
		'',
	].join('\n');
}

export function renderModules(kernel: EmulatedKernel): string {
	let text = '';
	let address = 0xc0a00000;
	for (const module of [...kernel.modules.values()].reverse()) {
		const holders = kernel.holders(module.name);
		const taint = module.livepatch ? 'OEK' : 'OE';
		text += `${module.name} ${module.sizeBytes} ${module.refcnt + holders.length} ${holders.length > 0 ? `${holders.join(',')},` : '-'} Live 0xffffffff${address.toString(16)} (${taint})\n`;
		address += 0x10000;
	}

	return text;
}

/** What `/proc/cmdline` prints: `cmdline_proc_show` may be live patched. */
export function renderCmdlineFile(kernel: EmulatedKernel): string {
	const state = kernel.target === -1 ? -1 : kernel.target;
	const resolved = kernel.resolve('cmdline_proc_show', 'vmlinux', state);
	if (resolved.func?.output !== undefined) {
		return resolved.func.output;
	}

	return `BOOT_IMAGE=/boot/vmlinuz-${kernel.features.release} root=/dev/vda1 ro console=ttyS0 quiet\n`;
}
