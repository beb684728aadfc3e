#include "runtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t bccnet_exiting;
volatile sig_atomic_t bccnet_signal;
static uint64_t stop_at_ns;

static void on_signal(int sig)
{
	bccnet_signal = sig;
	bccnet_exiting = 1;
}

void runtime_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking poll returns EINTR and the loop sees the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t runtime_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

void runtime_set_duration(double seconds)
{
	stop_at_ns = seconds > 0 ? runtime_mono_ns() + (uint64_t)(seconds * 1e9) : 0;
}

bool runtime_should_stop(void)
{
	return bccnet_exiting || (stop_at_ns && runtime_mono_ns() >= stop_at_ns);
}

int runtime_wait_ms(uint64_t deadline_ns, int max_ms)
{
	uint64_t now = runtime_mono_ns();
	uint64_t left_ms;

	if (stop_at_ns && stop_at_ns < deadline_ns)
		deadline_ns = stop_at_ns;
	if (deadline_ns <= now)
		return 0;
	left_ms = (deadline_ns - now + 999999) / 1000000;
	return left_ms < (uint64_t)max_ms ? (int)left_ms : max_ms;
}

static void format_ktime(uint64_t ktime_ns, const char *fmt, char *buf, size_t len)
{
	/* Both clocks read back to back: their offset turns ktime into wall time. */
	uint64_t real = clock_ns(CLOCK_REALTIME), mono = runtime_mono_ns();
	uint64_t wall = real - (mono - ktime_ns);
	time_t secs = (time_t)(wall / 1000000000ull);
	struct tm tm;
	char text[32];

	localtime_r(&secs, &tm);
	strftime(text, sizeof(text), fmt, &tm);
	snprintf(buf, len, "%s.%03u", text, (unsigned)(wall % 1000000000ull / 1000000));
}

void runtime_format_ktime(uint64_t ktime_ns, char *buf, size_t len)
{
	format_ktime(ktime_ns, "%H:%M:%S", buf, len);
}

void runtime_format_ktime_date(uint64_t ktime_ns, char *buf, size_t len)
{
	format_ktime(ktime_ns, "%Y-%m-%d %H:%M:%S", buf, len);
}

void runtime_format_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}
