#ifndef BCCNET_KALLSYMS_H
#define BCCNET_KALLSYMS_H

#include <stdbool.h>
#include <stdint.h>

/* Address of a text symbol in /proc/kallsyms; 0, or -ENOENT / -EPERM (hidden). */
int kallsyms_text_addr(const char *name, uint64_t *addr);
/* Whether a lookup may load a short-lived BPF program (bpf_kallsyms_lookup_name, kernel
 * 5.16+: ~0.1 ms instead of reading the file); off for --print-bpf, which loads nothing. */
void kallsyms_use_bpf(bool on);

#endif
