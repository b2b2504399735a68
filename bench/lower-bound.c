/*
The lower bound of a klptop scan (issue 2 §7): only the syscalls a transition scan cannot avoid,
over a tree on disk (`ROOT/sys/kernel/livepatch`, `ROOT/proc`) or the real host (ROOT = "").

  readdir ROOT/sys/kernel/livepatch, open/read/close of each patch's `enabled` and `transition`
  readdir ROOT/proc, then for each numeric pid readdir ROOT/proc/PID/task
  open/read/close ROOT/proc/PID/task/TID/patch_state for every thread
  open/read/close ROOT/proc/PID/task/TID/stat for every blocker (patch_state 0/1, not the target)

With no transition running, patch_state is not read (the kernel has reset every task to -1): the
threads are only counted, as klptop does. Paths are absolute strings like klptop's; no parsing
beyond the one character of patch_state. Prints `threads=N blockers=M target=T` so the benchmark
can check that klptop saw the same tree.

Build: gcc -O2 -o lower-bound lower-bound.c
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[65536];

static int numeric(const char *name) {
	if (*name == '\0') return 0;
	for (; *name; name++)
		if (*name < '0' || *name > '9') return 0;
	return 1;
}

/* Read a small file into buf; returns bytes read or -1. */
static ssize_t slurp(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n >= 0) buf[n] = '\0';
	return n;
}

int main(int argc, char **argv) {
	const char *root = argc > 1 ? argv[1] : "";
	char path[4096];

	/* The patch in transition and its target (its `enabled`). */
	int target = -1;
	snprintf(path, sizeof path, "%s/sys/kernel/livepatch", root);
	DIR *lp = opendir(path);
	if (lp != NULL) {
		struct dirent *e;
		while ((e = readdir(lp)) != NULL) {
			if (e->d_name[0] == '.') continue;
			snprintf(path, sizeof path, "%s/sys/kernel/livepatch/%s/transition", root, e->d_name);
			if (slurp(path) > 0 && buf[0] == '1') {
				snprintf(path, sizeof path, "%s/sys/kernel/livepatch/%s/enabled", root, e->d_name);
				if (slurp(path) > 0) target = buf[0] == '1' ? 1 : 0;
			}
		}
		closedir(lp);
	}

	snprintf(path, sizeof path, "%s/proc", root);
	DIR *proc = opendir(path);
	if (proc == NULL) {
		perror(path);
		return 1;
	}

	long threads = 0, blockers = 0;
	struct dirent *p;
	while ((p = readdir(proc)) != NULL) {
		if (!numeric(p->d_name)) continue;
		int base = snprintf(path, sizeof path, "%s/proc/%s/task", root, p->d_name);
		DIR *task = opendir(path);
		if (task == NULL) continue; /* exited */
		struct dirent *t;
		while ((t = readdir(task)) != NULL) {
			if (!numeric(t->d_name)) continue;
			threads++;
			if (target < 0) continue;
			int len = base + snprintf(path + base, sizeof path - base, "/%s/", t->d_name);
			strcpy(path + len, "patch_state");
			if (slurp(path) <= 0) continue;
			int state = buf[0] == '0' ? 0 : buf[0] == '1' ? 1 : -1;
			if (state >= 0 && state != target) {
				strcpy(path + len, "stat");
				if (slurp(path) > 0) blockers++;
			}
			path[base] = '\0';
		}
		closedir(task);
	}
	closedir(proc);
	printf("threads=%ld blockers=%ld target=%d\n", threads, blockers, target);
	return 0;
}
