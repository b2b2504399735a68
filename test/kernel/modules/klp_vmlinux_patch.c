// SPDX-License-Identifier: GPL-2.0
/* klp_vmlinux_patch: trivial livepatch of vmlinux's cmdline_proc_show (/proc/cmdline). */
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

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
	{ .funcs = funcs }, /* name NULL: vmlinux */
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
