/* What the runner and the examples share: the device/address options, the
 * stack bring-up on a TAP device, and signal handling. */
#ifndef USTACK_APP_H
#define USTACK_APP_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/signalfd.h>

#include "ustack/runtime.h"
#include "ustack/socket.h"
#include "ustack/stack.h"

struct app_opts {
    const char *tap;
    ust_ip4_t addr;
    unsigned prefix_len;
    ust_ip4_t gateway;     /* 0: none */
    bool ipv6;             /* IPv6 on (default): link-local, SLAAC, addr6 */
    bool has_addr6;        /* a static IPv6 address */
    struct in6_addr addr6; /* default 2001:db8::2/64 */
    unsigned prefix6;
    bool has_gateway6; /* a configured IPv6 default router (else from RAs) */
    struct in6_addr gateway6;
    uint8_t mac[6];
    const char *pcap;
    enum ust_log_level log;
    uint64_t seed;
    int seed_set;
    struct ust_faults faults; /* --faults: injected on the TAP, both ways */
    int faults_set;
    int offload;  /* --offload on|off: the TAP's virtio-net header and offloads (default on) */
    uint32_t mtu; /* --mtu: set on the TAP (0: keep the interface's) */
};

/* The usage text of the common options. */
void app_usage_common(FILE *out);
/* The same for a program that took some common short letters (taken) for
 * options of its own: those common options are shown by long name only. */
void app_usage_common_except(FILE *out, const char *taken);
/* Parses the common options out of argv (getopt_long; the program's own
 * options are given as extra short/long lists and come back through
 * on_opt). A letter in extra_short that is also a common option's is the
 * program's; the common option then has its long form only. Returns 0, 1
 * for --help, or -1 after printing what is wrong. */
struct option;
int app_parse(int argc, char **argv, struct app_opts *o, const char *extra_short,
              const struct option *extra_long, int (*on_opt)(int c, const char *arg, void *ctx),
              void *ctx);

/* Creates the stack, opens the TAP device (+pcap), configures the address,
 * loopback and default route, and starts the runtime. Returns 0 or -1 after
 * logging what went wrong and what to do. */
int app_stack_up(const struct app_opts *o, struct ust_stack **s, struct ust_runtime **rt);
void app_stack_down(struct ust_stack *s, struct ust_runtime *rt);

/* For examples with a --port option: an on_opt callback whose ctx is a
 * uint16_t to fill from -P/--port (1-65535). */
int app_port_opt(int c, const char *arg, void *ctx);

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 (call before creating threads)
 * and returns a signalfd for them, or -1. */
int app_signals(void);

/* Log lines in the stack's format, from the application. */
extern enum ust_log_level app_log_level;
void app_log(enum ust_log_level lvl, const char *func, const char *file, int line, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));
#define app_logf(lvl, ...) app_log(lvl, __func__, __FILE__, __LINE__, __VA_ARGS__)

#endif
