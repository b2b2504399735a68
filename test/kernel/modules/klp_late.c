// SPDX-License-Identifier: GPL-2.0
/*
 * klp_late: a target module that is loaded after its livepatch (klp_late_patch), to see the
 * patch's `klp_late/patched` follow the module: 0 before it loads, 1 once the kernel applied the
 * patch to the loading module, 0 again after it is unloaded.
 *
 *   /proc/klp_late   read: "original klp_late_show" (or the patch's "patched klp_late_show")
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "klp_sleeper.h"

int klp_late_show(struct seq_file *m, void *v);

KLP_SLEEPER_PATCHABLE int klp_late_show(struct seq_file *m, void *v)
{
	seq_puts(m, "original klp_late_show\n");
	return 0;
}

static int __init klp_late_init(void)
{
	return proc_create_single("klp_late", 0444, NULL, klp_late_show) ? 0 : -ENOMEM;
}

static void __exit klp_late_exit(void)
{
	remove_proc_entry("klp_late", NULL);
}

module_init(klp_late_init);
module_exit(klp_late_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klptop test target loaded after its livepatch");
