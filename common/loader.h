/*
 * Loads and runs the embedded BPF C: compiled by libbcc (common/bcc_compiler,
 * the only file that includes <bcc/...>) or taken from the program cache
 * (common/progcache), then loaded, attached, polled and torn down through
 * libbpf, the same way whichever it came from. Errors are returned
 * (negative errno) with a message in loader__error(); nothing here prints
 * but the verifier's log of a failed load, the one-line refusal of an
 * unsafe cache, and with --verbose where the program came from.
 */
#ifndef BCCNET_LOADER_H
#define BCCNET_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loader;

typedef int (*loader_event_fn)(void *ctx, void *data, size_t size);

/* --verbose: compiler diagnostics and load details reach stderr. */
void loader__set_verbose(bool on);
/* --no-cache (or BCCNET_NO_CACHE in the environment): compile afresh, store nothing. */
void loader__set_cache(bool on);
struct loader *loader__open(const char *text, char *const *cflags, int ncflags, char *err,
			    size_t errlen);
/* TRACEPOINT_PROBE(cat, ev) functions are named tracepoint__<cat>__<ev>. */
int loader__attach_tp(struct loader *l, const char *category, const char *event);
/* RAW_TRACEPOINT_PROBE(tp) functions are named raw_tracepoint__<tp>. */
int loader__attach_raw_tp(struct loader *l, const char *tp);
int loader__attach_kprobe(struct loader *l, const char *func, const char *kfunc, bool retprobe);
/* Loads (verifies) a function without attaching it: for paths this kernel cannot attach. */
int loader__load_only(struct loader *l, const char *func, int prog_type);
bool loader__kprobes_supported(void);
/* Checks the privileges BPF needs (root, or CAP_BPF + CAP_PERFMON), then:
 * libbcc reads tracepoint formats from tracefs; `ip netns exec` hides the
 * mount, so mount it (in our own mount namespace) when it is missing. */
int loader__ensure_tracefs(char *err, size_t errlen);
bool loader__tracepoint_exists(const char *category, const char *event);

int loader__map_fd(struct loader *l, const char *map);
int loader__open_ringbuf(struct loader *l, const char *map, loader_event_fn fn, void *ctx);
/* Polls the ring buffer; returns events handled or a negative errno (EINTR is 0). */
int loader__poll(struct loader *l, int timeout_ms);
/* Streams events until a signal or the --duration ends, then drains what
 * is already in the ring buffer. */
void loader__stream(struct loader *l, double duration_s);
/* Events the BPF side could not submit (ring buffer full), from the bccnet_lost map. */
uint64_t loader__lost_events(struct loader *l);
/* Runs of our programs the kernel skipped because one was already running on that CPU
 * (bpf_prog_info.recursion_misses, summed): work the BPF side never saw. */
uint64_t loader__prog_misses(struct loader *l);
/* Program i (0..): its function name, and the run time and run count the kernel keeps
 * (bpf_prog_info; zero unless kernel.bpf_stats_enabled=1). 0, or -ENOENT past the last. */
int loader__prog_stats(struct loader *l, int i, const char **name, uint64_t *run_ns,
		       uint64_t *run_cnt);
/* Map access by descriptor: 0 or -errno. next_key with key NULL gives the first key. */
int loader__map_lookup(int fd, const void *key, void *value);
int loader__map_update(int fd, const void *key, const void *value);
int loader__map_delete(int fd, const void *key);
int loader__map_next_key(int fd, const void *key, void *next);
/* Up to *count entries from the start of the map in one call (arrays: keys 0..*count-1);
 * *count becomes the number read. 0 or -errno. Per-CPU values take one slot per possible
 * CPU, each rounded up to 8 bytes. */
int loader__map_lookup_batch(int fd, void *keys, void *values, uint32_t *count);
/* A u64 slot of a per-CPU array over all possible CPUs: *sum their sum, *max the largest
 * (either may be NULL). 0 or -errno. */
int loader__percpu_u64(int fd, uint32_t key, uint64_t *sum, uint64_t *max);
/* Loading is done: a freshly compiled program (or one whose set of loaded
 * functions changed) is stored in the program cache now. */
void loader__drop_compiler(struct loader *l);
const char *loader__error(const struct loader *l);
void loader__free(struct loader *l);

#endif
