#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "core/stack_priv.h"

static const char *const level_names[] = {"none", "error", "warn", "info", "debug", "trace"};
static const char level_letters[] = "-EWIDT";

int ust_log_level_parse(const char *s, enum ust_log_level *out)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i <= UST_LOG_TRACE; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum ust_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = UST_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *ust_log_level_name(enum ust_log_level level)
{
    return (unsigned)level <= UST_LOG_TRACE ? level_names[level] : "?";
}

enum ust_log_level ust_stack_log_level(const struct ust_stack *s) { return s->cfg.log_level; }

void ust_stack_set_log_level(struct ust_stack *s, enum ust_log_level level)
{
    s->cfg.log_level = level;
}

void ust_log_emit(const struct ust_stack *s, enum ust_log_level level, const char *func,
                  const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->cfg.log_fn)
        s->cfg.log_fn(s->cfg.log_ctx, level, func, file, line, msg);
}

/* The edge: this sink reads the wall clock, for display only. */
void ust_log_stderr(void *ctx, enum ust_log_level level, const char *func, const char *file,
                    int line, const char *msg)
{
    (void)ctx;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    char letter = (unsigned)level <= UST_LOG_TRACE ? level_letters[level] : '?';
    fprintf(stderr, "%02d:%02d:%02d.%03ld [%c] %s: %s (%s:%d)\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, letter, func, msg, file, line);
}
