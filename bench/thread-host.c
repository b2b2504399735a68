/*
A host with as many real threads as an emulated tree, for `top` to read (issue 12 §3: klptop on a
10,000-thread tree next to top on the same count of real threads, not on the bench machine's few).

Usage: thread-host COUNT...   one process per COUNT, with COUNT threads (the main one included),
all asleep in pause(). Prints "ready PIDS THREADS" on stdout once every thread exists, then waits;
SIGTERM, SIGINT, SIGHUP or the end of stdin end it and every process it started (the children
also die with it: PR_SET_PDEATHSIG).

Stacks are small (64 KiB): 10,000 threads cost about 0.7 GB of address space, little memory.
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg) {
	(void)arg;
	for (;;) pause();
	return NULL;
}

static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
	(void)sig;
	stop = 1;
}

/* One process: `threads` threads in all, then one byte on `ready`, then sleep. */
static void child(long threads, int ready, pid_t parent) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) _exit(0);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 1; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, &attr, sleeper, NULL) != 0) {
			perror("pthread_create");
			_exit(1);
		}
	}

	char byte = 1;
	if (write(ready, &byte, 1) != 1) _exit(1);
	close(ready);
	for (;;) pause();
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: thread-host COUNT...\n");
		return 2;
	}

	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_signal;
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGHUP, &action, NULL);
	int fds[2];
	if (pipe(fds) != 0) return 1;
	int n = argc - 1;
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	long total = 0;
	pid_t self = getpid();
	for (int i = 0; i < n; i++) {
		long threads = strtol(argv[i + 1], NULL, 10);
		if (threads < 1) threads = 1;
		total += threads;
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			stop = 1;
			break;
		}

		if (pid == 0) {
			close(fds[0]);
			child(threads, fds[1], self);
		}

		pids[i] = pid;
	}

	close(fds[1]);
	int started = 0;
	char byte;
	while (!stop && started < n && read(fds[0], &byte, 1) == 1) started++;
	if (!stop && started == n) {
		printf("ready %d %ld\n", n, total);
		fflush(stdout);
		/* Until a signal or the end of stdin (the bench going away). */
		while (!stop) {
			if (read(0, &byte, 1) <= 0) break;
		}
	}

	for (int i = 0; i < n; i++)
		if (pids[i] > 0) kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) waitpid(pids[i], NULL, 0);
	return started == n ? 0 : 1;
}
