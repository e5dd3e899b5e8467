/* Trace-level dumps of frames' headers (core/dump.c). */
#ifndef USTACK_CORE_DUMP_H
#define USTACK_CORE_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "ustack/device.h"

struct ust_stack;

/* Pretty-prints the headers of a frame that went dir ("in" or "out")
 * through device d, at trace level. */
void dump_frame(struct ust_stack *s, const char *dir, const struct ust_device *d,
                const uint8_t *frame, size_t len);

#endif
