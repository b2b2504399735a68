/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared state of the klp_sleeper target module, exported so that the livepatch module
 * (klp_sleeper_patch) links against it instead of needing klp relocations.
 */
#ifndef KLP_SLEEPER_H
#define KLP_SLEEPER_H

#include <linux/wait.h>

/* noipa: no inlining, no .isra/.constprop clone, every caller makes a direct call. */
#define KLP_SLEEPER_PATCHABLE noinline __attribute__((__noipa__))

extern wait_queue_head_t klp_sleeper_wq;
extern unsigned long klp_sleeper_gen;
extern const char *klp_sleeper_last;

/* The three functions the livepatch replaces. Each returns 0 or -ERESTARTSYS and sets *which. */
int klp_sleeper_wait(unsigned long gen, const char **which);
int klp_sleeper_wait_killable(unsigned long gen, const char **which);
void klp_sleeper_kthread_wait(void);

#endif
