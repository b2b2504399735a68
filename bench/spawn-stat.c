/*
Run a command RUNS times and report, per run, its wall time and resource usage from wait4(2):
`wall_ms user_ms sys_ms maxrss_kb exit_status`, one line per run on stdout.

  spawn-stat RUNS OUTFILE CMD [ARGS...]

The command's stdout goes to OUTFILE (truncated each run; "-" means /dev/null), its stderr is
inherited. Measuring in C keeps the harness out of the figure: the clock starts right before fork
and stops when wait4 returns, and ru_maxrss is the child's own peak resident set (what
/usr/bin/time -v calls "Maximum resident set size").

Build: gcc -O2 -o spawn-stat spawn-stat.c
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(struct timeval tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: spawn-stat RUNS OUTFILE CMD [ARGS...]\n");
		return 2;
	}

	int runs = atoi(argv[1]);
	const char *out = strcmp(argv[2], "-") == 0 ? "/dev/null" : argv[2];
	for (int i = 0; i < runs; i++) {
		struct timespec start, end;
		clock_gettime(CLOCK_MONOTONIC, &start);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}

		if (pid == 0) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) {
				perror(out);
				_exit(127);
			}
			dup2(fd, 1);
			close(fd);
			execvp(argv[3], argv + 3);
			perror(argv[3]);
			_exit(127);
		}

		int status = 0;
		struct rusage usage;
		if (wait4(pid, &status, 0, &usage) < 0) {
			perror("wait4");
			return 1;
		}

		clock_gettime(CLOCK_MONOTONIC, &end);
		double wall = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		printf("%.3f %.3f %.3f %ld %d\n", wall, ms(usage.ru_utime), ms(usage.ru_stime), usage.ru_maxrss, code);
		fflush(stdout);
	}

	return 0;
}
