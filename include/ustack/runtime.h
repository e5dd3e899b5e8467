/* The edge: what a program driving a stack needs from the operating system. */
#ifndef USTACK_RUNTIME_H
#define USTACK_RUNTIME_H

#include "ustack/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic time in microseconds (CLOCK_MONOTONIC): the `now` to give a
 * stack in a real program. */
ust_time_t ust_clock_now(void);

/* A seed for ust_config.seed from the kernel's random source. 0 or -errno. */
int ust_random_seed(uint64_t *seed);

#ifdef __cplusplus
}
#endif
#endif
