// SPDX-License-Identifier: GPL-2.0
/*
 * klp_sleeper_patch: livepatch of the klp_sleeper module. Replaces its three sleeping functions;
 * the replacements behave the same but log PATCHED and report "patched".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "klp_sleeper.h"

KLP_SLEEPER_PATCHABLE int patched_wait(unsigned long gen, const char **which)
{
	int ret;

	pr_info("PATCHED klp_sleeper_wait: pid %d (%s) going to sleep (interruptible)\n", current->pid,
		current->comm);
	ret = wait_event_interruptible(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info("PATCHED klp_sleeper_wait: pid %d woke, ret=%d\n", current->pid, ret);
	*which = "patched";
	WRITE_ONCE(klp_sleeper_last, "patched");
	return ret;
}

KLP_SLEEPER_PATCHABLE int patched_wait_killable(unsigned long gen, const char **which)
{
	int ret;

	pr_info("PATCHED klp_sleeper_wait_killable: pid %d (%s) going to sleep (killable)\n", current->pid,
		current->comm);
	ret = wait_event_killable(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info("PATCHED klp_sleeper_wait_killable: pid %d woke, ret=%d\n", current->pid, ret);
	*which = "patched";
	WRITE_ONCE(klp_sleeper_last, "patched-killable");
	return ret;
}

KLP_SLEEPER_PATCHABLE void patched_kthread_wait(void)
{
	unsigned long gen = READ_ONCE(klp_sleeper_gen);
	DEFINE_WAIT(wait);

	pr_info("PATCHED klp_sleeper_kthread_wait: kthread going to sleep\n");
	prepare_to_wait(&klp_sleeper_wq, &wait, TASK_INTERRUPTIBLE);
	if (READ_ONCE(klp_sleeper_gen) == gen && !kthread_should_stop())
		schedule();
	finish_wait(&klp_sleeper_wq, &wait);
	pr_info("PATCHED klp_sleeper_kthread_wait: kthread woke up\n");
	WRITE_ONCE(klp_sleeper_last, "patched-kthread");
}

static struct klp_func funcs[] = {
	{ .old_name = "klp_sleeper_wait", .new_func = patched_wait },
	{ .old_name = "klp_sleeper_wait_killable", .new_func = patched_wait_killable },
	{ .old_name = "klp_sleeper_kthread_wait", .new_func = patched_kthread_wait },
	{}
};

static struct klp_object objs[] = {
	{ .name = "klp_sleeper", .funcs = funcs },
	{}
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klp_sleeper_patch_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klp_sleeper_patch_exit(void)
{
}

module_init(klp_sleeper_patch_init);
module_exit(klp_sleeper_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("klptop test livepatch of klp_sleeper");
