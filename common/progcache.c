#include "progcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PC_MAGIC "BCCNETPC"
#define PC_VERSION 1
#define PC_MAX_INSNS 1000000
#define PC_MAX_FILE (64u << 20)

struct pc_header {
	char magic[8];
	uint32_t version, reserved;
	uint64_t payload_len;
	uint8_t key[DIGEST_LEN];
	uint8_t digest[DIGEST_LEN];
};

/* A growing output buffer; a failed allocation sticks. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct wbuf *w, const void *data, size_t n)
{
	uint8_t *p;

	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = (w->cap ? w->cap * 2 : 4096) + n;

		p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void put_u32(struct wbuf *w, uint32_t v) { put(w, &v, sizeof(v)); }

static void put_str(struct wbuf *w, const char *s)
{
	put_u32(w, (uint32_t)strlen(s));
	put(w, s, strlen(s));
}

static void put_func(struct wbuf *w, const struct pc_func *f)
{
	put_str(w, f->name);
	put_u32(w, f->prog_type);
	put_u32(w, f->ninsns);
	put(w, f->insns, (size_t)f->ninsns * 8);
	put_u32(w, f->nrelocs);
	put(w, f->relocs, (size_t)f->nrelocs * sizeof(*f->relocs));
}

int pc_entry_encode(const struct pc_entry *e, const uint8_t key[DIGEST_LEN], void **buf,
		    size_t *len)
{
	struct wbuf w = { 0 };
	struct pc_header h = { .magic = PC_MAGIC, .version = PC_VERSION };

	put(&w, &h, sizeof(h));
	put_u32(&w, e->kern_version);
	put_str(&w, e->license);
	put_u32(&w, e->nmaps);
	for (uint32_t i = 0; i < e->nmaps; i++) {
		const struct pc_map *m = &e->maps[i];

		put_str(&w, m->name);
		put(&w, &m->type, 5 * sizeof(uint32_t));
	}
	put_u32(&w, e->nfuncs);
	for (uint32_t i = 0; i < e->nfuncs; i++)
		put_func(&w, &e->funcs[i]);
	if (w.oom) {
		free(w.p);
		return -ENOMEM;
	}
	h.payload_len = w.len - sizeof(h);
	memcpy(h.key, key, DIGEST_LEN);
	sha256(w.p + sizeof(h), h.payload_len, h.digest);
	memcpy(w.p, &h, sizeof(h));
	*buf = w.p;
	*len = w.len;
	return 0;
}

/* A bounds-checked reader: the first short read sticks. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const void *take(struct rbuf *r, size_t n)
{
	const void *p = r->p + r->off;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	r->off += n;
	return p;
}

static uint32_t get_u32(struct rbuf *r)
{
	const void *p = take(r, 4);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, 4);
	return v;
}

static void get_str(struct rbuf *r, char *out)
{
	uint32_t n = get_u32(r);
	const void *p = n < PC_NAME_LEN ? take(r, n) : NULL;

	if (!p) {
		r->bad = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void *get_array(struct rbuf *r, uint32_t n, size_t size)
{
	const void *p = n <= PC_MAX_INSNS ? take(r, (size_t)n * size) : NULL;
	void *copy = p ? malloc((size_t)n * size + 1) : NULL;

	if (!copy) {
		r->bad = true;
		return NULL;
	}
	memcpy(copy, p, (size_t)n * size);
	return copy;
}

static bool relocs_valid(const struct pc_func *f, uint32_t nmaps)
{
	for (uint32_t i = 0; i < f->nrelocs; i++)
		if (f->relocs[i].insn + 1 >= f->ninsns || f->relocs[i].map >= nmaps)
			return false;
	return true;
}

static void get_func(struct rbuf *r, struct pc_func *f, uint32_t nmaps)
{
	get_str(r, f->name);
	f->prog_type = get_u32(r);
	f->ninsns = get_u32(r);
	f->insns = r->bad ? NULL : get_array(r, f->ninsns, 8);
	f->nrelocs = get_u32(r);
	f->relocs = r->bad ? NULL : get_array(r, f->nrelocs, sizeof(*f->relocs));
	if (!r->bad && !relocs_valid(f, nmaps))
		r->bad = true;
}

static void get_payload(struct rbuf *r, struct pc_entry *e)
{
	e->kern_version = get_u32(r);
	get_str(r, e->license);
	e->nmaps = get_u32(r);
	if (e->nmaps > PC_MAX_MAPS)
		r->bad = true;
	for (uint32_t i = 0; !r->bad && i < e->nmaps; i++) {
		const void *p;

		get_str(r, e->maps[i].name);
		p = take(r, 5 * sizeof(uint32_t));
		if (p)
			memcpy(&e->maps[i].type, p, 5 * sizeof(uint32_t));
	}
	e->nfuncs = r->bad ? 0 : get_u32(r);
	if (e->nfuncs > PC_MAX_FUNCS) {
		r->bad = true;
		e->nfuncs = 0;
	}
	for (uint32_t i = 0; !r->bad && i < e->nfuncs; i++)
		get_func(r, &e->funcs[i], e->nmaps);
	if (r->off != r->len)
		r->bad = true;
}

static int check_header(const void *buf, size_t len, const uint8_t key[DIGEST_LEN], char *err,
			size_t errlen)
{
	struct pc_header h;
	uint8_t digest[DIGEST_LEN];

	if (len < sizeof(h)) {
		snprintf(err, errlen, "%zu bytes, shorter than the header", len);
		return -EBADMSG;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, PC_MAGIC, sizeof(h.magic)) || h.version != PC_VERSION || h.reserved) {
		snprintf(err, errlen, "not a version %d entry", PC_VERSION);
		return -EBADMSG;
	}
	if (h.payload_len != len - sizeof(h)) {
		snprintf(err, errlen, "length %zu, header says %llu", len - sizeof(h),
			 (unsigned long long)h.payload_len);
		return -EBADMSG;
	}
	sha256((const uint8_t *)buf + sizeof(h), len - sizeof(h), digest);
	if (memcmp(digest, h.digest, DIGEST_LEN)) {
		snprintf(err, errlen, "digest mismatch");
		return -EBADMSG;
	}
	if (memcmp(key, h.key, DIGEST_LEN)) {
		snprintf(err, errlen, "entry of another key");
		return -EBADMSG;
	}
	return 0;
}

int pc_entry_decode(const void *buf, size_t len, const uint8_t key[DIGEST_LEN],
		    struct pc_entry *e, char *err, size_t errlen)
{
	struct rbuf r = { .p = buf, .len = len, .off = sizeof(struct pc_header) };
	int rc = check_header(buf, len, key, err, errlen);

	memset(e, 0, sizeof(*e));
	if (rc)
		return rc;
	get_payload(&r, e);
	if (r.bad) {
		pc_entry_free(e);
		snprintf(err, errlen, "malformed payload");
		return -EBADMSG;
	}
	return 0;
}

void pc_entry_free(struct pc_entry *e)
{
	for (uint32_t i = 0; e && i < e->nfuncs && i < PC_MAX_FUNCS; i++) {
		free(e->funcs[i].insns);
		free(e->funcs[i].relocs);
	}
	if (e)
		memset(e, 0, sizeof(*e));
}

struct pc_func *pc_entry_func(struct pc_entry *e, const char *name)
{
	for (uint32_t i = 0; i < e->nfuncs; i++)
		if (strcmp(e->funcs[i].name, name) == 0)
			return &e->funcs[i];
	return NULL;
}

/* Only root may own or write the cache and its entries. */
static int check_owner(const struct stat *st, const char *path, char *err, size_t errlen)
{
	if (st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	snprintf(err, errlen, "refusing the program cache: %s is %s; fix it or use --no-cache",
		 path, st->st_uid ? "not owned by root" : "writable by others than root");
	return -EPERM;
}

int progcache_dir(char *dir, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("BCCNET_CACHE_DIR");
	struct stat st;

	snprintf(dir, len, "%s", env && *env ? env : PC_DEFAULT_DIR);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "program cache %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st)) {
		snprintf(err, errlen, "program cache %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "refusing the program cache: %s is not a directory", dir);
		return -EPERM;
	}
	return check_owner(&st, dir, err, errlen);
}

void progcache_path(const char *dir, const uint8_t key[DIGEST_LEN], char *path, size_t len)
{
	char hex[2 * DIGEST_LEN + 1];

	digest_hex(key, hex);
	snprintf(path, len, "%s/%s.prog", dir, hex);
}

static int read_all(int fd, size_t size, void **out)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while (off < size && (n = read(fd, buf + off, size - off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		off += (size_t)n;
	}
	*out = buf;
	return (int)off;
}

int progcache_load(const char *dir, const uint8_t key[DIGEST_LEN], struct pc_entry *e,
		   char *err, size_t errlen)
{
	char path[4096], why[128];
	struct stat st;
	void *buf = NULL;
	int fd, n, rc;

	progcache_path(dir, key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "no entry %s", path);
		return errno == ENOENT ? -ENOENT : -EBADMSG;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > PC_MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "%s is not a regular file of a sane size", path);
		return -EBADMSG;
	}
	rc = check_owner(&st, path, err, errlen);
	n = rc ? rc : read_all(fd, (size_t)st.st_size, &buf);
	if (n >= 0)
		futimens(fd, NULL); /* used now: the last to be evicted (a read-only cache keeps its times) */
	close(fd);
	if (n < 0)
		return rc ? rc : -EBADMSG;
	rc = pc_entry_decode(buf, (size_t)n, key, e, why, sizeof(why));
	free(buf);
	if (rc)
		snprintf(err, errlen, "corrupt entry %s: %s", path, why);
	return rc;
}

int pc_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -(errno ? errno : EIO);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int progcache_store(const char *dir, const uint8_t key[DIGEST_LEN], const struct pc_entry *e,
		    char *err, size_t errlen)
{
	char path[4096], tmp[4096 + 16];
	void *buf;
	size_t len;
	int fd, rc = pc_entry_encode(e, key, &buf, &len);

	if (rc)
		return rc;
	progcache_path(dir, key, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.tmp.XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	rc = fd < 0 ? -errno : pc_write_all(fd, buf, len);
	if (!rc && (fchmod(fd, 0600) || fsync(fd)))
		rc = -errno;
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "cannot store %s: %s", path, strerror(-rc));
		if (fd >= 0)
			unlink(tmp);
	}
	free(buf);
	return rc;
}

/* ---- eviction: the least recently used entries beyond a bound ---- */

struct pc_aged {
	struct timespec used; /* mtime: stored or last loaded */
	char name[2 * DIGEST_LEN + 8];
};

static bool is_entry_name(const char *name)
{
	return strlen(name) == 2 * DIGEST_LEN + 5 && strcmp(name + 2 * DIGEST_LEN, ".prog") == 0;
}

static int older_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct pc_aged *)a)->used;
	const struct timespec *y = &((const struct pc_aged *)b)->used;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* The directory's entries with their last use: how many, or -errno. */
static int list_entries(const char *dir, struct pc_aged **out)
{
	DIR *d = opendir(dir);
	struct pc_aged *v = NULL, *grown;
	struct dirent *de;
	struct stat st;
	int n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!is_entry_name(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			grown = realloc(v, (size_t)cap * sizeof(*v));
			if (!grown)
				break; /* prune among those listed */
			v = grown;
		}
		v[n].used = st.st_mtim;
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		n++;
	}
	closedir(d);
	*out = v;
	return n;
}

int progcache_prune(const char *dir, int keep)
{
	struct pc_aged *v = NULL;
	int n = list_entries(dir, &v), removed = 0;
	char path[4096];

	if (n > keep) {
		qsort(v, (size_t)n, sizeof(*v), older_first);
		for (int i = 0; i < n - keep; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
			removed += unlink(path) == 0;
		}
	}
	free(v);
	return n < 0 ? n : removed;
}
