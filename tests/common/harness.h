/* Test harness: a capture device, a virtual clock, frame builders.
 *
 * Tests drive a stack frame by frame: inject a frame with ust_stack_input()
 * at a chosen virtual time, then pop what the stack transmitted from the
 * capture device and assert on it. */
#ifndef USTACK_TEST_HARNESS_H
#define USTACK_TEST_HARNESS_H

#include <netinet/in.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "ustack/stack.h"

/* Defaults of the single-stack fixture. */
#define T_MAC_US                                                                                   \
    {                                                                                              \
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02                                                         \
    } /* the stack */
#define T_MAC_PEER                                                                                 \
    {                                                                                              \
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01                                                         \
    } /* the peer */
#define T_IP_US UST_IP4(192, 0, 2, 2)
#define T_IP_PEER UST_IP4(192, 0, 2, 1)
#define T_IP_OTHER UST_IP4(192, 0, 2, 3)
#define T_IP_REMOTE UST_IP4(198, 51, 100, 7) /* off-link, via the gateway */
/* T_IP_US and T_IP_PEER as the transports keep them (core/ipaddr.h). */
static const struct ipaddr T_ADDR_US = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2}};
static const struct ipaddr T_ADDR_PEER = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}};

extern const uint8_t t_mac_us[6], t_mac_peer[6];

/* A device that keeps what the stack transmits, for the test to inspect. */
struct cap;
int cap_create(const char *name, const uint8_t mac[6], struct cap **cap, struct ust_device **dev);
size_t cap_count(const struct cap *c);
/* Pops the oldest transmitted frame into buf; returns its length, 0 if none. */
size_t cap_pop(struct cap *c, uint8_t *buf, size_t bufcap);
void cap_clear(struct cap *c);
/* Make transmit fail with this -errno (0: succeed). */
void cap_fail_with(struct cap *c, int err);
/* Gives the capture device (dev: its struct ust_device) offloads: the
 * stack then sends it partial checksums, which it finishes in the frames it
 * keeps, and super-frames (TSO up to gso_max), which it keeps whole.
 * offload 0 makes it plain again. */
struct ust_device;
void cap_set_offload(struct ust_device *dev, uint32_t offload, uint32_t gso_max);
/* Makes the capture device take frames in pieces (transmit_iov: TCP's
 * payload straight from the send ring), or not (the default: the stack
 * copies the payload behind the headers). It keeps them whole either way. */
void cap_set_iov(struct ust_device *dev, bool on);
/* Frames it was handed in pieces. */
size_t cap_iov_frames(const struct cap *c);
/* The offload metadata of the frame cap_pop returned last (zero: none). */
struct ust_pkt_meta;
const struct ust_pkt_meta *cap_last_meta(const struct cap *c);

/* A stack with one capture device "eth0" at T_IP_US/24 (MAC t_mac_us), a
 * default route via T_IP_PEER, created at time `now`. The gratuitous ARP
 * sent at start-up is already popped. Log level from USTACK_LOG, else none.
 * cfg may be NULL for defaults (its seed/log fields are overridden). */
struct fixture {
    struct ust_stack *s;
    struct cap *cap;
    int dev;
    ust_time_t now;
};
void fixture_init(struct fixture *f, const struct ust_config *cfg);
void fixture_fini(struct fixture *f);
/* Injects a frame on eth0 at f->now and polls. */
void fixture_input(struct fixture *f, const uint8_t *frame, size_t len);
/* Advances the virtual clock to t and polls. */
void fixture_advance_to(struct fixture *f, ust_time_t t);
/* Teaches the stack T_IP_PEER's MAC (an ARP reply from the peer). */
void fixture_learn_peer(struct fixture *f);

/* Config for tests: defaults, seed, log level from USTACK_LOG (else none). */
void test_config(struct ust_config *cfg, uint64_t seed);

/* ---- frame builders: each returns the frame length ---- */
size_t build_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type,
                 const void *payload, size_t len);
size_t build_arp(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
                 ust_ip4_t spa, const uint8_t tha[6], ust_ip4_t tpa);
/* IPv4 packet (no Ethernet header) with a correct checksum. */
size_t build_ipv4(uint8_t *buf, ust_ip4_t src, ust_ip4_t dst, uint8_t proto, uint16_t id,
                  uint16_t frag, uint8_t ttl, const void *payload, size_t len);
/* ICMP message (no IP header) with a correct checksum. */
size_t build_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *payload,
                  size_t len);
/* Ethernet + IPv4 + ICMP echo request from the peer to us. */
size_t build_echo_request(uint8_t *buf, ust_ip4_t src, ust_ip4_t dst, uint16_t id, uint16_t seq,
                          const void *data, size_t len);

/* ---- sockets ---- */
/* An AF_INET address: a in host order (0: any), port. */
struct sockaddr_in sin_of(ust_ip4_t a, uint16_t port);
#define SA(x) ((struct sockaddr *)&(x))
/* A call that must fail with -1 and errno err (needs cmocka and errno.h). */
#define assert_fails(call, err)                                                                    \
    do {                                                                                           \
        errno = 0;                                                                                 \
        assert_int_equal((long)(call), -1);                                                        \
        assert_int_equal(errno, (err));                                                            \
    } while (0)

/* ---- real threads ---- */
/* Waits (at most 5 s of the real clock) for sem to be posted, through
 * EINTR; false if it was not. */
bool await_sem(sem_t *sem);

/* ---- simulation helpers ---- */
/* Polls every stack at the earliest deadline among them until cond(ctx)
 * holds or virtual time passes `until`. Returns true if cond held. *now is
 * advanced. cond may be NULL (run until `until`). */
bool sim_run(struct ust_stack **stacks, int n, ust_time_t *now, ust_time_t until,
             bool (*cond)(void *ctx), void *ctx);

#endif
