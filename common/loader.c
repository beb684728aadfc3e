#include "loader.h"

#include <bcc/bcc_common.h>
#include <bcc/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "output.h"
#include "runtime.h"

#define TRACEFS "/sys/kernel/tracing"
#define MAX_PROGS 32
#define MAX_LINKS 32
#define MAX_MAPS 16

struct prog {
	char name[128];
	int fd;
};

struct link {
	int fd;
	bool raw_tp;            /* a BPF link fd, not a perf event: close() it */
	char kprobe_event[128]; /* non-empty: a kprobe to remove at teardown */
};

struct map {
	char name[64];
	int fd;
};

struct loader {
	void *mod;
	struct prog progs[MAX_PROGS];
	int nprogs;
	struct link links[MAX_LINKS];
	int nlinks;
	struct map maps[MAX_MAPS];
	int nmaps;
	struct ring_buffer *rb;
	char err[512];
};

static bool verbose;

void loader__set_verbose(bool on) { verbose = on; }

static int set_err(struct loader *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct loader *l, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

/* Effective capability set from /proc/self/status (no libcap needed). */
static unsigned long long effective_caps(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return caps;
}

static int check_privileges(char *err, size_t errlen)
{
	const unsigned long long needed = 1ull << 38 /* CAP_PERFMON */ | 1ull << 39 /* CAP_BPF */;

	if (geteuid() == 0 || (effective_caps() & needed) == needed)
		return 0;
	snprintf(err, errlen, "loading BPF programs needs root (or CAP_BPF and CAP_PERFMON): run with sudo");
	return -EPERM;
}

struct loader *loader__open(const char *text, char *const *cflags, int ncflags, char *err,
			    size_t errlen)
{
	struct loader *l = calloc(1, sizeof(*l));
	struct utsname u;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (loader__ensure_tracefs(err, errlen)) {
		free(l);
		return NULL;
	}
	l->mod = bpf_module_create_c_from_string(text, 0, (const char **)cflags, ncflags, true, NULL);
	if (!l->mod) {
		uname(&u);
		snprintf(err, errlen,
			 "cannot compile the BPF program (errors above); are kernel headers at /lib/modules/%s/build? (scripts/install-deps.sh sets them up)",
			 u.release);
		free(l);
		return NULL;
	}
	return l;
}

static int load_prog(struct loader *l, const char *func, int prog_type)
{
	char log[4096] = "";
	int fd;

	for (int i = 0; i < l->nprogs; i++)
		if (strcmp(l->progs[i].name, func) == 0)
			return l->progs[i].fd;
	if (!l->mod)
		return set_err(l, EINVAL, "load %s: compiler already released", func);
	if (!bpf_function_start(l->mod, func))
		return set_err(l, ENOENT, "load %s: no such function in the BPF program", func);
	if (l->nprogs == MAX_PROGS)
		return set_err(l, E2BIG, "load %s: too many programs", func);
	fd = bcc_func_load(l->mod, prog_type, func, bpf_function_start(l->mod, func),
			   (int)bpf_function_size(l->mod, func), bpf_module_license(l->mod),
			   bpf_module_kern_version(l->mod), 0, log, sizeof(log), NULL, -1);
	if (fd < 0)
		return set_err(l, errno ? errno : EINVAL, "load %s: %s (verifier log above)", func,
			       strerror(errno ? errno : EINVAL));
	snprintf(l->progs[l->nprogs].name, sizeof(l->progs[0].name), "%s", func);
	l->progs[l->nprogs++].fd = fd;
	return fd;
}

static int add_link(struct loader *l, int fd, const char *kprobe_event)
{
	if (l->nlinks == MAX_LINKS) {
		close(fd);
		return set_err(l, E2BIG, "too many attachments");
	}
	l->links[l->nlinks].fd = fd;
	snprintf(l->links[l->nlinks].kprobe_event, sizeof(l->links[0].kprobe_event), "%s",
		 kprobe_event ? kprobe_event : "");
	l->nlinks++;
	return 0;
}

int loader__attach_tp(struct loader *l, const char *category, const char *event)
{
	char func[160];
	int prog, fd;

	snprintf(func, sizeof(func), "tracepoint__%s__%s", category, event);
	prog = load_prog(l, func, BPF_PROG_TYPE_TRACEPOINT);
	if (prog < 0)
		return prog;
	fd = bpf_attach_tracepoint(prog, category, event);
	if (fd < 0)
		return set_err(l, errno ? errno : ENOENT, "attach tracepoint %s/%s: %s", category,
			       event, strerror(errno ? errno : ENOENT));
	return add_link(l, fd, NULL);
}

int loader__attach_raw_tp(struct loader *l, const char *func, const char *tp)
{
	int prog = load_prog(l, func, BPF_PROG_TYPE_RAW_TRACEPOINT);
	int fd;

	if (prog < 0)
		return prog;
	fd = bpf_attach_raw_tracepoint(prog, tp);
	if (fd < 0)
		return set_err(l, errno ? errno : ENOENT, "attach raw tracepoint %s: %s", tp,
			       strerror(errno ? errno : ENOENT));
	if (add_link(l, fd, NULL))
		return -E2BIG;
	l->links[l->nlinks - 1].raw_tp = true;
	return 0;
}

bool loader__kprobes_supported(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0 ||
	       access(TRACEFS "/kprobe_events", W_OK) == 0;
}

int loader__ensure_tracefs(char *err, size_t errlen)
{
	if (check_privileges(err, errlen))
		return -EPERM;
	if (access(TRACEFS "/events", R_OK) == 0)
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 || access(TRACEFS "/events", R_OK) == 0)
		return 0;
	snprintf(err, errlen, "tracefs is not mounted at %s and mounting it failed: %s (mount -t tracefs nodev %s)",
		 TRACEFS, strerror(errno), TRACEFS);
	return -errno;
}

bool loader__tracepoint_exists(const char *category, const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/format", category, event);
	return access(path, R_OK) == 0;
}

int loader__attach_kprobe(struct loader *l, const char *func, const char *kfunc, bool retprobe)
{
	char ev[128];
	int prog, fd;

	if (!loader__kprobes_supported())
		return set_err(l, EOPNOTSUPP, "attach kprobe %s: this kernel has no kprobes (CONFIG_KPROBES off)",
			       kfunc);
	prog = load_prog(l, func, BPF_PROG_TYPE_KPROBE);
	if (prog < 0)
		return prog;
	snprintf(ev, sizeof(ev), "%s_bccnet_%s_%d", retprobe ? "r" : "p", kfunc, getpid());
	fd = bpf_attach_kprobe(prog, retprobe ? BPF_PROBE_RETURN : BPF_PROBE_ENTRY, ev, kfunc, 0, 0);
	if (fd < 0)
		return set_err(l, errno ? errno : ENOENT, "attach kprobe %s: %s", kfunc,
			       strerror(errno ? errno : ENOENT));
	return add_link(l, fd, ev);
}

int loader__load_only(struct loader *l, const char *func, int prog_type)
{
	int fd = load_prog(l, func, prog_type);

	return fd < 0 ? fd : 0;
}

int loader__map_fd(struct loader *l, const char *map)
{
	int fd;

	for (int i = 0; i < l->nmaps; i++)
		if (strcmp(l->maps[i].name, map) == 0)
			return l->maps[i].fd;
	if (!l->mod)
		return set_err(l, EINVAL, "map %s: compiler already released", map);
	fd = bpf_table_fd(l->mod, map);
	if (fd < 0)
		return set_err(l, ENOENT, "no map named %s in the BPF program", map);
	if (l->nmaps == MAX_MAPS)
		return set_err(l, E2BIG, "too many maps");
	/* Our own descriptor keeps the map alive after the compiler is freed. */
	fd = dup(fd);
	if (fd < 0)
		return set_err(l, errno, "map %s: %s", map, strerror(errno));
	snprintf(l->maps[l->nmaps].name, sizeof(l->maps[0].name), "%s", map);
	l->maps[l->nmaps++].fd = fd;
	return fd;
}

int loader__open_ringbuf(struct loader *l, const char *map, loader_event_fn fn, void *ctx)
{
	int fd = loader__map_fd(l, map);

	if (fd < 0)
		return fd;
	if (l->rb)
		return bpf_add_ringbuf(l->rb, fd, fn, ctx) ? set_err(l, errno, "ring buffer %s", map) : 0;
	l->rb = bpf_new_ringbuf(fd, fn, ctx);
	if (!l->rb)
		return set_err(l, errno ? errno : ENOMEM, "open ring buffer %s: %s", map,
			       strerror(errno ? errno : ENOMEM));
	return 0;
}

int loader__poll(struct loader *l, int timeout_ms)
{
	int n, m;

	if (!l->rb) {
		usleep((useconds_t)timeout_ms * 1000);
		return 0;
	}
	n = bpf_poll_ringbuf(l->rb, timeout_ms);
	if (n < 0 && (n == -EINTR || errno == EINTR))
		n = 0;
	if (n < 0)
		return n;
	/* Events submitted without a wakeup (bccnet_submit_flags) are read here. */
	m = bpf_consume_ringbuf(l->rb);
	return m < 0 ? m : n + m;
}

void loader__stream(struct loader *l, double duration_s)
{
	int n = 0;

	runtime_set_duration(duration_s);
	while (!runtime_should_stop() && n >= 0) {
		out_batch(true);
		n = loader__poll(l, 100);
		out_batch(false);
	}
	out_batch(true);
	loader__poll(l, 0);
	out_batch(false);
}

uint64_t loader__lost_events(struct loader *l)
{
	int fd = loader__map_fd(l, "bccnet_lost");
	uint32_t key = 0;
	uint64_t value = 0;

	if (fd < 0 || bpf_lookup_elem(fd, &key, &value))
		return 0;
	return value;
}

uint64_t loader__prog_misses(struct loader *l)
{
	uint64_t misses = 0;

	for (int i = 0; l && i < l->nprogs; i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(l->progs[i].fd, &info, &len) == 0)
			misses += info.recursion_misses;
	}
	return misses;
}

int loader__map_lookup(int fd, const void *key, void *value)
{
	return bpf_lookup_elem(fd, (void *)key, value) ? -errno : 0;
}

int loader__map_update(int fd, const void *key, const void *value)
{
	return bpf_update_elem(fd, (void *)key, (void *)value, BPF_ANY) ? -errno : 0;
}

int loader__map_delete(int fd, const void *key)
{
	return bpf_delete_elem(fd, (void *)key) ? -errno : 0;
}

int loader__map_next_key(int fd, const void *key, void *next)
{
	return bpf_get_next_key(fd, (void *)key, next) ? -errno : 0;
}

int loader__map_lookup_batch(int fd, void *keys, void *values, uint32_t *count)
{
	uint32_t out_batch = 0;

	/* ENOENT: the map ended within *count entries; what was read is valid. */
	if (bpf_lookup_batch(fd, NULL, &out_batch, keys, values, count) && errno != ENOENT)
		return -errno;
	return 0;
}

/* The compile pages in ~70 MiB of LLVM/clang code that stays resident after
 * the module is freed. Those are clean, read-only file pages: dropping them
 * is safe (they fault back in from the library if ever needed again). */
static void drop_compiler_code(void)
{
	char line[512], perm[8];
	unsigned long start, end;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perm) != 3 || strcmp(perm, "r-xp"))
			continue;
		if (strstr(line, "libLLVM") || strstr(line, "libclang"))
			madvise((void *)start, end - start, MADV_DONTNEED);
	}
	if (f)
		fclose(f);
}

void loader__drop_compiler(struct loader *l)
{
	if (!l || !l->mod)
		return;
	/* The lost counter is read at exit; keep it. */
	loader__map_fd(l, "bccnet_lost");
	bpf_module_destroy(l->mod);
	l->mod = NULL;
	malloc_trim(0);
	drop_compiler_code();
}

const char *loader__error(const struct loader *l) { return l ? l->err : "out of memory"; }

void loader__free(struct loader *l)
{
	if (!l)
		return;
	if (l->rb)
		bpf_free_ringbuf(l->rb);
	for (int i = l->nlinks - 1; i >= 0; i--) {
		if (l->links[i].raw_tp)
			close(l->links[i].fd);
		else
			bpf_close_perf_event_fd(l->links[i].fd);
		if (l->links[i].kprobe_event[0])
			bpf_detach_kprobe(l->links[i].kprobe_event);
	}
	for (int i = 0; i < l->nprogs; i++)
		close(l->progs[i].fd);
	for (int i = 0; i < l->nmaps; i++)
		close(l->maps[i].fd);
	if (l->mod)
		bpf_module_destroy(l->mod);
	free(l);
}
