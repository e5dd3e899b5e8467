/* The HTTP service's connection timeouts (struct http_timer, apps/http.c)
 * on a virtual clock: which deadline applies in each state of a
 * connection, from which moment, and that a slow client cannot move it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>

#include "http.h"
#include "services.h"

#define S SVC_SEC
#define T0 (1000 * S) /* the virtual clock's start: any moment will do */

/* Apache- and nginx-like values, all different so each is recognisable. */
static const struct svc_limits lim = {
    .header_timeout = 20 * S,
    .request_timeout = 60 * S,
    .idle_timeout = 15 * S,
    .send_timeout = 45 * S,
};

static void expect(const struct http_timer *t, const struct svc_limits *l, ust_time_t at,
                   enum http_timeout which)
{
    enum http_timeout w;
    assert_int_equal(http_timer_deadline(t, l, &w), at);
    assert_int_equal(w, which);
}

/* A fresh connection has the header timeout from the moment it opened;
 * bytes trickling in do not move it. */
static void header_from_the_connection(void **state)
{
    (void)state;
    struct http_timer t;
    http_timer_open(&t, T0);
    expect(&t, &lim, T0 + 20 * S, HTTP_TIMEOUT_HEADER);
    for (int i = 1; i < 30; i++) { /* slowloris: a byte a second */
        http_timer_input(&t, T0 + (ust_time_t)i * S);
        expect(&t, &lim, T0 + 20 * S, HTTP_TIMEOUT_HEADER);
    }
}

/* Without a header timeout the request timeout still bounds the header;
 * without either, nothing does. */
static void request_timeout_covers_the_header(void **state)
{
    (void)state;
    struct svc_limits l = lim;
    struct http_timer t;
    l.header_timeout = 0;
    http_timer_open(&t, T0);
    expect(&t, &l, T0 + 60 * S, HTTP_TIMEOUT_REQUEST);
    l.request_timeout = 0;
    expect(&t, &l, 0, HTTP_TIMEOUT_NONE);
    l.request_timeout = 5 * S; /* shorter than the header's: it wins */
    l.header_timeout = 20 * S;
    expect(&t, &l, T0 + 5 * S, HTTP_TIMEOUT_REQUEST);
}

/* While a response goes out, the send timeout runs from the last bytes the
 * peer took; then the idle timeout from the end of the response; the first
 * byte of the next request starts its header clock. */
static void keep_alive_cycle(void **state)
{
    (void)state;
    struct http_timer t;
    http_timer_open(&t, T0);
    http_timer_input(&t, T0 + 1 * S);
    http_timer_respond(&t, T0 + 2 * S, false);
    expect(&t, &lim, T0 + 47 * S, HTTP_TIMEOUT_SEND);
    http_timer_sent(&t, T0 + 10 * S);
    expect(&t, &lim, T0 + 55 * S, HTTP_TIMEOUT_SEND);
    http_timer_response_done(&t, T0 + 12 * S, false);
    expect(&t, &lim, T0 + 27 * S, HTTP_TIMEOUT_IDLE);
    http_timer_input(&t, T0 + 20 * S); /* the next request begins */
    expect(&t, &lim, T0 + 40 * S, HTTP_TIMEOUT_HEADER);
    http_timer_input(&t, T0 + 25 * S);
    expect(&t, &lim, T0 + 40 * S, HTTP_TIMEOUT_HEADER);
    http_timer_sent(&t, T0 + 26 * S); /* not sending: no effect */
    expect(&t, &lim, T0 + 40 * S, HTTP_TIMEOUT_HEADER);
}

/* A pipelined request, already here when the response before it ends,
 * has its header clock from that moment; no idle wait in between. */
static void pipelined(void **state)
{
    (void)state;
    struct http_timer t;
    http_timer_open(&t, T0);
    http_timer_respond(&t, T0 + 1 * S, false);
    http_timer_response_done(&t, T0 + 3 * S, true);
    assert_int_equal(t.wait, HTTP_WAIT_HEADER);
    expect(&t, &lim, T0 + 23 * S, HTTP_TIMEOUT_HEADER);
}

/* A body that trickles after the response is bounded by the request
 * timeout, from the request's start; once in, the connection idles. */
static void body_after_the_response(void **state)
{
    (void)state;
    struct http_timer t;
    http_timer_open(&t, T0);
    http_timer_respond(&t, T0 + 1 * S, true);
    /* Sending: the send timeout (46) and the request timeout (60). */
    expect(&t, &lim, T0 + 46 * S, HTTP_TIMEOUT_SEND);
    http_timer_sent(&t, T0 + 30 * S);
    expect(&t, &lim, T0 + 60 * S, HTTP_TIMEOUT_REQUEST);
    http_timer_response_done(&t, T0 + 31 * S, false);
    assert_int_equal(t.wait, HTTP_WAIT_BODY);
    expect(&t, &lim, T0 + 60 * S, HTTP_TIMEOUT_REQUEST);
    http_timer_input(&t, T0 + 40 * S); /* body bytes: no new request */
    expect(&t, &lim, T0 + 60 * S, HTTP_TIMEOUT_REQUEST);
    http_timer_body_done(&t, T0 + 50 * S, false);
    expect(&t, &lim, T0 + 65 * S, HTTP_TIMEOUT_IDLE);
}

/* A body that is all in before the response ends changes nothing but the
 * request timeout's hold on the response. */
static void body_done_while_sending(void **state)
{
    (void)state;
    struct http_timer t;
    http_timer_open(&t, T0);
    http_timer_respond(&t, T0 + 30 * S, true);
    expect(&t, &lim, T0 + 60 * S, HTTP_TIMEOUT_REQUEST);
    http_timer_body_done(&t, T0 + 31 * S, true);
    assert_int_equal(t.wait, HTTP_WAIT_RESPONSE);
    expect(&t, &lim, T0 + 75 * S, HTTP_TIMEOUT_SEND);
    http_timer_response_done(&t, T0 + 32 * S, true);
    expect(&t, &lim, T0 + 52 * S, HTTP_TIMEOUT_HEADER);
}

/* Timeouts of 0 are none: a kept-alive connection then waits for ever. */
static void zero_is_none(void **state)
{
    (void)state;
    struct svc_limits none = {0};
    struct http_timer t;
    http_timer_open(&t, T0);
    expect(&t, &none, 0, HTTP_TIMEOUT_NONE);
    http_timer_respond(&t, T0, false);
    expect(&t, &none, 0, HTTP_TIMEOUT_NONE);
    http_timer_response_done(&t, T0, false);
    expect(&t, &none, 0, HTTP_TIMEOUT_NONE);
    expect(&t, &lim, T0 + 15 * S, HTTP_TIMEOUT_IDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_from_the_connection),
        cmocka_unit_test(request_timeout_covers_the_header),
        cmocka_unit_test(keep_alive_cycle),
        cmocka_unit_test(pipelined),
        cmocka_unit_test(body_after_the_response),
        cmocka_unit_test(body_done_while_sending),
        cmocka_unit_test(zero_is_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
