#ifndef BCCNET_KALLSYMS_H
#define BCCNET_KALLSYMS_H

#include <stdint.h>

/* Address of a text symbol in /proc/kallsyms; 0, or -ENOENT / -EPERM (hidden). */
int kallsyms_text_addr(const char *name, uint64_t *addr);

#endif
