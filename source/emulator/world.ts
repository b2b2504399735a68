/**
The emulated machine every scenario starts from: the Debian 6.1 QEMU guest of
`kernel-livepatch.md` (2 CPUs, 52 visible tasks: init, a shell, a few daemons and the usual
kthreads), the out-of-tree target module `klp_sleeper`, and the livepatch modules the scenarios
load.
*/
import type {EmulatedKernel, PatchSpec, Program, Site, SiteFrame, SleepMode, Task} from './kernel.js';

const k = (fn: string): SiteFrame => ({fn, object: 'vmlinux'});
const m = (fn: string): SiteFrame => ({fn, object: 'klp_sleeper'});

const kthreadTail = [k('kthread'), k('ret_from_fork')];
const syscall = [k('do_syscall_64'), k('entry_SYSCALL_64_after_hwframe')];
const readTail = [k('vfs_read'), k('ksys_read'), ...syscall];

function site(fn: string, mode: SleepMode, callers: readonly SiteFrame[], extra: Partial<Site> = {}): Site {
	return {fn, object: 'vmlinux', mode, callers, ...extra};
}

/**
A site for custom tests and worlds: `fn` in `object` entered from a read(2) system call (or from
`callers`), e.g. `sleepSite('my_wait', 'my_module', 'killable')`.
*/
export function sleepSite(
	fn: string,
	object = 'vmlinux',
	mode: SleepMode = 'interruptible',
	callers: readonly SiteFrame[] = readTail,
): Site {
	return {fn, object, mode, callers};
}

/** Places tasks sleep in. The klp_sleeper ones are what the test patches change. */
export const sites = {
	/** `cat /proc/klp_sleeper`: interruptible wait (S). */
	sleeperWait: {
		fn: 'klp_sleeper_wait',
		object: 'klp_sleeper',
		mode: 'interruptible',
		callers: [m('do_sleep_read.cold'), k('proc_reg_read'), ...readTail],
		voice: 'klp_sleeper',
	},
	/** `cat /proc/klp_sleeper_killable`: TASK_KILLABLE wait (D). */
	sleeperWaitKillable: {
		fn: 'klp_sleeper_wait_killable',
		object: 'klp_sleeper',
		mode: 'killable',
		callers: [m('do_sleep_read_killable.cold'), k('proc_reg_read'), ...readTail],
		voice: 'klp_sleeper',
	},
	/** The module's kthread `klp_sleeper_kt` waiting interruptibly. */
	sleeperKthreadWait: {
		fn: 'klp_sleeper_kthread_wait',
		object: 'klp_sleeper',
		mode: 'interruptible',
		callers: [m('kt_main'), ...kthreadTail],
		voice: 'klp_sleeper',
	},
	/** The kthread's nap between waits, outside the patched function. */
	sleeperKthreadNap: {
		fn: 'msleep_interruptible',
		object: 'vmlinux',
		mode: 'interruptible',
		callers: [m('kt_main'), ...kthreadTail],
	},
	worker: site('worker_thread', 'idle', kthreadTail),
	rescuer: site('rescuer_thread', 'idle', kthreadTail),
	smpboot: site('smpboot_thread_fn', 'interruptible', kthreadTail),
	kthreadd: site('kthreadd', 'interruptible', [k('ret_from_fork')]),
	rcuGp: site('rcu_gp_kthread', 'idle', kthreadTail),
	rcuTasks: site('rcu_tasks_kthread', 'idle', kthreadTail),
	kworkerFn: site('kthread_worker_fn', 'interruptible', kthreadTail),
	kauditd: site('kauditd_thread', 'interruptible', kthreadTail),
	hungTask: site('watchdog', 'interruptible', kthreadTail),
	oomReaper: site('oom_reaper', 'interruptible', kthreadTail),
	kcompactd: site('kcompactd', 'interruptible', kthreadTail),
	ksm: site('ksm_scan_thread', 'interruptible', kthreadTail),
	khugepaged: site('khugepaged', 'interruptible', kthreadTail),
	kswapd: site('kswapd', 'interruptible', kthreadTail),
	devtmpfs: site('devtmpfsd', 'interruptible', kthreadTail),
	scsiEh: site('scsi_error_handler', 'interruptible', kthreadTail),
	jbd2: site('kjournald2', 'interruptible', kthreadTail),
	wait4: site('do_wait', 'interruptible', [k('kernel_wait4'), k('__do_sys_wait4'), ...syscall]),
	select: site('do_select', 'interruptible', [
		k('core_sys_select'),
		k('kern_select'),
		k('__x64_sys_select'),
		...syscall,
	]),
	syslog: site('do_syslog', 'interruptible', [k('kmsg_read'), k('proc_reg_read'), ...readTail]),
	poll: site('do_sys_poll', 'interruptible', [k('__x64_sys_poll'), ...syscall]),
	tty: site('n_tty_read', 'interruptible', [k('tty_read'), ...readTail], {wchan: 'wait_woken'}),
	epoll: site('ep_poll', 'interruptible', [k('do_epoll_wait'), k('__x64_sys_epoll_wait'), ...syscall]),
	futex: site('futex_wait_queue', 'interruptible', [
		k('futex_wait'),
		k('do_futex'),
		k('__x64_sys_futex'),
		...syscall,
	]),
	nanosleep: site('do_nanosleep', 'interruptible', [
		k('hrtimer_nanosleep'),
		k('common_nsleep'),
		k('__x64_sys_clock_nanosleep'),
		...syscall,
	]),
	pipe: site('pipe_read', 'interruptible', readTail),
	io: site('folio_wait_bit_common', 'uninterruptible', [k('filemap_read'), ...readTail], {
		wchan: 'folio_wait_bit_common',
	}),
} satisfies Record<string, Site>;

/** The klp_sleeper kthread's loop: wait, and after each wakeup nap 3 s outside the function. */
export const kthreadLoop: Program = {kind: 'kloop', napMs: 3000, napSite: sites.sleeperKthreadNap};

/** Livepatch modules the scenarios load (also loadable through the emulator socket). */
export const patchCatalog = {
	klp_sleeper_patch: {
		name: 'klp_sleeper_patch',
		uses: ['klp_sleeper'],
		objects: [
			{
				name: 'klp_sleeper',
				funcs: [
					{old: 'klp_sleeper_wait', new: 'patched_wait'},
					{old: 'klp_sleeper_wait_killable', new: 'patched_wait_killable'},
					{old: 'klp_sleeper_kthread_wait', new: 'patched_kthread_wait'},
				],
			},
		],
	},
	klp_vmlinux_patch: {
		name: 'klp_vmlinux_patch',
		objects: [
			{
				name: 'vmlinux',
				funcs: [
					{
						old: 'cmdline_proc_show',
						new: 'livepatch_cmdline_proc_show',
						output: '[klp_vmlinux_patch active] /proc/cmdline is live patched\n',
					},
				],
			},
		],
	},
	/** Cumulative replacement of klp_sleeper_patch: leaves klp_sleeper_kthread_wait to a nop. */
	klp_sleeper_patch_v2: {
		name: 'klp_sleeper_patch_v2',
		replace: true,
		uses: ['klp_sleeper'],
		objects: [
			{
				name: 'klp_sleeper',
				funcs: [
					{old: 'klp_sleeper_wait', new: 'patched_wait_v2'},
					{old: 'klp_sleeper_wait_killable', new: 'patched_wait_killable_v2'},
				],
			},
		],
	},
	/** Patch of `klp_late`, a module loaded after it (its object reads patched=0 until then). */
	klp_late_patch: {
		name: 'klp_late_patch',
		objects: [{name: 'klp_late', funcs: [{old: 'klp_late_show', new: 'livepatch_klp_late_show'}]}],
	},
	klp_many_patch: {
		name: 'klp_many_patch',
		uses: ['klp_sleeper'],
		objects: [
			{name: 'vmlinux', funcs: [{old: 'pipe_read', new: 'livepatch_pipe_read'}]},
			{
				name: 'klp_sleeper',
				funcs: [
					{old: 'klp_sleeper_wait', new: 'livepatch_klp_sleeper_wait'},
					{old: 'klp_sleeper_wait_killable', new: 'livepatch_klp_sleeper_wait_killable'},
					{old: 'klp_sleeper_kthread_wait', new: 'livepatch_klp_sleeper_kthread_wait'},
				],
			},
		],
	},
} satisfies Record<string, PatchSpec>;

export type CatalogPatch = keyof typeof patchCatalog;

type BaseTask = readonly [pid: number, comm: string, site: Site, nice?: number];

const kthreads: readonly BaseTask[] = [
	[3, 'rcu_gp', sites.rescuer, -20],
	[4, 'rcu_par_gp', sites.rescuer, -20],
	[5, 'slub_flushwq', sites.rescuer, -20],
	[6, 'netns', sites.rescuer, -20],
	[8, 'kworker/0:0H-events_highpri', sites.worker, -20],
	[10, 'mm_percpu_wq', sites.rescuer, -20],
	[11, 'rcu_tasks_kthread', sites.rcuTasks],
	[12, 'rcu_tasks_rude_kthread', sites.rcuTasks],
	[13, 'rcu_tasks_trace_kthread', sites.rcuTasks],
	[14, 'ksoftirqd/0', sites.smpboot],
	[15, 'rcu_sched', sites.rcuGp],
	[16, 'migration/0', sites.smpboot],
	[17, 'cpuhp/0', sites.smpboot],
	[18, 'cpuhp/1', sites.smpboot],
	[19, 'migration/1', sites.smpboot],
	[20, 'ksoftirqd/1', sites.smpboot],
	[22, 'kworker/1:0H-events_highpri', sites.worker, -20],
	[23, 'kdevtmpfs', sites.devtmpfs],
	[24, 'inet_frag_wq', sites.rescuer, -20],
	[25, 'kauditd', sites.kauditd],
	[26, 'khungtaskd', sites.hungTask],
	[27, 'oom_reaper', sites.oomReaper],
	[28, 'writeback', sites.rescuer, -20],
	[29, 'kcompactd0', sites.kcompactd],
	[30, 'ksmd', sites.ksm, 5],
	[31, 'khugepaged', sites.khugepaged, 19],
	[32, 'kintegrityd', sites.rescuer, -20],
	[33, 'kblockd', sites.rescuer, -20],
	[34, 'blkcg_punt_bio', sites.rescuer, -20],
	[35, 'tpm_dev_wq', sites.rescuer, -20],
	[36, 'md', sites.rescuer, -20],
	[37, 'edac-poller', sites.rescuer, -20],
	[38, 'devfreq_wq', sites.rescuer, -20],
	[39, 'watchdogd', sites.kworkerFn],
	[41, 'kswapd0', sites.kswapd],
	[47, 'kthrotld', sites.rescuer, -20],
	[49, 'acpi_thermal_pm', sites.rescuer, -20],
	[51, 'mld', sites.rescuer, -20],
	[52, 'ipv6_addrconf', sites.rescuer, -20],
	[57, 'kstrp', sites.rescuer, -20],
	[70, 'kworker/0:1-events', sites.worker],
	[71, 'kworker/1:1-events', sites.worker],
	[72, 'kworker/u4:0-events_unbound', sites.worker],
	[80, 'scsi_eh_0', sites.scsiEh],
	[85, 'jbd2/vda1-8', sites.jbd2],
];

/** Pids of the base world's notable tasks. */
export const basePids = {init: 1, shell: 150} as const;

/**
Populate a fresh kernel with the guest's 52 tasks (kthreadd, 45 other kthreads, init, 4 daemons
and the console shell) and load `klp_sleeper`. Boot-time log lines go into the backlog.
*/
export function buildBaseWorld(kernel: EmulatedKernel): void {
	const bootUs = (seconds: number) => Math.round(seconds * 1e6);
	kernel.log(
		5,
		`Linux version ${kernel.features.release} (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian`,
	);
	kernel.log(6, 'Command line: BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro console=ttyS0 quiet');
	kernel.spawn({
		pid: 1,
		comm: 'init',
		ppid: 0,
		cmdline: ['/sbin/init'],
		site: sites.wait4,
		startedUs: bootUs(0.9),
	});
	kernel.spawn({pid: 2, comm: 'kthreadd', ppid: 0, kthread: true, site: sites.kthreadd, startedUs: 0});
	for (const [pid, comm, where, nice] of kthreads) {
		kernel.spawn({
			pid,
			comm,
			kthread: true,
			site: where,
			nice: nice ?? 0,
			startedUs: bootUs(0.01 * pid),
			cpu: comm.includes('/1') ? 1 : 0,
		});
	}

	const daemons: ReadonlyArray<readonly [number, string, readonly string[], Site]> = [
		[120, 'syslogd', ['/sbin/syslogd', '-n'], sites.select],
		[125, 'klogd', ['/sbin/klogd', '-n'], sites.syslog],
		[140, 'udhcpc', ['udhcpc', '-i', 'eth0', '-f'], sites.poll],
		[148, 'getty', ['/sbin/getty', '-L', 'ttyS1', '115200'], sites.tty],
		[basePids.shell, 'sh', ['-sh'], sites.wait4],
	];
	for (const [pid, comm, cmdline, where] of daemons) {
		kernel.spawn({pid, comm, cmdline, site: where, ppid: 1, startedUs: bootUs(2 + pid / 100)});
	}

	kernel.loadModule('klp_sleeper');
	kernel.log(6, 'klp_sleeper: loaded: /proc/klp_sleeper, /proc/klp_sleeper_killable, /proc/klp_sleeper_ctl');
}

/** A `cat` of one of klp_sleeper's proc files, started by the shell. */
export function spawnReader(kernel: EmulatedKernel, pid: number, killable: boolean, uid = 0): Task {
	const file = killable ? '/proc/klp_sleeper_killable' : '/proc/klp_sleeper';
	return kernel.spawn({
		pid,
		comm: 'cat',
		ppid: basePids.shell,
		uid,
		cmdline: ['cat', file],
		site: killable ? sites.sleeperWaitKillable : sites.sleeperWait,
		program: {kind: 'reader'},
	});
}

/** klp_sleeper's kthread, started by the module. */
export function spawnSleeperKthread(kernel: EmulatedKernel, pid: number, comm = 'klp_sleeper_kt'): Task {
	return kernel.spawn({
		pid,
		comm,
		kthread: true,
		site: sites.sleeperKthreadWait,
		program: kthreadLoop,
		cpu: 1,
	});
}
