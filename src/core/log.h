/* Logging inside the stack: macros that cost one comparison when disabled. */
#ifndef USTACK_CORE_LOG_H
#define USTACK_CORE_LOG_H

#include "ustack/stack.h" /* enum ust_log_level, ust_stack_log_level() */

struct ust_stack;

void ust_log_emit(const struct ust_stack *s, enum ust_log_level level, const char *func,
                  const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define ust_log_at(s, lvl, ...)                                                                    \
    do {                                                                                           \
        if (ust_stack_log_level(s) >= (lvl))                                                       \
            ust_log_emit((s), (lvl), __func__, __FILE__, __LINE__, __VA_ARGS__);                   \
    } while (0)

#define errorf(s, ...) ust_log_at(s, UST_LOG_ERROR, __VA_ARGS__)
#define warnf(s, ...) ust_log_at(s, UST_LOG_WARN, __VA_ARGS__)
#define infof(s, ...) ust_log_at(s, UST_LOG_INFO, __VA_ARGS__)
#define debugf(s, ...) ust_log_at(s, UST_LOG_DEBUG, __VA_ARGS__)
#define tracef(s, ...) ust_log_at(s, UST_LOG_TRACE, __VA_ARGS__)

#endif
