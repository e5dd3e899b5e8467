/* A TCP peer for segment-level tests, shared by every tests/unit/test_tcp_*.c
 * that plays the other end of a connection.
 *
 * The test is the peer, 192.0.2.1 (T_IP_PEER): it builds each segment by
 * hand, injects it into the fixture stack (192.0.2.2, embedded mode: no
 * call ever blocks) and pops what the stack sent from the capture device.
 * struct tcp_peer keeps one connection's sequence numbers from the peer's
 * side, so `peer(t, TCP_ACK, "hi", 2)` sends the next segment and
 * `EXPECT(t, TCP_ACK, 0)` checks the next one back.
 *
 * Every function asserts (cmocka) rather than returning errors. */
#ifndef USTACK_TEST_TCP_PEER_H
#define USTACK_TEST_TCP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "transport/tcp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define ETH_HDR 14
#define TCP_OFF (ETH_HDR + IPV4_HDR_LEN) /* TCP header in a frame */
#define PISN 0x10000000u                 /* the peer's usual ISN */
#define GONE (-1)                        /* state_of(): no connection */

/* MSS options as a SYN carries them. */
extern const uint8_t opt_mss1460[4], opt_mss536[4];

/* What the stack sent, parsed. */
struct out {
    struct tcp_repr th;
    size_t len;   /* payload bytes */
    unsigned gso; /* a super-segment: the device cuts it into this many bytes each */
    uint8_t data[65536];
};

/* One connection between the fixture and the peer, from the peer's view. */
struct tcp_peer {
    struct fixture f;
    int lfd, fd;          /* our listening and connected sockets (-1: none) */
    uint16_t port, pport; /* ours, the peer's */
    uint32_t iss;         /* our ISS */
    uint32_t pseq;        /* the peer's next sequence number */
    uint32_t pack;        /* the next sequence number the peer expects from us */
    uint16_t pwin;        /* the window the peer offers (65535 after t_init) */
    struct out o;         /* the last segment popped */
    bool batch;           /* peer_seg only hands frames in: the poll step is the test's */
};

/* ---- segments from the peer ---- */

/* Sets the TCP checksum of the segment at tcp (len bytes, peer -> us). */
void tcp_csum(uint8_t *tcp, size_t len);
/* Ethernet + IPv4 + TCP from the peer to us, correct checksums (optlen a
 * multiple of 4). Returns the frame length. */
size_t seg_frame(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen, const void *data,
                 size_t len);
/* Any segment from the peer's address, injected at f->now (and polled). */
void seg_in(struct fixture *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
            uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen, const void *data,
            size_t len);
/* A segment on t's connection, every field given; t is unchanged. With
 * t->batch it is only handed in, not polled. */
void peer_seg(struct tcp_peer *t, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
              const uint8_t *opt, size_t optlen, const void *data, size_t len);
/* The peer's next segment, with a window and options: t->pseq moves on. */
void peer_opt(struct tcp_peer *t, uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen,
              const void *data, size_t len);
/* The peer's next segment, offering t->pwin, without options. */
void peer(struct tcp_peer *t, uint8_t flags, const void *data, size_t len);
/* A segment at an explicit sequence number; the peer's state is unchanged. */
void peer_at(struct tcp_peer *t, uint32_t seq, uint8_t flags, const void *data, size_t len);

/* ---- TCP options the peer sends ---- */

/* NOP NOP TS: 12 bytes. */
size_t put_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr);
/* put_ts, then NOP NOP SACK with n blocks of [a, b) given as offsets from base. */
size_t put_ts_sack(uint8_t *o, uint32_t tsval, uint32_t tsecr, uint32_t base,
                   const uint32_t (*blk)[2], unsigned n);
/* MSS 1460, SACK-permitted, timestamps (tsval), NOP, WS 2: what Linux sends. */
size_t syn_opts(uint8_t *o, uint32_t tsval, uint32_t tsecr);

/* ---- segments from us ---- */

/* Pops the next frame into t->o; it must be IPv4/TCP from us to the peer
 * with good checksums. false when nothing was sent. */
bool pop(struct tcp_peer *t);
/* Pops everything sent; returns the payload bytes. */
size_t drain(struct tcp_peer *t);

/* The checks behind the EXPECT macros; line is the caller's. PSH is not
 * compared. */
void check_seg_(struct tcp_peer *t, int line, uint8_t flags, uint32_t seq, uint32_t ack,
                size_t len);
void expect_seg_(struct tcp_peer *t, int line, uint8_t flags, uint32_t seq, uint32_t ack,
                 size_t len);
/* The next segment from us, in order: at t->pack, acknowledging t->pseq. */
void expect_next_(struct tcp_peer *t, int line, uint8_t flags, size_t len);
void expect_none_(struct tcp_peer *t, int line);
/* A SYN-ACK acknowledging `ack`: our ISS is learnt from it. */
void expect_synack_(struct tcp_peer *t, int line, uint32_t ack);

#define EXPECT(t, flags, len) expect_next_((t), __LINE__, (flags), (len))
#define EXPECT_SEG(t, flags, seq, ack, len) expect_seg_((t), __LINE__, (flags), (seq), (ack), (len))
#define EXPECT_NONE(t) expect_none_((t), __LINE__)
#define EXPECT_SYNACK(t, ack) expect_synack_((t), __LINE__, (ack))

/* Steps the clock from deadline to deadline until the stack sends
 * something; returns that time, or UST_TIME_NEVER when nothing is sent up
 * to `limit` (the clock is then at limit). */
ust_time_t run_until_tx(struct fixture *f, ust_time_t limit);

/* ---- the connection and its sockets ---- */

/* Its state, or GONE. */
int state_of(struct tcp_peer *t);
/* The connection; it must exist. */
struct tcp_conn *t_conn(struct tcp_peer *t);
/* ust_poll's revents for POLLIN | POLLOUT. */
short events(struct fixture *f, int fd);
int so_error(struct fixture *f, int fd);
void set_int(struct fixture *f, int fd, int level, int name, int v);
const struct ust_stats *st(struct tcp_peer *t);
/* Reads exactly len bytes, which must be want. */
void expect_recv(struct tcp_peer *t, const void *want, size_t len);
/* Queues all of data. */
void send_all(struct tcp_peer *t, const void *data, size_t len);

/* ---- set-up ---- */

/* Test config: seed 7, and ARP entries outlive every test, so no ARP
 * traffic mixes in with the segments. */
void t_config(struct ust_config *cfg);
/* The fixture (cfg NULL: t_config), the peer's MAC learnt, no sockets. */
void t_init(struct tcp_peer *t, const struct ust_config *cfg);
/* Closes the sockets, and asserts no packet buffer is left. */
void t_fini(struct tcp_peer *t);
/* A listening socket on port. */
int listener(struct tcp_peer *t, uint16_t port, int backlog);
/* Passive open, first half: the peer (port 40000, ISN pisn) sends a SYN
 * with window win and options opt to our port 80 (a listener is made if
 * t->lfd has none); our SYN-ACK is popped (left in t->o). */
void t_syn(struct tcp_peer *t, uint32_t pisn, uint16_t win, const uint8_t *opt, size_t optlen);
/* Accepts the connection on t->lfd into t->fd; it must be ESTABLISHED. */
void t_accept(struct tcp_peer *t);
/* Passive open on port 80 from peer port 40000 with ISN pisn; the peer's
 * ACK comes `rtt` after our SYN-ACK. Leaves t->fd accepted. */
void t_passive(struct tcp_peer *t, uint32_t pisn, ust_time_t rtt);
/* Active open to the peer's port 80, first half: a non-blocking socket
 * (TCP_NODELAY if asked) connects; our SYN is popped (left in t->o); the
 * peer's ISN will be PISN. */
void t_connect(struct tcp_peer *t, bool nodelay);
/* Active open to the peer's port 80; the SYN-ACK carries opt. */
void t_active(struct tcp_peer *t, const uint8_t *opt, size_t optlen);
/* Established connection, passive open, handshake RTT 0. */
void t_open(struct tcp_peer *t, const struct ust_config *cfg);

#endif
