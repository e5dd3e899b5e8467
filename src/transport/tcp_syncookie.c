/* SYN cookies (RFC 4987 3.6): encoding and checking. How a listener uses
 * them is in tcp_listen.c (tcp_listen_input, cookie_ack). */
#include "transport/tcp_syncookie.h"

#include <string.h>

#include "core/siphash.h"

/* As Linux's table for IPv4: the MSS values most paths have. */
const uint16_t tcp_cookie_mss[TCP_COOKIE_NMSS] = {536, 1300, 1440, 1460};

#define CLOCK_SHIFT 27
#define MSS_SHIFT 25
#define MAC_MASK ((1u << MSS_SHIFT) - 1)

static uint32_t mac(const uint8_t key[16], const struct tcp_tuple *t, uint32_t peer_isn,
                    uint64_t tick, unsigned mss_idx)
{
    uint8_t b[16 + 16 + 2 + 2 + 4 + 8 + 1];
    memcpy(b, t->laddr.b, 16);
    memcpy(b + 16, t->raddr.b, 16);
    memcpy(b + 32, &t->lport, 2);
    memcpy(b + 34, &t->rport, 2);
    memcpy(b + 36, &peer_isn, 4);
    memcpy(b + 40, &tick, 8);
    b[48] = (uint8_t)mss_idx;
    return (uint32_t)siphash24(key, b, sizeof(b)) & MAC_MASK;
}

uint32_t tcp_cookie_make(const uint8_t key[16], const struct tcp_tuple *t, uint32_t peer_isn,
                         uint16_t peer_mss, ust_time_t now, uint16_t *mss)
{
    unsigned idx = 0;
    for (unsigned i = 1; i < TCP_COOKIE_NMSS; i++)
        if (tcp_cookie_mss[i] <= peer_mss)
            idx = i;
    uint64_t tick = now / TCP_COOKIE_TICK;
    *mss = tcp_cookie_mss[idx];
    return (uint32_t)(tick & 31) << CLOCK_SHIFT | (uint32_t)idx << MSS_SHIFT |
           mac(key, t, peer_isn, tick, idx);
}

bool tcp_cookie_check(const uint8_t key[16], const struct tcp_tuple *t, uint32_t peer_isn,
                      uint32_t cookie, ust_time_t now, uint16_t *mss)
{
    uint64_t tick = now / TCP_COOKIE_TICK;
    unsigned idx = (cookie >> MSS_SHIFT) & 3;
    for (uint64_t age = 0; age < TCP_COOKIE_TICKS && age <= tick; age++) {
        uint64_t made = tick - age;
        if ((made & 31) != cookie >> CLOCK_SHIFT)
            continue;
        if (mac(key, t, peer_isn, made, idx) != (cookie & MAC_MASK))
            return false;
        *mss = tcp_cookie_mss[idx];
        return true;
    }
    return false;
}

#define TS_OPTS 0x20u
#define TS_SACK 0x10u
#define TS_NO_WS 0x0fu

uint32_t tcp_cookie_ts(uint32_t tsval, int wscale, bool sack)
{
    uint32_t opts = TS_OPTS | (sack ? TS_SACK : 0) |
                    (wscale < 0 ? TS_NO_WS : (uint32_t)(wscale > 14 ? 14 : wscale));
    uint32_t ts = (tsval & ~0x3fu) | opts;
    /* Never ahead of the clock: the connection's next TSval must not be
     * older than this one (the peer's PAWS would drop its segments). */
    return ts > tsval ? ts - 0x40u : ts;
}

bool tcp_cookie_ts_opts(uint32_t tsecr, int *wscale, bool *sack)
{
    if (!(tsecr & TS_OPTS))
        return false;
    *sack = (tsecr & TS_SACK) != 0;
    *wscale = (tsecr & TS_NO_WS) == TS_NO_WS ? -1 : (int)(tsecr & TS_NO_WS);
    return true;
}

uint32_t tcp_cookie_ts_offset(const uint8_t key[16], const struct tcp_tuple *t)
{
    uint8_t b[36];
    memcpy(b, t->laddr.b, 16);
    memcpy(b + 16, t->raddr.b, 16);
    memcpy(b + 32, &t->lport, 2);
    memcpy(b + 34, &t->rport, 2);
    return (uint32_t)(siphash24(key, b, sizeof(b)) >> 32);
}
