/* Process lifetime: signals set a flag, the poll loop owns shutdown; clocks. */
#ifndef BCCNET_RUNTIME_H
#define BCCNET_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern volatile sig_atomic_t bccnet_exiting;
/* The signal that ended the run (0: none yet). */
extern volatile sig_atomic_t bccnet_signal;

/* SIGINT, SIGTERM, SIGPIPE (and SIGHUP) set bccnet_exiting. */
void runtime_install_signals(void);
uint64_t runtime_mono_ns(void);
/* Starts the --duration clock (0: no limit). */
void runtime_set_duration(double seconds);
/* True once a signal came or the duration is over. */
bool runtime_should_stop(void);
/* Milliseconds to wait before the next deadline, capped at max_ms. */
int runtime_wait_ms(uint64_t deadline_ns, int max_ms);

/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) to wall clock "HH:MM:SS.mmm". */
void runtime_format_ktime(uint64_t ktime_ns, char *buf, size_t len);
/* The same as "YYYY-MM-DD HH:MM:SS.mmm" (Python's datetime "%Y-%m-%d %H:%M:%S.%f" cut to ms). */
void runtime_format_ktime_date(uint64_t ktime_ns, char *buf, size_t len);
/* Wall-clock "HH:MM:SS" now. */
void runtime_format_now(char *buf, size_t len);

#endif
