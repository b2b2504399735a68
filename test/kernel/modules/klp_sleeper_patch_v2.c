// SPDX-License-Identifier: GPL-2.0
/*
 * klp_sleeper_patch_v2: a second livepatch of klp_sleeper, built from klp_sleeper_patch.c. Its
 * functions are patched_wait_v2 and patched_wait_killable_v2 (reporting "patched-v2"); it leaves
 * klp_sleeper_kthread_wait alone, so replacing klp_sleeper_patch turns that one into a nop. replace
 * defaults to 1 (atomic replace); replace=0 stacks it on top of klp_sleeper_patch instead.
 */
#define KLP_PATCH_SUFFIX _v2
#define KLP_PATCH_TAG "patched-v2"
#define KLP_PATCH_LOG "PATCHED-V2"
#define KLP_PATCH_KTHREAD 0
#define KLP_PATCH_REPLACE 1
#include "klp_sleeper_patch.c"
