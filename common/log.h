/* Messages to the user: one prefix ("<tool>: "), one newline, stderr only. */
#ifndef BCCNET_LOG_H
#define BCCNET_LOG_H

#define BCCNET_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_set_tool(const char *name);
const char *log_tool(void);
void log_error(const char *fmt, ...) BCCNET_PRINTF(1, 2);
void log_warn(const char *fmt, ...) BCCNET_PRINTF(1, 2);
/* Usage errors: one line naming the bad value and what is accepted, exit 2. */
_Noreturn void usage_error(const char *fmt, ...) BCCNET_PRINTF(1, 2);

#endif
