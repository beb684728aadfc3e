/*
 * Experiment: how much of a bccnet tool's idle RSS is LLVM/clang code that
 * the compile paged in, and what dropping it would give.
 *
 *   cc -O2 -o /tmp/compiler_text scripts/bench/compiler_text.c -lbcc && /tmp/compiler_text
 *
 * Compiles a one-line tracepoint program the way common/loader.c does, frees
 * the module as loader__drop_compiler() does (bpf_module_destroy +
 * malloc_trim), then madvise(MADV_DONTNEED)s the read-only executable
 * mappings of libLLVM / libclang-cpp. Those pages are clean file pages: the
 * kernel reads them back from the library if that code ever runs again, so
 * this is safe (unlike writable or relocated mappings, which are left alone).
 */
#include <bcc/bcc_common.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static long rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			sscanf(line + 6, "%ld", &kib);
	if (f)
		fclose(f);
	return kib;
}

static void drop_compiler_text(void)
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

int main(void)
{
	const char *text = "TRACEPOINT_PROBE(net, net_dev_start_xmit) { return 0; }";
	void *mod = bpf_module_create_c_from_string(text, 0, NULL, 0, true, NULL);

	if (!mod)
		return 1;
	printf("after compile:                          %6ld KiB\n", rss_kib());
	bpf_module_destroy(mod);
	malloc_trim(0);
	printf("after bpf_module_destroy + malloc_trim: %6ld KiB\n", rss_kib());
	drop_compiler_text();
	printf("after MADV_DONTNEED of LLVM/clang code: %6ld KiB\n", rss_kib());
	return 0;
}
