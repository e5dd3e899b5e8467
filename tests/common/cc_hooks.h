/* The congestion control hooks (struct tcp_cc_ops), called the way the
 * stack calls them, for tests that drive an algorithm on a bare struct
 * tcp_conn (test_tcp_newreno.c, test_tcp_cubic.c).
 *
 * Every call from a test goes through one of these, with the time it
 * happens at; today only on_ack takes the time. If more hooks come to
 * take it, these lines are the only ones to change. */
#ifndef USTACK_TEST_CC_HOOKS_H
#define USTACK_TEST_CC_HOOKS_H

#include <stdint.h>

#include "transport/tcp.h"

static inline void cc_init(struct tcp_conn *c, ust_time_t now)
{
    (void)now;
    c->cc->init(c);
}

static inline void cc_ack(struct tcp_conn *c, uint32_t acked, ust_time_t now)
{
    c->cc->on_ack(c, acked, now);
}

static inline void cc_enter_recovery(struct tcp_conn *c, ust_time_t now)
{
    (void)now;
    c->cc->on_enter_recovery(c);
}

static inline void cc_dupack(struct tcp_conn *c, ust_time_t now)
{
    (void)now;
    c->cc->on_dupack(c);
}

static inline void cc_partial_ack(struct tcp_conn *c, uint32_t acked, ust_time_t now)
{
    (void)now;
    c->cc->on_partial_ack(c, acked);
}

static inline void cc_exit_recovery(struct tcp_conn *c, ust_time_t now)
{
    (void)now;
    c->cc->on_exit_recovery(c);
}

static inline void cc_rto(struct tcp_conn *c, ust_time_t now)
{
    (void)now;
    c->cc->on_rto(c);
}

#endif
