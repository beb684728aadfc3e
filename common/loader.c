#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bcc_compiler.h"
#include "ccdiag.h"
#include "log.h"
#include "output.h"
#include "progcache.h"
#include "runtime.h"

#define TRACEFS "/sys/kernel/tracing"
#define KPROBE_PMU "/sys/bus/event_source/devices/kprobe"
#define MAX_PROGS 32
#define MAX_LINKS 32

struct prog {
	char name[128];
	int fd;
};

struct link {
	int fd;
	bool raw_tp;            /* a BPF link fd, not a perf event: close() it */
	char kprobe_event[128]; /* non-empty: a legacy kprobe to remove at teardown */
};

/* The compiled program (from the cache or a fresh compile) and what was made of it. */
struct loader {
	struct pc_entry prog;
	int map_fds[PC_MAX_MAPS]; /* by index in prog.maps */
	uint8_t key[DIGEST_LEN];
	char cache_dir[256]; /* empty: no cache */
	bool from_cache, store;
	struct prog progs[MAX_PROGS];
	int nprogs;
	struct link links[MAX_LINKS];
	int nlinks;
	struct ring_buffer *rb;
	char err[512];
};

static bool verbose;
static bool cache_on = true;

void loader__set_verbose(bool on) { verbose = on; }

void loader__set_cache(bool on) { cache_on = on; }

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --verbose: where the program came from. */
static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fprintf(stderr, "%s: ", log_tool());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

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

static bool is_map_of_maps(const struct pc_map *m)
{
	return m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

/* A map of maps NAME takes the map NAME_inner (created in the first pass) as its template. */
static int inner_template_fd(const struct loader *l, const struct pc_map *outer)
{
	char inner[PC_NAME_LEN + 8];

	if (!is_map_of_maps(outer))
		return 0;
	snprintf(inner, sizeof(inner), "%s_inner", outer->name);
	for (uint32_t i = 0; i < l->prog.nmaps; i++)
		if (strcmp(l->prog.maps[i].name, inner) == 0)
			return l->map_fds[i];
	return -1;
}

/* Plain maps first, then maps of maps (they need their templates). */
static int create_maps(struct loader *l)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < l->prog.nmaps; i++) {
			const struct pc_map *m = &l->prog.maps[i];
			LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m->flags);
			char name[BPF_OBJ_NAME_LEN];

			if (is_map_of_maps(m) != (pass == 1))
				continue;
			opts.inner_map_fd = (uint32_t)inner_template_fd(l, m);
			snprintf(name, sizeof(name), "%.*s", BPF_OBJ_NAME_LEN - 1, m->name);
			l->map_fds[i] = bpf_map_create(m->type, name, m->key_size, m->value_size,
						       m->max_entries, &opts);
			if (l->map_fds[i] < 0)
				return set_err(l, errno, "create map %s: %s", m->name, strerror(errno));
		}
	}
	return 0;
}

/* The verifier's log, as libbcc printed it: only when a load fails. */
static void print_verifier_log(const struct loader *l, const struct pc_func *f,
			       const struct bpf_insn *insns, int prog_type)
{
	size_t size = 1 << 20;
	char *log = malloc(size);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = (uint32_t)size,
		    .log_level = 1, .kern_version = l->prog.kern_version);

	if (!log)
		return;
	log[0] = '\0';
	if (bpf_prog_load(prog_type, NULL, l->prog.license, insns, f->ninsns, &opts) < 0 && log[0])
		fprintf(stderr, "bpf: %s\n%s\n", f->name, log);
	free(log);
}

/* The recorded instructions with this run's map fds in their ld_imm64. */
static int load_func(struct loader *l, struct pc_func *f, int prog_type, bool show_log)
{
	struct bpf_insn *insns = malloc((size_t)f->ninsns * sizeof(*insns) + 1);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .kern_version = l->prog.kern_version);
	char name[BPF_OBJ_NAME_LEN];
	int fd, err;

	if (!insns)
		return set_err(l, ENOMEM, "load %s: out of memory", f->name);
	memcpy(insns, f->insns, (size_t)f->ninsns * sizeof(*insns));
	for (uint32_t i = 0; i < f->nrelocs; i++)
		insns[f->relocs[i].insn].imm = l->map_fds[f->relocs[i].map];
	snprintf(name, sizeof(name), "%.*s", BPF_OBJ_NAME_LEN - 1, f->name);
	fd = bpf_prog_load(prog_type, name, l->prog.license, insns, f->ninsns, &opts);
	err = errno ? errno : EINVAL;
	if (fd < 0 && show_log)
		print_verifier_log(l, f, insns, prog_type);
	free(insns);
	if (fd < 0)
		return set_err(l, err, "load %s: %s%s", f->name, strerror(err),
			       show_log ? " (verifier log above)" : "");
	if (f->prog_type != (uint32_t)prog_type)
		l->store = true;
	f->prog_type = (uint32_t)prog_type;
	snprintf(l->progs[l->nprogs].name, sizeof(l->progs[0].name), "%s", f->name);
	l->progs[l->nprogs++].fd = fd;
	return fd;
}

static int load_prog(struct loader *l, const char *func, int prog_type)
{
	struct pc_func *f;

	for (int i = 0; i < l->nprogs; i++)
		if (strcmp(l->progs[i].name, func) == 0)
			return l->progs[i].fd;
	f = pc_entry_func(&l->prog, func);
	if (!f)
		return set_err(l, ENOENT, "load %s: no such function in the BPF program", func);
	if (l->nprogs == MAX_PROGS)
		return set_err(l, E2BIG, "load %s: too many programs", func);
	return load_func(l, f, prog_type, true);
}

/* Closes what was made of the program and forgets it. */
static void release_program(struct loader *l)
{
	for (int i = 0; i < l->nprogs; i++)
		close(l->progs[i].fd);
	l->nprogs = 0;
	for (int i = 0; i < PC_MAX_MAPS; i++) {
		if (l->map_fds[i] >= 0)
			close(l->map_fds[i]);
		l->map_fds[i] = -1;
	}
	pc_entry_free(&l->prog);
}

/* A cached program: maps, then every function the recording run loaded. */
static int use_cached(struct loader *l)
{
	int rc = create_maps(l);

	for (uint32_t i = 0; !rc && i < l->prog.nfuncs; i++) {
		struct pc_func *f = &l->prog.funcs[i];

		if (f->prog_type && l->nprogs < MAX_PROGS)
			rc = load_func(l, f, (int)f->prog_type, false) < 0;
	}
	return rc;
}

/* The key, and the cache directory unless --no-cache or it is unsafe. */
static void open_cache(struct loader *l, const char *text, char *const *cflags, int ncflags)
{
	char err[512];
	int rc;

	if (!cache_on || getenv("BCCNET_NO_CACHE"))
		return;
	rc = progcache_dir(l->cache_dir, sizeof(l->cache_dir), err, sizeof(err));
	if (rc) {
		l->cache_dir[0] = '\0';
		if (rc == -EPERM)
			log_warn("%s", err);
		else
			note("program cache off: %s", err);
		return;
	}
	progcache_key(text, cflags, ncflags, l->key);
}

static int load_from_cache(struct loader *l)
{
	char err[512];
	int rc = progcache_load(l->cache_dir, l->key, &l->prog, err, sizeof(err));

	if (rc == -EPERM) {
		log_warn("%s", err);
		l->cache_dir[0] = '\0';
		return rc;
	}
	if (rc) {
		note("program cache miss (%s): compiling", err);
		return rc;
	}
	if (use_cached(l)) {
		note("loading from the program cache failed (%s): compiling afresh", l->err);
		release_program(l);
		return -EINVAL;
	}
	progcache_path(l->cache_dir, l->key, err, sizeof(err));
	note("program cache hit: %s", err);
	l->from_cache = true;
	return 0;
}

/* libbcc lets clang print its diagnostics on fd 2 (of the compiler process,
 * which inherits ours): capture them in a memfd (no size limit, no reader
 * needed) for the length of the compile. */
static int stderr_capture_begin(int *saved)
{
	int fd = memfd_create("bccnet-clang", MFD_CLOEXEC);

	fflush(stderr);
	*saved = fd < 0 ? -1 : dup(STDERR_FILENO);
	if (*saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
		if (*saved >= 0)
			close(*saved);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Restores fd 2; returns what was written meanwhile (NUL-terminated, to free) or NULL. */
static char *stderr_capture_end(int fd, int saved)
{
	struct stat st;
	char *text = NULL;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (fstat(fd, &st) == 0 && (text = calloc(1, (size_t)st.st_size + 1)) &&
	    pread(fd, text, (size_t)st.st_size, 0) != st.st_size) {
		free(text);
		text = NULL;
	}
	close(fd);
	return text;
}

/* Compiler diagnostics reach stderr in full with --verbose; otherwise only
 * the errors of a failed compile (kernel headers make clang warn on some
 * kernels, which is noise for the user). */
static int compile_quietly(const char *text, char *const *cflags, int ncflags,
			   struct pc_entry *e, char *err, size_t errlen)
{
	int saved, fd = stderr_capture_begin(&saved);
	int rc = bcc_compile(text, cflags, ncflags, e, err, errlen);
	char *diag;

	if (fd < 0)
		return rc;
	diag = stderr_capture_end(fd, saved);
	if (diag && (verbose || (rc && ccdiag_print_errors(diag, stderr) == 0)))
		fputs(diag, stderr); /* verbose, or a failure clang did not explain */
	free(diag);
	return rc;
}

static int compile_fresh(struct loader *l, const char *text, char *const *cflags, int ncflags,
			 char *err, size_t errlen)
{
	struct utsname u;
	int rc = compile_quietly(text, cflags, ncflags, &l->prog, err, errlen);

	if (rc == -ENOEXEC) {
		uname(&u);
		snprintf(err, errlen,
			 "cannot compile the BPF program (errors above); are kernel headers at /lib/modules/%s/build? (scripts/install-deps.sh sets them up)",
			 u.release);
	}
	if (rc)
		return rc;
	if (create_maps(l)) {
		snprintf(err, errlen, "%s", l->err);
		return -EINVAL;
	}
	l->store = l->cache_dir[0] != '\0';
	return 0;
}

struct loader *loader__open(const char *text, char *const *cflags, int ncflags, char *err,
			    size_t errlen)
{
	struct loader *l = calloc(1, sizeof(*l));

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < PC_MAX_MAPS; i++)
		l->map_fds[i] = -1;
	if (loader__ensure_tracefs(err, errlen))
		goto out_free;
	open_cache(l, text, cflags, ncflags);
	if (l->cache_dir[0] && load_from_cache(l) == 0)
		return l;
	if (compile_fresh(l, text, cflags, ncflags, err, errlen) == 0)
		return l;
out_free:
	loader__free(l);
	return NULL;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
	int err = errno;

	if (fd >= 0)
		close(fd);
	errno = err;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static long tracepoint_id(const char *category, const char *event)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", category, event);
	return read_file(path, buf, sizeof(buf)) ? -1 : strtol(buf, NULL, 10);
}

/* A perf event running the program: tracepoints, kprobes. Returns the fd or -errno. */
static int perf_attach(int prog, uint32_t type, uint64_t config, uint64_t config1)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr), .type = type, .config = config, .config1 = config1,
		.sample_period = 1, .wakeup_events = 1, .sample_type = PERF_SAMPLE_RAW,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) == 0 && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) == 0)
		return fd;
	err = errno;
	close(fd);
	return -err;
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
	long id;

	snprintf(func, sizeof(func), "tracepoint__%s__%s", category, event);
	prog = load_prog(l, func, BPF_PROG_TYPE_TRACEPOINT);
	if (prog < 0)
		return prog;
	id = tracepoint_id(category, event);
	fd = id < 0 ? -ENOENT : perf_attach(prog, PERF_TYPE_TRACEPOINT, (uint64_t)id, 0);
	if (fd < 0)
		return set_err(l, fd, "attach tracepoint %s/%s: %s", category, event, strerror(-fd));
	return add_link(l, fd, NULL);
}

int loader__attach_raw_tp(struct loader *l, const char *tp)
{
	char func[128];
	int prog, fd;

	snprintf(func, sizeof(func), "raw_tracepoint__%s", tp); /* RAW_TRACEPOINT_PROBE(tp) */
	prog = load_prog(l, func, BPF_PROG_TYPE_RAW_TRACEPOINT);

	if (prog < 0)
		return prog;
	fd = bpf_raw_tracepoint_open(tp, prog);
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
	return access(KPROBE_PMU "/type", R_OK) == 0 ||
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

/* The kprobe PMU (kernel 4.17+): config1 names the function, a config bit marks return probes. */
static int kprobe_pmu_attach(int prog, const char *kfunc, bool retprobe)
{
	char buf[64];
	long type, bit = 0;

	if (read_file(KPROBE_PMU "/type", buf, sizeof(buf)))
		return -ENOENT;
	type = strtol(buf, NULL, 10);
	if (retprobe && (read_file(KPROBE_PMU "/format/retprobe", buf, sizeof(buf)) ||
			 sscanf(buf, "config:%ld", &bit) != 1))
		return -ENOENT;
	return perf_attach(prog, (uint32_t)type, retprobe ? 1ull << bit : 0,
			   (uint64_t)(uintptr_t)kfunc);
}

/* Older kernels: a kprobe event made through tracefs, attached as a tracepoint. */
static int kprobe_legacy_attach(int prog, const char *ev, const char *kfunc, bool retprobe)
{
	char def[320];
	long id;

	snprintf(def, sizeof(def), "%c:kprobes/%s %s", retprobe ? 'r' : 'p', ev, kfunc);
	if (write_file(TRACEFS "/kprobe_events", def))
		return -errno;
	id = tracepoint_id("kprobes", ev);
	return id < 0 ? -ENOENT : perf_attach(prog, PERF_TYPE_TRACEPOINT, (uint64_t)id, 0);
}

static void kprobe_legacy_remove(const char *ev)
{
	char def[160];

	snprintf(def, sizeof(def), "-:kprobes/%s", ev);
	write_file(TRACEFS "/kprobe_events", def);
}

int loader__attach_kprobe(struct loader *l, const char *func, const char *kfunc, bool retprobe)
{
	char ev[128] = "";
	int prog, fd;

	if (!loader__kprobes_supported())
		return set_err(l, EOPNOTSUPP, "attach kprobe %s: this kernel has no kprobes (CONFIG_KPROBES off)",
			       kfunc);
	prog = load_prog(l, func, BPF_PROG_TYPE_KPROBE);
	if (prog < 0)
		return prog;
	fd = kprobe_pmu_attach(prog, kfunc, retprobe);
	if (fd == -ENOENT) {
		snprintf(ev, sizeof(ev), "%s_bccnet_%s_%d", retprobe ? "r" : "p", kfunc, getpid());
		fd = kprobe_legacy_attach(prog, ev, kfunc, retprobe);
		if (fd < 0)
			kprobe_legacy_remove(ev);
	}
	if (fd < 0)
		return set_err(l, fd, "attach kprobe %s: %s", kfunc, strerror(-fd));
	return add_link(l, fd, ev);
}

int loader__load_only(struct loader *l, const char *func, int prog_type)
{
	int fd = load_prog(l, func, prog_type);

	return fd < 0 ? fd : 0;
}

int loader__map_fd(struct loader *l, const char *map)
{
	for (uint32_t i = 0; i < l->prog.nmaps; i++)
		if (strcmp(l->prog.maps[i].name, map) == 0)
			return l->map_fds[i];
	return set_err(l, ENOENT, "no map named %s in the BPF program", map);
}

int loader__open_ringbuf(struct loader *l, const char *map, loader_event_fn fn, void *ctx)
{
	int fd = loader__map_fd(l, map);

	if (fd < 0)
		return fd;
	if (l->rb)
		return ring_buffer__add(l->rb, fd, fn, ctx) ? set_err(l, errno, "ring buffer %s", map) : 0;
	l->rb = ring_buffer__new(fd, fn, ctx, NULL);
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
	n = ring_buffer__poll(l->rb, timeout_ms);
	if (n < 0 && (n == -EINTR || errno == EINTR))
		n = 0;
	if (n < 0)
		return n;
	/* Events submitted without a wakeup (bccnet_submit_flags) are read here. */
	m = ring_buffer__consume(l->rb);
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

	if (fd < 0 || bpf_map_lookup_elem(fd, &key, &value))
		return 0;
	return value;
}

int loader__percpu_u64(int fd, uint32_t key, uint64_t *sum, uint64_t *max)
{
	int ncpus = libbpf_num_possible_cpus(), err;
	uint64_t *values, s = 0, m = 0;

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	values = calloc((size_t)ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	err = loader__map_lookup(fd, &key, values);
	for (int cpu = 0; !err && cpu < ncpus; cpu++) {
		s += values[cpu];
		m = values[cpu] > m ? values[cpu] : m;
	}
	free(values);
	if (sum)
		*sum = s;
	if (max)
		*max = m;
	return err;
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

int loader__prog_stats(struct loader *l, int i, const char **name, uint64_t *run_ns,
		       uint64_t *run_cnt)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	if (!l || i < 0 || i >= l->nprogs)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	*name = l->progs[i].name;
	*run_ns = *run_cnt = 0;
	if (bpf_obj_get_info_by_fd(l->progs[i].fd, &info, &len) == 0) {
		*run_ns = info.run_time_ns;
		*run_cnt = info.run_cnt;
	}
	return 0;
}

int loader__map_lookup(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
}

int loader__map_update(int fd, const void *key, const void *value)
{
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

int loader__map_delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

int loader__map_next_key(int fd, const void *key, void *next)
{
	return bpf_map_get_next_key(fd, key, next) ? -errno : 0;
}

int loader__map_lookup_batch(int fd, void *keys, void *values, uint32_t *count)
{
	uint32_t out_batch = 0;

	/* ENOENT: the map ended within *count entries; what was read is valid. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, values, count, NULL) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

void loader__drop_compiler(struct loader *l)
{
	char err[512], path[4096];

	if (!l)
		return;
	malloc_trim(0); /* what the BTF lookups and the key left on the heap */
	if (!l->store || !l->cache_dir[0])
		return;
	l->store = false;
	if (progcache_store(l->cache_dir, l->key, &l->prog, err, sizeof(err))) {
		note("program cache store failed: %s", err);
		return;
	}
	progcache_path(l->cache_dir, l->key, path, sizeof(path));
	note("program cache stored %s", path);
	if (progcache_prune(l->cache_dir, PC_MAX_ENTRIES) > 0)
		note("program cache: least recently used entries removed (%d kept)", PC_MAX_ENTRIES);
}

const char *loader__error(const struct loader *l) { return l ? l->err : "out of memory"; }

void loader__free(struct loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	for (int i = l->nlinks - 1; i >= 0; i--) {
		if (!l->links[i].raw_tp)
			ioctl(l->links[i].fd, PERF_EVENT_IOC_DISABLE, 0);
		close(l->links[i].fd);
		if (l->links[i].kprobe_event[0])
			kprobe_legacy_remove(l->links[i].kprobe_event);
	}
	release_program(l);
	free(l);
}
