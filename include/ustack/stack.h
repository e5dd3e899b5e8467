/* ustack: one stack instance, its configuration, interfaces and routes.
 *
 * The stack is sans-I/O: it never reads a clock, never sleeps and never makes
 * a system call itself. Time is passed in (`now`, monotonic microseconds),
 * frames come in through ust_stack_input() or a device's receive hook during
 * ust_stack_poll(), and leave through the devices' transmit hooks. A stack is
 * not thread-safe: one thread drives it, or a runtime (ustack/runtime.h)
 * does, with a lock that every socket call takes. */
#ifndef USTACK_STACK_H
#define USTACK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>

#include "ustack/device.h"
#include "ustack/log.h"
#include "ustack/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* IPv4 addresses in the API are host-order integers: 192.0.2.1 is 0xc0000201. */
typedef uint32_t ust_ip4_t;
#define UST_IP4(a, b, c, d)                                                                        \
    ((ust_ip4_t)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) |            \
                 (uint32_t)(d)))
#define UST_IP4_STRLEN 16
#define UST_MS 1000ULL
#define UST_SEC 1000000ULL

struct ust_config {
    uint64_t seed;                /* seeds the stack's PRNG (ids, ISNs, ports) */
    enum ust_log_level log_level; /* default UST_LOG_INFO */
    ust_log_fn log_fn;            /* default ust_log_stderr */
    void *log_ctx;

    /* ARP (RFC 826, RFC 1122 2.3.2) */
    unsigned arp_cache_size;       /* entries; default 64 */
    ust_time_t arp_reachable_time; /* life of a resolved entry; default 60 s */
    ust_time_t arp_refresh_window; /* re-probe a used entry this long before
                                        it expires; default 5 s */
    ust_time_t arp_retry_interval; /* between requests; default 1 s */
    unsigned arp_max_retries;      /* requests after the first; default 3 */
    unsigned arp_pending_max;      /* packets queued per unresolved address; default 64
                                        (a 64 KiB datagram is 45 fragments) */

    /* IPv4 */
    uint8_t ip_default_ttl; /* default 64 */

    /* IPv4 reassembly (RFC 791, RFC 815) */
    ust_time_t reasm_timeout; /* a partial datagram's life; default 30 s */
    size_t reasm_mem_max;     /* bytes held by all partial datagrams; default 4 MiB */

    /* ICMP errors, all of the stack's (RFC 1812 4.3.2.8): a token bucket
     * after the per-destination one below (0: no stack-wide limit). */
    unsigned icmp_rate_per_sec; /* default 1000 (Linux's icmp_msgs_per_sec) */
    unsigned icmp_burst;        /* default 50 (Linux's icmp_msgs_burst) */

    /* ---- Under attack: the net layer's bounds (issue 11) ----
     * What a remote host can make the neighbour cache, the ICMP error
     * limits and reassembly hold or send; docs/DESIGN.md says why. */
    ust_time_t icmp_dst_interval; /* ICMP errors to one destination: one per interval
                                        once its burst is spent; default 1 s (Linux's
                                        icmp_ratelimit); 0: no per-destination limit */
    unsigned icmp_dst_burst;      /* default 6 (Linux: 6 x icmp_ratelimit) */
    unsigned icmp_dst_table_size; /* destinations with a bucket; the least recently
                                        charged one makes room; default 1024 */
    ust_time_t arp_in_use_time;   /* an entry a packet went through this recently is
                                        in use: unsolicited ARP never displaces it, and
                                        a new MAC for it must first go unanswered by the
                                        old one (arp_retry_interval); default 30 s */
    unsigned reasm_max_per_src;   /* partial datagrams from one source; its oldest
                                        makes room for a new one; default 64; 0: none */
    /* ---- end of issue 11's net-layer block ---- */

    /* IPv6 (RFC 8200), neighbour discovery (RFC 4861), SLAAC (RFC 4862) */
    uint8_t ip6_hop_limit;        /* default 64; a router's RA may change it */
    unsigned nd_cache_size;       /* neighbour cache entries; default 256 */
    unsigned nd_pending_max;      /* packets queued per unresolved neighbour; default 64 */
    ust_time_t nd_reachable_time; /* BaseReachableTime (RFC 4861 10); default 30 s;
                                      a router's RA may change it */
    ust_time_t nd_retrans_timer;  /* between solicitations; default 1 s (RA may change) */
    unsigned nd_max_solicit;      /* multicast / unicast solicitations before a
                                      neighbour is given up; default 3 */
    unsigned ip6_dad_transmits;   /* DupAddrDetectTransmits (RFC 4862 5.1); default 1;
                                      0: no duplicate address detection */
    unsigned ip6_rtr_solicits;    /* router solicitations at start (RFC 4861 10); default 3 */
    unsigned pmtu_cache_size;     /* destinations with a learned path MTU (RFC 8201);
                                      default 256 */
    ust_time_t pmtu_expiry;       /* a learned path MTU is forgotten; default 10 min */

    /* Sockets */
    unsigned max_sockets;                /* sockets open at once, at most 2^20; the table
                                        grows to it on demand; default 131072 */
    uint32_t udp_rcvbuf;                 /* default SO_RCVBUF; default 212992 (as Linux) */
    uint16_t ephemeral_lo, ephemeral_hi; /* RFC 6056 range; default 49152-65535 */

    /* TCP (RFC 9293) */
    uint32_t tcp_sndbuf, tcp_rcvbuf;  /* default SO_SNDBUF/SO_RCVBUF; default 256 KiB
                                         (windows beyond 65535 need RFC 7323
                                         scaling; receive rings cap at 4 MiB) */
    uint32_t tcp_rcvbuf_max;          /* receive buffers not sized with SO_RCVBUF grow
                                         with the connection's rate up to this;
                                         default 4 MiB; <= tcp_rcvbuf turns it off */
    uint32_t tcp_sndbuf_max;          /* the same for send buffers; default 4 MiB */
    size_t tcp_mem_max;               /* memory all TCP buffers may hold together (Linux's
                                         tcp_mem); a buffer takes memory only while it
                                         holds data; default 256 MiB */
    ust_time_t tcp_initial_rto;       /* RFC 6298 2.1; default 1 s */
    ust_time_t tcp_min_rto;           /* default 200 ms (Linux's; RFC 6298 says 1 s) */
    unsigned tcp_syn_retries;         /* SYN retransmissions before ETIMEDOUT; default 6 */
    unsigned tcp_max_retries;         /* data retransmissions before ETIMEDOUT; default 15 */
    ust_time_t tcp_delack;            /* delayed-ACK time, at most 200 ms; default 40 ms */
    ust_time_t tcp_msl;               /* TIME-WAIT lasts 2*MSL; default 30 s */
    ust_time_t tcp_fin_timeout;       /* an orphaned FIN-WAIT-2 gives up; default 60 s */
    unsigned tcp_max_backlog;         /* listen() backlog cap; default 4096 */
    unsigned tcp_challenge_ack_rate;  /* RFC 5961 challenge ACKs per second, stack-wide,
                                         drawn at random around it; default 1000 */
    ust_time_t tcp_invalid_ratelimit; /* per connection, at most one ACK in answer to
                                         invalid segments (and challenges) per this;
                                         default 500 ms (as Linux) */
    unsigned tcp_syncookies;          /* RFC 4987 SYN cookies: 0 never, 1 when a
                                         listener's half-open queue is full (default),
                                         2 always */
    unsigned tcp_synack_retries;      /* SYN-ACK retransmissions; default 5 (as Linux);
                                         without cookies, 2 while the half-open queue is
                                         over half full */
    unsigned tcp_max_conns;           /* connections at once, with those whose socket is
                                         gone (TIME-WAIT, closing); default 262144 */
    bool tcp_timestamps;              /* offer RFC 7323 timestamps; default on */
    bool tcp_sack;                    /* offer RFC 2018 SACK; default on */
    bool tcp_loss_probes;             /* tail loss probes (RFC 8985 7); default on */
    const char *tcp_congestion;       /* "cubic" (default) or "newreno", read when the
                                         stack is created; per socket: TCP_CONGESTION */
};

struct ust_stack;

/* Fills cfg with the defaults above. */
void ust_config_init(struct ust_config *cfg);

/* Creates a stack. cfg may be NULL for defaults. Returns 0 or -ENOMEM/-EINVAL. */
int ust_stack_create(const struct ust_config *cfg, struct ust_stack **out);
/* Destroys the stack, every device added to it and everything it queued. */
void ust_stack_destroy(struct ust_stack *s);

void ust_stack_set_log_level(struct ust_stack *s, enum ust_log_level level);
enum ust_log_level ust_stack_log_level(const struct ust_stack *s);

/* Adds a device; the stack owns it from then on (even on failure).
 * Returns a device index >= 0, or -errno (-ENOSPC when full, -EEXIST for a
 * duplicate name). */
int ust_stack_add_device(struct ust_stack *s, struct ust_device *dev);
/* Looks a device up by name; NULL if absent. */
struct ust_device *ust_stack_device(struct ust_stack *s, const char *name);
/* The zone of a device, as sin6_scope_id names it for a link-local
 * address (fe80::1%eth0): its index + 1, as if_nametoindex(3) for the
 * kernel's; 0 if there is no such device. */
unsigned ust_if_nametoindex(struct ust_stack *s, const char *name);

/* Gives the device an IPv4 address with a prefix length, adds the connected
 * route and brings the interface up (an Ethernet interface announces itself
 * with a gratuitous ARP). One address per device. Returns 0, -ENODEV,
 * -EINVAL (bad prefix or address), -EEXIST (already configured). */
int ust_iface_add(struct ust_stack *s, const char *dev, ust_ip4_t addr, unsigned prefix_len,
                  ust_time_t now);

/* IPv6 on dev (an Ethernet interface or the loopback device): a
 * link-local address (RFC 7217 stable interface identifier; on loopback
 * ::1), duplicate address detection, then router solicitations; addresses
 * from router advertisements follow (SLAAC, RFC 4862). 0, -ENODEV,
 * -EEXIST (already on), -ENOSPC. */
int ust_iface_enable_ipv6(struct ust_stack *s, const char *dev, ust_time_t now);
/* A static IPv6 address with a prefix length on dev (IPv6 is enabled on
 * it first if needed): on-link route for the prefix, DAD, then usable.
 * 0, -ENODEV, -EINVAL (multicast, unspecified, v4-mapped, bad prefix),
 * -EEXIST, -ENOSPC. */
int ust_iface_add6(struct ust_stack *s, const char *dev, const struct in6_addr *addr,
                   unsigned prefix_len, ust_time_t now);
/* An IPv6 route: gateway NULL (or ::) means on the link of dev. dev may be
 * NULL when the stack has one IPv6 interface. 0, -EINVAL, -ENODEV, -ENOSPC. */
int ust_route_add6(struct ust_stack *s, const struct in6_addr *prefix, unsigned prefix_len,
                   const struct in6_addr *gateway, const char *dev);

/* The IPv6 addresses of dev, as ustack holds them now. */
enum ust_addr6_origin {
    UST_ADDR6_LINK_LOCAL,
    UST_ADDR6_STATIC,
    UST_ADDR6_SLAAC,
    UST_ADDR6_LOOPBACK
};
struct ust_addr6 {
    struct in6_addr addr;
    unsigned prefix_len;
    enum ust_addr6_origin origin;
    bool tentative;  /* duplicate address detection still running: not usable yet */
    bool deprecated; /* preferred lifetime over: kept, not chosen for new traffic */
};
/* Fills out with up to max of them; returns how many dev has (may exceed
 * max), -ENODEV or -EINVAL. */
int ust_iface_addrs6(struct ust_stack *s, const char *dev, struct ust_addr6 *out, size_t max);

/* Adds a route. gateway 0 means the destination is on the link of dev
 * (connected); dev may be NULL when the gateway is reachable through a
 * connected route. Longest prefix wins; among equals, the first added.
 * Returns 0, -EINVAL, -ENETUNREACH (gateway not on any link), -ENOSPC. */
int ust_route_add(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len, ust_ip4_t gateway,
                  const char *dev);
/* Removes the route with exactly this prefix; 0 or -ESRCH. */
int ust_route_del(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len);

/* Processes one received frame from the named device (by index) at time now.
 * Never fails: malformed input is dropped and counted. */
void ust_stack_input(struct ust_stack *s, int dev_index, const uint8_t *frame, size_t len,
                     ust_time_t now);
/* The same for a device with offloads, with the frame's metadata (m may be
 * NULL). Metadata that does not fit the frame (a length or offset past its
 * end, an unknown flag or type) drops the frame (offload.rx_bad_meta). */
struct ust_pkt_meta;
void ust_stack_input_meta(struct ust_stack *s, int dev_index, const uint8_t *frame, size_t len,
                          const struct ust_pkt_meta *m, ust_time_t now);

/* One step of the stack: pulls waiting frames from the devices (at most a
 * bounded batch each), runs every timer that is due, sends what is ready.
 * Returns the number of frames received. */
int ust_stack_poll(struct ust_stack *s, ust_time_t now);

/* The earliest time at which ust_stack_poll() has work that no outside
 * event will announce; UST_TIME_NEVER if none. */
ust_time_t ust_stack_next_deadline(const struct ust_stack *s);

const struct ust_stats *ust_stack_stats(const struct ust_stack *s);

/* Addresses: "192.0.2.1" <-> host order. parse returns 0 or -EINVAL. */
int ust_ip4_parse(const char *s, ust_ip4_t *out);
/* Parses "192.0.2.2/24"; a missing prefix is /32. */
int ust_ip4_parse_cidr(const char *s, ust_ip4_t *out, unsigned *prefix_len);
char *ust_ip4_format(ust_ip4_t a, char buf[UST_IP4_STRLEN]);
/* IPv6 text (RFC 4291 2.2 in, RFC 5952 out): "2001:db8::1"; cidr takes
 * "2001:db8::2/64" (a missing prefix is /128). 0 or -EINVAL. */
#define UST_IP6_STRLEN 46
int ust_ip6_parse(const char *s, struct in6_addr *out);
int ust_ip6_parse_cidr(const char *s, struct in6_addr *out, unsigned *prefix_len);
char *ust_ip6_format(const struct in6_addr *a, char buf[UST_IP6_STRLEN]);
/* Parses "02:00:00:00:00:01". 0 or -EINVAL. */
int ust_mac_parse(const char *s, uint8_t mac[6]);

/* ---- ICMP and ICMPv6 echo (ping) for programs ----
 * A ping endpoint owns an identifier, for both families; echo replies
 * carrying it (ICMP or ICMPv6) are queued (bounded) until read. No
 * callbacks: poll ust_ping_recv(). */
struct ust_ping_reply {
    int family;            /* AF_INET (ICMP) or AF_INET6 (ICMPv6) */
    ust_ip4_t from;        /* AF_INET: the replying host; 0 for AF_INET6 */
    struct in6_addr from6; /* AF_INET6: the replying host; AF_INET: ::ffff:a.b.c.d */
    uint16_t id, seq;
    uint8_t ttl;         /* the reply's TTL, or its hop limit */
    size_t len;          /* payload bytes in the reply (may exceed what was copied) */
    ust_time_t received; /* the `now` at which it arrived */
};

/* Opens an endpoint with identifier id (0 picks a free random one).
 * Returns a handle >= 0, or -EADDRINUSE / -ENOSPC. */
int ust_ping_open(struct ust_stack *s, uint16_t id);
/* The endpoint's identifier, or -EBADF. */
int ust_ping_id(struct ust_stack *s, int handle);
/* Sends an echo request with this sequence number and payload. Returns 0
 * (sent or waiting for ARP), -EBADF, -EMSGSIZE, -ENETUNREACH, -ENOBUFS. */
int ust_ping_send(struct ust_stack *s, int handle, ust_ip4_t dst, uint16_t seq, const void *data,
                  size_t len, ust_time_t now);
/* The same over ICMPv6 (RFC 4443 4.1): the source address is chosen for
 * dst (RFC 6724); a link-local or multicast dst goes out of the first IPv6
 * interface. An IPv4-mapped dst (::ffff:a.b.c.d) is sent as ust_ping_send
 * would. Returns 0 (sent or waiting for neighbour discovery), -EBADF,
 * -EINVAL, -EMSGSIZE, -ENETUNREACH (no route or no usable source address
 * yet: still tentative), -ENOBUFS. */
int ust_ping_send6(struct ust_stack *s, int handle, const struct in6_addr *dst, uint16_t seq,
                   const void *data, size_t len, ust_time_t now);
/* Takes the oldest reply: copies up to cap payload bytes into buf (may be
 * NULL) and fills r. Returns 0, -EAGAIN when none is waiting, -EBADF. */
int ust_ping_recv(struct ust_stack *s, int handle, struct ust_ping_reply *r, void *buf, size_t cap);
/* Closes the endpoint; waiting replies are discarded. 0 or -EBADF. */
int ust_ping_close(struct ust_stack *s, int handle);

#ifdef __cplusplus
}
#endif
#endif
