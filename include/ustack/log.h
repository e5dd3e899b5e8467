/* ustack logging: levels, the sink interface and the default stderr sink. */
#ifndef USTACK_LOG_H
#define USTACK_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum ust_log_level {
    UST_LOG_NONE = 0,
    UST_LOG_ERROR,
    UST_LOG_WARN,
    UST_LOG_INFO,
    UST_LOG_DEBUG,
    UST_LOG_TRACE,
};

/* A log sink receives one finished message (no trailing newline) with the
 * place it came from. It is called from inside the stack, so it must not call
 * back into the stack. */
typedef void (*ust_log_fn)(void *ctx, enum ust_log_level level, const char *func, const char *file,
                           int line, const char *msg);

/* Parses "error", "warn", "info", "debug", "trace" (or "none"), case-insensitive.
 * Returns 0, or -EINVAL for anything else (out is left unchanged). */
int ust_log_level_parse(const char *s, enum ust_log_level *out);
const char *ust_log_level_name(enum ust_log_level level);

/* The default sink: "12:00:01.234 [I] func: msg (file:line)" on stderr, with
 * the local wall-clock time (display only; the core never reads a clock). */
void ust_log_stderr(void *ctx, enum ust_log_level level, const char *func, const char *file,
                    int line, const char *msg);

#ifdef __cplusplus
}
#endif
#endif
