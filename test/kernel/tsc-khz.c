// The host's TSC rate in kHz (rdtsc against CLOCK_MONOTONIC over 200 ms). Under QEMU TCG the guest's TSC
// is the host's, so run.sh hands this to the guest kernel (tsc_early_khz=) instead of letting it calibrate
// against the emulated PIT, which a busy host gets wrong (6.12 once took 112 MHz for 2.1 GHz).
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	double all[5];

	for (int i = 0; i < 5; i++) {
		struct timespec nap = {0, 200 * 1000 * 1000};
		double t0 = seconds();
		unsigned long long c0 = __rdtsc();
		double t1, khz;
		unsigned long long c1;

		nanosleep(&nap, NULL);
		c1 = __rdtsc();
		t1 = seconds();
		khz = (c1 - c0) / (t1 - t0) / 1000;
		all[i] = khz;
	}
	/* The median of five: a nap the scheduler stretched errs one way, a preempted read the other. */
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && all[j] < all[j - 1]; j--) {
			double t = all[j];

			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	printf("%.0f\n", all[2]);
	return 0;
}
