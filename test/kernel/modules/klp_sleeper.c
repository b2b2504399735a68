// SPDX-License-Identifier: GPL-2.0
/*
 * klp_sleeper: a target for livepatch tests.
 *
 *   /proc/klp_sleeper           read() sleeps interruptibly (State S) in klp_sleeper_wait()
 *   /proc/klp_sleeper_killable  read() sleeps killably (State D) in klp_sleeper_wait_killable()
 *   /proc/klp_sleeper_ctl       write: release | kthread_start | kthread_stop
 *                               read:  gen=<n> kthread=<0|1> last=<which>
 *   kthread klp_sleeper_kt      sleeps in klp_sleeper_kthread_wait(), naps 2 s outside it
 *
 * A sleeper returns when the generation counter changes (write "release"). The reads return
 * "<which> <function> released" so the caller can tell which implementation ran.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "klp_sleeper.h"

DECLARE_WAIT_QUEUE_HEAD(klp_sleeper_wq);
EXPORT_SYMBOL_GPL(klp_sleeper_wq);
unsigned long klp_sleeper_gen;
EXPORT_SYMBOL_GPL(klp_sleeper_gen);
const char *klp_sleeper_last = "none";
EXPORT_SYMBOL_GPL(klp_sleeper_last);

static DEFINE_MUTEX(kt_lock);
static struct task_struct *kt;

KLP_SLEEPER_PATCHABLE int klp_sleeper_wait(unsigned long gen, const char **which)
{
	int ret;

	pr_info("ORIGINAL klp_sleeper_wait: pid %d (%s) going to sleep (interruptible)\n", current->pid,
		current->comm);
	ret = wait_event_interruptible(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info("ORIGINAL klp_sleeper_wait: pid %d woke, ret=%d sigpending=%d\n", current->pid, ret,
		signal_pending(current) ? 1 : 0);
	*which = "original";
	WRITE_ONCE(klp_sleeper_last, "original");
	return ret;
}
EXPORT_SYMBOL_GPL(klp_sleeper_wait);

KLP_SLEEPER_PATCHABLE int klp_sleeper_wait_killable(unsigned long gen, const char **which)
{
	int ret;

	pr_info("ORIGINAL klp_sleeper_wait_killable: pid %d (%s) going to sleep (killable)\n", current->pid,
		current->comm);
	ret = wait_event_killable(klp_sleeper_wq, READ_ONCE(klp_sleeper_gen) != gen);
	pr_info("ORIGINAL klp_sleeper_wait_killable: pid %d woke, ret=%d\n", current->pid, ret);
	*which = "original";
	WRITE_ONCE(klp_sleeper_last, "original-killable");
	return ret;
}
EXPORT_SYMBOL_GPL(klp_sleeper_wait_killable);

KLP_SLEEPER_PATCHABLE void klp_sleeper_kthread_wait(void)
{
	unsigned long gen = READ_ONCE(klp_sleeper_gen);
	DEFINE_WAIT(wait);

	pr_info("ORIGINAL klp_sleeper_kthread_wait: kthread going to sleep\n");
	prepare_to_wait(&klp_sleeper_wq, &wait, TASK_INTERRUPTIBLE);
	if (READ_ONCE(klp_sleeper_gen) == gen && !kthread_should_stop())
		schedule();
	finish_wait(&klp_sleeper_wq, &wait);
	pr_info("ORIGINAL klp_sleeper_kthread_wait: kthread woke up\n");
	WRITE_ONCE(klp_sleeper_last, "original-kthread");
}
EXPORT_SYMBOL_GPL(klp_sleeper_kthread_wait);

static int kt_main(void *unused)
{
	while (!kthread_should_stop()) {
		klp_sleeper_kthread_wait();
		/* Nap outside the patched function: here a transition can switch the kthread. */
		if (!kthread_should_stop())
			msleep_interruptible(2000);
	}
	return 0;
}

static ssize_t sleeper_read_common(char __user *buf, size_t count, loff_t *ppos, bool killable)
{
	const char *which = "none";
	char kbuf[96];
	unsigned long gen;
	int len, ret;

	if (*ppos)
		return 0;
	gen = READ_ONCE(klp_sleeper_gen);
	if (killable)
		ret = klp_sleeper_wait_killable(gen, &which);
	else
		ret = klp_sleeper_wait(gen, &which);
	if (ret)
		return ret;
	len = scnprintf(kbuf, sizeof(kbuf), "%s %s released\n", which,
			killable ? "klp_sleeper_wait_killable" : "klp_sleeper_wait");
	return simple_read_from_buffer(buf, count, ppos, kbuf, len);
}

static ssize_t sleeper_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	return sleeper_read_common(buf, count, ppos, false);
}

static ssize_t sleeper_killable_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	return sleeper_read_common(buf, count, ppos, true);
}

static ssize_t ctl_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	char kbuf[96];
	int len;

	mutex_lock(&kt_lock);
	len = scnprintf(kbuf, sizeof(kbuf), "gen=%lu kthread=%d last=%s\n", READ_ONCE(klp_sleeper_gen),
			kt ? 1 : 0, READ_ONCE(klp_sleeper_last));
	mutex_unlock(&kt_lock);
	return simple_read_from_buffer(buf, count, ppos, kbuf, len);
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char cmd[32];
	size_t n = min(count, sizeof(cmd) - 1);
	int ret = 0;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = '\0';
	strim(cmd);

	if (!strcmp(cmd, "release")) {
		WRITE_ONCE(klp_sleeper_gen, READ_ONCE(klp_sleeper_gen) + 1);
		pr_info("release: gen=%lu\n", READ_ONCE(klp_sleeper_gen));
		wake_up_all(&klp_sleeper_wq);
	} else if (!strcmp(cmd, "kthread_start")) {
		mutex_lock(&kt_lock);
		if (!kt) {
			struct task_struct *t = kthread_run(kt_main, NULL, "klp_sleeper_kt");

			if (IS_ERR(t))
				ret = PTR_ERR(t);
			else
				kt = t;
		} else {
			ret = -EEXIST;
		}
		mutex_unlock(&kt_lock);
	} else if (!strcmp(cmd, "kthread_stop")) {
		mutex_lock(&kt_lock);
		if (kt) {
			kthread_stop(kt);
			kt = NULL;
		} else {
			ret = -ESRCH;
		}
		mutex_unlock(&kt_lock);
	} else {
		ret = -EINVAL;
	}
	return ret ? ret : count;
}

static const struct proc_ops sleeper_ops = {
	.proc_read = sleeper_read,
	.proc_lseek = noop_llseek,
};

static const struct proc_ops sleeper_killable_ops = {
	.proc_read = sleeper_killable_read,
	.proc_lseek = noop_llseek,
};

static const struct proc_ops ctl_ops = {
	.proc_read = ctl_read,
	.proc_write = ctl_write,
	.proc_lseek = noop_llseek,
};

static int __init klp_sleeper_init(void)
{
	if (!proc_create("klp_sleeper", 0444, NULL, &sleeper_ops) ||
	    !proc_create("klp_sleeper_killable", 0444, NULL, &sleeper_killable_ops) ||
	    !proc_create("klp_sleeper_ctl", 0644, NULL, &ctl_ops)) {
		remove_proc_entry("klp_sleeper", NULL);
		remove_proc_entry("klp_sleeper_killable", NULL);
		return -ENOMEM;
	}
	pr_info("loaded\n");
	return 0;
}

static void __exit klp_sleeper_exit(void)
{
	mutex_lock(&kt_lock);
	if (kt)
		kthread_stop(kt);
	kt = NULL;
	mutex_unlock(&kt_lock);
	remove_proc_entry("klp_sleeper_ctl", NULL);
	remove_proc_entry("klp_sleeper_killable", NULL);
	remove_proc_entry("klp_sleeper", NULL);
}

module_init(klp_sleeper_init);
module_exit(klp_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klptop test target: sleepers in patchable functions");
