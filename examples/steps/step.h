/* What the step programs share (docs/LEARN.md). Each helper is what one
 * step does in full, so that the later steps stay short:
 *   step_config    step 1: a configuration, the log level from USTACK_LOG
 *   step_args      step 3: the command line, TAP device and a count
 *   step_tap_up    step 3: a stack on a TAP device at 192.0.2.2/24
 *   step_run       step 3: the embedded loop, until a condition holds
 * Everything is the public API (include/ustack/); no step reaches into the
 * library's insides. */
#ifndef USTACK_STEP_H
#define USTACK_STEP_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/device.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"
#include "ustack/stack.h"
#include "ustack/stats.h"

/* The defaults, at the level USTACK_LOG asks for (info without it). */
static inline void step_config(struct ust_config *cfg)
{
    ust_config_init(cfg);
    const char *lvl = getenv("USTACK_LOG");
    if (lvl && ust_log_level_parse(lvl, &cfg->log_level) != 0)
        fprintf(stderr, "USTACK_LOG=%s: not a level (error, warn, info, debug, trace)\n", lvl);
}

/* The command line "[TAP [COUNT]]" (COUNT only where count is not NULL):
 * tap0 and the count's default when absent. --help prints the usage and
 * exits 0; anything else prints it and exits 2. */
static inline void step_args(int argc, char **argv, const char *usage, const char **tap,
                             unsigned *count)
{
    int max = count ? 3 : 2;
    bool help = argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
    bool bad = argc > max || (argc > 1 && argv[1][0] == '-' && !help);
    if (!bad && !help && count && argc > 2) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(argv[2], &end, 10);
        bad = errno || *end || end == argv[2] || v < 1 || v > 1000;
        if (!bad)
            *count = (unsigned)v;
    }
    if (help || bad) {
        fprintf(help ? stdout : stderr, "usage: %s\n%s", usage,
                count ? "COUNT is 1 to 1000; see docs/LEARN.md for the step\n"
                      : "see docs/LEARN.md for the step\n");
        exit(help ? 0 : 2);
    }
    *tap = argc > 1 ? argv[1] : "tap0";
}

/* The stack's address on the TAP device, and the host's (the kernel's). */
#define STEP_ADDR UST_IP4(192, 0, 2, 2)
#define STEP_HOST UST_IP4(192, 0, 2, 1)

/* A stack on TAP device `tap` (made if missing) at 192.0.2.2/24, its MAC
 * 02:00:c0:00:02:02. Returns 0, or -1 with a message. */
static inline int step_tap_up(const struct ust_config *cfg, const char *tap, struct ust_stack **out)
{
    static const uint8_t mac[6] = {0x02, 0x00, 192, 0, 2, 2};
    struct ust_stack *s;
    struct ust_device *dev;
    int err = ust_stack_create(cfg, &s);
    if (err) {
        fprintf(stderr, "ust_stack_create: error %d\n", err);
        return -1;
    }
    if ((err = ust_tap_open(tap, mac, &dev, NULL)) != 0) {
        fprintf(stderr, "cannot open TAP device %s (error %d): run as root, with /dev/net/tun\n",
                tap, err);
        ust_stack_destroy(s);
        return -1;
    }
    if (ust_stack_add_device(s, dev) < 0 ||
        ust_iface_add(s, tap, STEP_ADDR, 24, ust_clock_now()) != 0) {
        fprintf(stderr, "cannot bring %s up\n", tap);
        ust_stack_destroy(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* The embedded loop on device devname: sleep in poll() on its fd until a
 * frame comes or the stack's next deadline, then ust_stack_poll(), which
 * reads the frames and runs the timers. After each step done(s, arg,
 * &wake) does the program's own work; it may bring `wake` forward to a
 * time of its own (the next ping). Stops when done returns true (true),
 * or after `seconds` (false). */
static inline bool step_run(struct ust_stack *s, const char *devname, double seconds,
                            bool (*done)(struct ust_stack *, void *, ust_time_t *), void *arg)
{
    struct ust_device *dev = ust_stack_device(s, devname);
    int fd = dev && dev->ops->fd ? dev->ops->fd(dev) : -1;
    ust_time_t end = ust_clock_now() + (ust_time_t)(seconds * UST_SEC);
    for (;;) {
        ust_time_t now = ust_clock_now();
        ust_stack_poll(s, now);
        ust_time_t next = ust_stack_next_deadline(s);
        if (done(s, arg, &next))
            return true;
        if (now >= end)
            return false;
        if (next > end)
            next = end;
        now = ust_clock_now();
        int ms = next > now ? (int)((next - now + 999) / 1000) : 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, fd >= 0 ? 1 : 0, ms);
    }
}

#endif
