// SPDX-License-Identifier: GPL-2.0
/*
 * klp_late_patch: livepatch of the klp_late module's klp_late_show, loadable while klp_late is not
 * (it links against nothing of klp_late): the kernel applies it when klp_late loads ("applying
 * patch ... to loading module") and reverts it when klp_late goes.
 */
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static int livepatch_klp_late_show(struct seq_file *m, void *v)
{
	seq_puts(m, "patched klp_late_show\n");
	return 0;
}

static struct klp_func funcs[] = {
	{ .old_name = "klp_late_show", .new_func = livepatch_klp_late_show },
	{}
};

static struct klp_object objs[] = {
	{ .name = "klp_late", .funcs = funcs },
	{}
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klp_late_patch_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klp_late_patch_exit(void)
{
}

module_init(klp_late_patch_init);
module_exit(klp_late_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("klptop test livepatch of a module loaded later");
