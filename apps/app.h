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
    const char *packet; /* --packet IFNAME: an AF_PACKET socket instead of the TAP */
    const char *dev;    /* the device's name: packet if given, else tap */
    int packet_v3;      /* --packet-ring v3 */
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
    bool dhcp;            /* --addr dhcp: addr, prefix_len, gateway come from a lease */
    bool gateway_set;     /* --gateway given (with dhcp: overrides the lease's router) */
    unsigned dhcp_wait_s; /* --dhcp-wait: how long app_stack_up waits for a lease */
    ust_ip4_t dns[3];     /* --dns */
    unsigned ndns;
    int offload;  /* --offload on|off: the TAP's virtio-net header and offloads (default on) */
    uint32_t mtu; /* --mtu: set on the TAP (0: keep the interface's) */
    unsigned busy_poll; /* --busy-poll: us the stack thread polls before sleeping (0: off) */
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

/* Creates the stack, opens the TAP device or (--packet) the AF_PACKET one
 * (+pcap), configures the addresses, loopback and default routes, and
 * starts the runtime. With --addr dhcp it waits for a lease and fills
 * o->addr, prefix_len and gateway from it. Returns 0 or -1 after logging
 * what went wrong and what to do. */
int app_stack_up(struct app_opts *o, struct ust_stack **s, struct ust_runtime **rt);
/* Stops the stack; a DHCP lease is released first. */
void app_stack_down(struct ust_stack *s, struct ust_runtime *rt);

/* The interface under an AF_PACKET device, watched over rtnetlink so that
 * the runner can say when it goes down, comes back, or disappears. */
struct app_link {
    int fd; /* netlink socket (RTMGRP_LINK), or -1 */
    int ifindex;
    char name[16];
    int state; /* APP_LINK_* */
};
enum { APP_LINK_UP, APP_LINK_ADMIN_DOWN, APP_LINK_NO_CARRIER, APP_LINK_GONE };
/* Starts watching the interface called name. 0, or -1 after logging why. */
int app_link_open(struct app_link *l, const char *name);
/* Reads what the kernel said (l->fd is readable), logs every change of the
 * interface's state, and returns the state. */
int app_link_read(struct app_link *l);
void app_link_close(struct app_link *l);

/* A peer given as an IPv4 address or a host name (resolved with
 * ust_getaddrinfo over the stack: --dns or the DHCP lease's servers).
 * 0, or -1 after saying why. */
int app_resolve(struct ust_stack *s, const char *host, ust_ip4_t *out);
/* Could host be a peer (an address, or a name worth asking)? */
bool app_host_ok(const char *host);

/* For examples with a --port option: an on_opt callback whose ctx is a
 * uint16_t to fill from -P/--port (1-65535). */
int app_port_opt(int c, const char *arg, void *ctx);

/* ---- addresses of either family ----
 * The runner's services take both families on one AF_INET6 socket: an
 * IPv4 peer arrives as ::ffff:a.b.c.d. These keep and print both alike. */

/* Long enough for "[ipv6%scope]:port". */
#define APP_PEER_STRLEN (UST_IP6_STRLEN + UST_DEV_NAME_MAX + 9)

/* An IPv4-mapped address (::ffff:a.b.c.d)? */
bool app_addr_is_v4(const struct in6_addr *a);
/* An address as text: IPv4 (mapped) as a plain dotted quad, else RFC 5952. */
char *app_addr_format(const struct in6_addr *a, char buf[UST_IP6_STRLEN]);
/* A peer's address and port out of a sockaddr_in or sockaddr_in6 (IPv4 as
 * ::ffff:a.b.c.d). 0, or -1 for another family. */
int app_sockaddr_get(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port);
/* "192.0.2.1:5201" or "[2001:db8::1]:5201" (the dotted quad for a mapped
 * one), into buf of APP_PEER_STRLEN. */
char *app_peer_format(const struct in6_addr *a, uint16_t port, char buf[APP_PEER_STRLEN]);

/* A peer the user named on the command line, ready for ust_connect. */
struct app_peer {
    int family; /* AF_INET or AF_INET6: the socket to open */
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } u;
    socklen_t len;
    bool port_set;                /* a port was joined to the address */
    char scope[UST_DEV_NAME_MAX]; /* "tap0" of "fe80::1%tap0" ("" if none) */
};
/* Parses an address literal: "192.0.2.1", "2001:db8::1", "fe80::1%tap0",
 * "[2001:db8::1]", and, when port_ok, a joined port: "192.0.2.1:7",
 * "[2001:db8::1]:5201", "[fe80::1%tap0]:7". An IPv4-mapped IPv6 address is
 * taken as the IPv4 one. what names it in the message printed on failure
 * (e.g. "-c"). 0 or -1. (Host names are not literals: a resolver goes in
 * front of this.) */
int app_peer_parse(const char *what, const char *text, bool port_ok, struct app_peer *p);
/* A client's peer from its remaining arguments (after app_parse):
 * PEER PORT, PEER:PORT ([v6]:PORT), or NAME PORT, a host name resolved
 * once the stack is up. */
struct app_target {
    const char *name; /* a host name to resolve, or NULL (a literal) */
    uint16_t port;
};
/* Fills peer (a literal) or target (a name) from argv[optind..]; prog
 * names the program in what it says. 0, or -1 after saying what is
 * wrong. */
int app_peer_args(const char *prog, int argc, char **argv, const struct app_opts *o,
                  struct app_peer *peer, struct app_target *target);
/* After app_stack_up: resolves a name given, and for an IPv6 peer waits
 * for our addresses to leave DAD. 0, or -1 after saying why. */
int app_peer_ready(struct ust_stack *s, struct ust_runtime *rt, const struct app_opts *o,
                   const struct app_target *target, struct app_peer *peer);

/* Is text a host name rather than an address literal? */
bool app_peer_is_name(const char *text);
/* A host name, resolved over the stack (app_resolve: IPv4), with port. 0,
 * or -1 after saying why. */
int app_peer_resolve(struct ust_stack *s, const char *host, uint16_t port, struct app_peer *p);
/* Sets the port unless one was joined to the address. */
void app_peer_default_port(struct app_peer *p, uint16_t port);
/* After app_parse: a scope must name the stack's device (it has one, so
 * the scope only confirms it). 0, or -1 after saying what is wrong. */
int app_peer_check_scope(const char *what, const struct app_peer *p, const struct app_opts *o);

/* For a client about to talk IPv6 right after app_stack_up: waits (at
 * most a few seconds) until the device's IPv6 addresses have passed
 * duplicate address detection (RFC 4862 5.4): a tentative address is not
 * ours yet, so until then there is no source to send from. 0, or -1 after
 * saying that they are still tentative. */
int app_wait_ipv6(struct ust_stack *s, struct ust_runtime *rt, const struct app_opts *o);

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 (call before creating threads)
 * and returns a signalfd for them, or -1. */
int app_signals(void);

/* Log lines in the stack's format, from the application. */
extern enum ust_log_level app_log_level;
void app_log(enum ust_log_level lvl, const char *func, const char *file, int line, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));
#define app_logf(lvl, ...) app_log(lvl, __func__, __FILE__, __LINE__, __VA_ARGS__)

#endif
