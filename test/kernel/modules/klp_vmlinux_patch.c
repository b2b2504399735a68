// SPDX-License-Identifier: GPL-2.0
/*
 * klp_vmlinux_patch: trivial livepatch of vmlinux's cmdline_proc_show (/proc/cmdline).
 *
 * hold_ms (default 0): its post-patch callback sleeps that long. The kernel runs post-patch callbacks in
 * klp_complete_transition() after every task has switched (patch_state reset to -1) but before
 * klp_transition_patch is cleared, so `transition` keeps reading 1 with `enabled` 1 and nothing pending:
 * the end of a patching transition, held open long enough for a scan to land in it. On an idle guest the
 * transition is otherwise over within ~0.1-0.6 s, mostly inside insmod itself.
 */
#include <linux/delay.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static unsigned int hold_ms;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "milliseconds the post-patch callback sleeps (0: none)");

static void post_patch(struct klp_object *obj)
{
	if (hold_ms)
		msleep(hold_ms);
}

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_puts(m, "[klp_vmlinux_patch active] /proc/cmdline is live patched\n");
	return 0;
}

static struct klp_func funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show },
	{}
};

static struct klp_object objs[] = {
	{ .funcs = funcs, .callbacks = { .post_patch = post_patch } }, /* name NULL: vmlinux */
	{}
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klp_vmlinux_patch_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klp_vmlinux_patch_exit(void)
{
}

module_init(klp_vmlinux_patch_init);
module_exit(klp_vmlinux_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("klptop test livepatch of cmdline_proc_show");
