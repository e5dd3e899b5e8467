/* The runner's HTTP/1.1 server (GET and HEAD, keep-alive, pipelining):
 * static files under a root directory (--http-root), or a built-in page. */
#ifndef USTACK_HTTP_H
#define USTACK_HTTP_H

#include <stdbool.h>

#include "ustack/stack.h"

struct service;
struct svc_limits;

/* Resolves svc->http_root (NULL: the built-in page). 0, or -1 after logging. */
int http_init(struct service *svc);
/* The service's thread: the listener and every connection (svcloop.c);
 * limits and timeouts from svc->lim. */
void *http_main(void *arg);
/* The service's loop operations, for svcloop_start (on the stack thread). */
struct svcloop_ops;
const struct svcloop_ops *http_ops(void);
/* Frees what http_init allocated (after the thread is joined). */
void http_fini(struct service *svc);

/* ---- a connection's timeouts (exposed for their unit test) ----
 * A small state machine, told what happens on the connection and when, that
 * answers which deadline applies. The clocks:
 *  - header: the request line and headers, from the connection, or from the
 *    first byte of a later request (or, pipelined, from the end of the
 *    response before it, when its bytes were already there);
 *  - request: the whole request, its body included, from the same start;
 *  - send: a response the peer takes nothing of, from the last progress;
 *  - idle: a kept-alive connection with nothing of a next request, from the
 *    end of the last response. */
enum http_wait {
    HTTP_WAIT_HEADER,   /* a request header is (or may start) arriving */
    HTTP_WAIT_RESPONSE, /* a response is going out (the body may still arrive) */
    HTTP_WAIT_BODY,     /* the response is out; the request's body is not yet in */
    HTTP_WAIT_IDLE,     /* kept alive, nothing of the next request yet */
};

enum http_timeout {
    HTTP_TIMEOUT_NONE,
    HTTP_TIMEOUT_HEADER,
    HTTP_TIMEOUT_REQUEST,
    HTTP_TIMEOUT_IDLE,
    HTTP_TIMEOUT_SEND,
};

struct http_timer {
    enum http_wait wait;
    ust_time_t req_start; /* the request's clock (HEADER, RESPONSE, BODY) */
    ust_time_t since;     /* IDLE: since when; RESPONSE: the last progress sending */
    bool body_left;       /* RESPONSE: the request's body is still arriving */
};

/* The connection was accepted: the header clock starts. */
void http_timer_open(struct http_timer *t, ust_time_t now);
/* Bytes arrived (when idle, they start the next request's clock). */
void http_timer_input(struct http_timer *t, ust_time_t now);
/* The header is in and the response starts; body_left: its body is not. */
void http_timer_respond(struct http_timer *t, ust_time_t now, bool body_left);
/* Bytes of the response went out. */
void http_timer_sent(struct http_timer *t, ust_time_t now);
/* The response is out; buffered: bytes of the next request are already here. */
void http_timer_response_done(struct http_timer *t, ust_time_t now, bool buffered);
/* The request's body is all in (and skipped). */
void http_timer_body_done(struct http_timer *t, ust_time_t now, bool buffered);
/* The deadline that applies now (0: none) and which timeout it is. A
 * timeout of 0 in lim is none. */
ust_time_t http_timer_deadline(const struct http_timer *t, const struct svc_limits *lim,
                               enum http_timeout *which);

#endif
