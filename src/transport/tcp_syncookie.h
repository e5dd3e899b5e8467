/* SYN cookies (RFC 4987 3.6): when a listener's queue of half-open
 * connections is full, the SYN-ACK's initial sequence number carries what
 * the connection needs, and nothing is kept until the peer's ACK brings
 * it back. Pure functions of a key, a 4-tuple and the time. */
#ifndef USTACK_TRANSPORT_TCP_SYNCOOKIE_H
#define USTACK_TRANSPORT_TCP_SYNCOOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "ustack/stack.h"

/* The cookie's clock ticks every TCP_COOKIE_TICK; a cookie is accepted
 * during the tick it was made in and the next (64 to 128 s): an ACK that
 * was lost, or data the peer sends long after its ACK, still finds it. */
#define TCP_COOKIE_TICK (64 * UST_SEC)
#define TCP_COOKIE_TICKS 2

/* The MSS values a cookie can carry (the largest not above the peer's). */
#define TCP_COOKIE_NMSS 4
extern const uint16_t tcp_cookie_mss[TCP_COOKIE_NMSS];

struct tcp_tuple {
    struct ipaddr laddr, raddr;
    uint16_t lport, rport;
};

/* The cookie for a SYN from the tuple with sequence number peer_isn and
 * MSS option peer_mss (536 if it had none); *mss gets the MSS it
 * encodes. Bits 31-27: the clock (mod 32); 26-25: the MSS index; 24-0: a
 * MAC (SipHash) over the tuple, peer_isn, the clock and the index. */
uint32_t tcp_cookie_make(const uint8_t key[16], const struct tcp_tuple *t, uint32_t peer_isn,
                         uint16_t peer_mss, ust_time_t now, uint16_t *mss);
/* Checks the cookie an ACK returns (SEG.ACK - 1, its SEG.SEQ - 1 being
 * peer_isn): true and *mss when it is ours and not stale; false for a
 * forged, altered or expired one. */
bool tcp_cookie_check(const uint8_t key[16], const struct tcp_tuple *t, uint32_t peer_isn,
                      uint32_t cookie, ust_time_t now, uint16_t *mss);

/* With timestamps, the options the SYN offered ride in the low 6 bits of
 * our TSval (the peer echoes it): bits 0-3 its window shift (15: none),
 * bit 4 SACK permitted, bit 5 set; the result is never above tsval.
 * Those bits are not authenticated: a peer can only misstate its own
 * options. */
uint32_t tcp_cookie_ts(uint32_t tsval, int wscale, bool sack);
/* From the echoed TSecr: false when it carries no options (bit 5 clear). */
bool tcp_cookie_ts_opts(uint32_t tsecr, int *wscale, bool *sack);
/* The per-tuple timestamp offset (RFC 7323 5.4) of a connection opened
 * by cookie: a keyed hash, so the ACK's connection gets the clock its
 * SYN-ACK showed. */
uint32_t tcp_cookie_ts_offset(const uint8_t key[16], const struct tcp_tuple *t);

#endif
