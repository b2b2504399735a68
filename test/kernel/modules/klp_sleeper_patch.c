// SPDX-License-Identifier: GPL-2.0
/*
 * klp_sleeper_patch: livepatch of the klp_sleeper module. Replaces its three sleeping functions;
 * the replacements behave the same but log PATCHED and report "patched".
 *
 * replace (bool, default 0): load it as an atomic-replace (cumulative) patch.
 *
 * klp_sleeper_patch_v2.c builds a second patch from this source: functions named *_v2, reporting
 * "patched-v2", klp_sleeper_kthread_wait left out (an atomic replace turns it into a nop), and
 * replace defaulting to 1.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#ifndef KLP_PATCH_SUFFIX
#define KLP_PATCH_SUFFIX
#define KLP_PATCH_TAG "patched"
#define KLP_PATCH_LOG "PATCHED"
#define KLP_PATCH_KTHREAD 1
#define KLP_PATCH_REPLACE 0
#endif
#define KLP_CAT2(a, b) a##b
#define KLP_CAT(a, b) KLP_CAT2(a, b)
#define NEW(fn) KLP_CAT(fn, KLP_PATCH_SUFFIX)

#include <linux/kthread.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "klp_sleeper.h"

static bool replace = KLP_PATCH_REPLACE;
module_param(replace, bool, 0444);
MODULE_PARM_DESC(replace, "atomic replace (cumulative patch)");

int NEW(patched_wait)(unsigned long gen, const char **which);
int NEW(patched_wait_killable)(unsigned long gen, const char **which);
void NEW(patched_kthread_wait)(void);

KLP_SLEEPER_PATCHABLE int NEW(patched_wait)(unsigned long gen, const char **which)
{
	int ret;

	pr_info(KLP_PATCH_LOG " klp_sleeper_wait: pid %d (%s) going to sleep (interruptible)\n", current->pid,
		current->comm);
	ret = wait_event_interruptible(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info(KLP_PATCH_LOG " klp_sleeper_wait: pid %d woke, ret=%d\n", current->pid, ret);
	*which = KLP_PATCH_TAG;
	WRITE_ONCE(klp_sleeper_last, KLP_PATCH_TAG);
	return ret;
}

KLP_SLEEPER_PATCHABLE int NEW(patched_wait_killable)(unsigned long gen, const char **which)
{
	int ret;

	pr_info(KLP_PATCH_LOG " klp_sleeper_wait_killable: pid %d (%s) going to sleep (killable)\n", current->pid,
		current->comm);
	ret = wait_event_killable(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info(KLP_PATCH_LOG " klp_sleeper_wait_killable: pid %d woke, ret=%d\n", current->pid, ret);
	*which = KLP_PATCH_TAG;
	WRITE_ONCE(klp_sleeper_last, KLP_PATCH_TAG "-killable");
	return ret;
}

#if KLP_PATCH_KTHREAD
KLP_SLEEPER_PATCHABLE void NEW(patched_kthread_wait)(void)
{
	unsigned long gen = READ_ONCE(klp_sleeper_gen);
	DEFINE_WAIT(wait);

	pr_info(KLP_PATCH_LOG " klp_sleeper_kthread_wait: kthread going to sleep\n");
	prepare_to_wait(&klp_sleeper_wq, &wait, TASK_INTERRUPTIBLE);
	if (READ_ONCE(klp_sleeper_gen) == gen && !kthread_should_stop())
		schedule();
	finish_wait(&klp_sleeper_wq, &wait);
	pr_info(KLP_PATCH_LOG " klp_sleeper_kthread_wait: kthread woke up\n");
	WRITE_ONCE(klp_sleeper_last, KLP_PATCH_TAG "-kthread");
}
#endif

static struct klp_func funcs[] = {
	{ .old_name = "klp_sleeper_wait", .new_func = NEW(patched_wait) },
	{ .old_name = "klp_sleeper_wait_killable", .new_func = NEW(patched_wait_killable) },
#if KLP_PATCH_KTHREAD
	{ .old_name = "klp_sleeper_kthread_wait", .new_func = NEW(patched_kthread_wait) },
#endif
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
	patch.replace = replace;
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
