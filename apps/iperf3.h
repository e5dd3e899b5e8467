/* The iperf3 protocol (as spoken by esnet's iperf3 3.x), for the runner's
 * iperf3 service (apps/iperf3.c) and the iperf3 client (apps/iperf3c.c).
 *
 * A test, as the client sees it:
 *  1. It opens the control connection to port 5201 and sends a cookie:
 *     IPERF3_COOKIE_SIZE bytes, 36 printable characters and a NUL.
 *  2. The server answers with one-byte state messages (signed chars). It
 *     sends PARAM_EXCHANGE; the client sends its parameters as a JSON
 *     object (every JSON message is a 4-byte big-endian length, then that
 *     many bytes of JSON).
 *  3. The server sends CREATE_STREAMS; the client opens the data
 *     connections to the same port, one after the other, each starting with
 *     the same cookie. The server numbers them in that order 1, 3, 4, 5, ...
 *     (iperf3's numbering skips 2), and both sides use those ids in the
 *     results.
 *  4. The server sends TEST_START and TEST_RUNNING; data flows, from the
 *     client (default), from the server (reverse) or both (bidirectional:
 *     the client's first `parallel` streams send, the next receive).
 *  5. The client decides when the test ends (time, bytes or blocks) and
 *     sends TEST_END. The server sends EXCHANGE_RESULTS; the client sends
 *     its results JSON, then the server sends its own, then
 *     DISPLAY_RESULTS. The client closes its streams and sends IPERF_DONE.
 * A server that cannot run the test sends SERVER_ERROR followed by two
 * 4-byte big-endian integers: an iperf3 error number (i_errno, which the
 * client turns into a message) and an errno. A server busy with another
 * test answers a new control connection with ACCESS_DENIED. */
#ifndef USTACK_IPERF3_H
#define USTACK_IPERF3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPERF3_PORT 5201
#define IPERF3_COOKIE_SIZE 37  /* 36 characters and a NUL */
#define IPERF3_MAX_STREAMS 128 /* iperf3's limit on -P */
#define IPERF3_MAX_BLKSIZE (1024 * 1024)
#define IPERF3_DEFAULT_BLKSIZE (128 * 1024)
#define IPERF3_MAX_TIME 86400        /* seconds */
#define IPERF3_MAX_OMIT 600          /* seconds */
#define IPERF3_MAX_JSON (256 * 1024) /* the largest JSON message we accept */

/* State messages, one signed byte on the control connection. */
enum iperf3_state {
    IPERF3_TEST_START = 1,
    IPERF3_TEST_RUNNING = 2,
    IPERF3_TEST_END = 4,
    IPERF3_PARAM_EXCHANGE = 9,
    IPERF3_CREATE_STREAMS = 10,
    IPERF3_SERVER_TERMINATE = 11,
    IPERF3_CLIENT_TERMINATE = 12,
    IPERF3_EXCHANGE_RESULTS = 13,
    IPERF3_DISPLAY_RESULTS = 14,
    IPERF3_IPERF_DONE = 16,
    IPERF3_ACCESS_DENIED = -1,
    IPERF3_SERVER_ERROR = -2,
};

/* iperf3's error numbers (i_errno) that travel after SERVER_ERROR. */
enum iperf3_error {
    IPERF3_IE_DURATION = 5,       /* test duration too long */
    IPERF3_IE_NUMSTREAMS = 6,     /* too many parallel streams */
    IPERF3_IE_BLOCKSIZE = 7,      /* block size too large */
    IPERF3_IE_OMIT = 12,          /* bogus --omit */
    IPERF3_IE_UNIMP = 13,         /* "not implemented yet": UDP, SCTP here */
    IPERF3_IE_REVERSEBIDIR = 25,  /* both reverse and bidirectional */
    IPERF3_IE_RECVPARAMS = 114,   /* unable to receive parameters */
    IPERF3_IE_RECVRESULTS = 117,  /* unable to receive results */
    IPERF3_IE_ACCESSDENIED = 121, /* the server is busy */
    IPERF3_IE_STREAMREAD = 206,   /* unable to read from a stream */
    IPERF3_IE_STREAMID = 208,     /* a result names a stream that is not there */
};

/* What the server needs from the client's parameters. Fields the client
 * may send that are not here (title, extra_data, MSS, TOS, pacing_timer,
 * ...) are accepted and ignored, as iperf3 ignores keys it does not know. */
struct iperf3_params {
    bool reverse;           /* "reverse": the server sends */
    bool bidirectional;     /* "bidirectional": both send */
    bool nodelay;           /* "nodelay": TCP_NODELAY on the streams */
    bool get_server_output; /* "get_server_output": the server's report in its results */
    unsigned parallel;      /* "parallel": number of streams (each way), 1-128 */
    unsigned duration;      /* "time": seconds; 0 with -n or -k */
    unsigned omit;          /* "omit": seconds at the start not counted */
    uint64_t bytes;         /* "num": total bytes to send (0: by time) */
    uint64_t blocks;        /* "blockcount": total blocks to send (0: by time) */
    uint32_t blksize;       /* "len": bytes per write */
    uint64_t rate;          /* "bandwidth": bits/s per stream, 0 unlimited */
    uint32_t window;        /* "window": socket buffer size asked for (0: default) */
    char congestion[16];    /* "congestion": TCP congestion control, or "" */
};

/* Parses and checks the client's parameters. 0, or -1 with the error
 * number to send (IPERF3_IE_*) in *ierr and a reason in why. */
int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *p, int *ierr, char *why,
                        size_t whylen);
/* The parameters as the client sends them (malloc'ed JSON), or NULL. */
char *iperf3_params_build(const struct iperf3_params *p, size_t *len);

/* One side's results for one stream. */
struct iperf3_stream_result {
    int id;
    uint64_t bytes;              /* sent, for a sending stream; received otherwise */
    int64_t retransmits;         /* -1: unknown, or this side received */
    double start_time, end_time; /* seconds since the test started */
};

struct iperf3_results {
    double cpu_total, cpu_user, cpu_system; /* percent */
    int sender_has_retransmits;             /* 1, 0, or -1 when this side only received */
    char congestion_used[16];               /* "" if not known */
    const char *server_output_text;         /* building only: optional report */
    size_t nstreams;
    struct iperf3_stream_result streams[2 * IPERF3_MAX_STREAMS];
};

/* Parses the other side's results. 0, or -1 with a reason in why. */
int iperf3_results_parse(const char *json, size_t len, struct iperf3_results *r, char *why,
                         size_t whylen);
char *iperf3_results_build(const struct iperf3_results *r, size_t *len);

/* The id of the stream opened index-th (0-based): 1, 3, 4, 5, ... */
int iperf3_stream_id(unsigned index);
/* A fresh cookie: 36 characters from iperf3's alphabet (a-z, 2-7) and a NUL. */
void iperf3_make_cookie(char cookie[IPERF3_COOKIE_SIZE]);
/* The text iperf3 prints for an error number, or NULL if unknown here. */
const char *iperf3_error_text(int ierr);

/* ---- the control connection's framing ----
 * A JSON message is its length (4 bytes, big-endian; 1 to IPERF3_MAX_JSON)
 * followed by the text; SERVER_ERROR's two numbers are 4-byte big-endian
 * too. The framing does no I/O of its own: the caller lends it a way to
 * send (all of buf, as the caller's connection does it: 0, or -1 with
 * errno) and to receive (as recv(2): bytes, 0 at the end of the stream,
 * -1 with errno, EAGAIN when nothing has arrived yet). The server reads
 * without blocking, message pieces as they come; iperf3c blocks. */
typedef int (*iperf3_send_fn)(void *ctx, const void *buf, size_t len);
typedef ssize_t (*iperf3_recv_fn)(void *ctx, void *buf, size_t len);

#define IPERF3_INT_SIZE 4 /* a 32-bit big-endian number on the wire */
void iperf3_put32(uint8_t b[IPERF3_INT_SIZE], uint32_t v);
uint32_t iperf3_get32(const uint8_t b[IPERF3_INT_SIZE]);

/* Sends the length, then the text: 0, or -1 (errno from send). */
int iperf3_json_send(iperf3_send_fn send, void *ctx, const char *json, size_t len);

/* A JSON message on its way in. All zero before its first byte. */
struct iperf3_json_rx {
    uint8_t hdr[IPERF3_INT_SIZE];
    size_t hdr_len;
    char *msg; /* malloc'ed once the length is in */
    size_t len, got;
};
/* Receives as much of the message as recv gives. 1: complete (rx->msg,
 * rx->len; rx still owns msg), 0: recv said EAGAIN (call again when more
 * has arrived), -1 with errno: ECONNRESET (the stream ended), EMSGSIZE (a
 * length of 0 or above IPERF3_MAX_JSON), ENOMEM, or recv's error. */
int iperf3_json_recv(struct iperf3_json_rx *rx, iperf3_recv_fn recv, void *ctx);
/* Frees the message, if any, and readies rx for the next one. */
void iperf3_json_rx_reset(struct iperf3_json_rx *rx);

/* A CPU-time meter: percentages of one CPU since it was started. */
struct iperf3_cpu {
    uint64_t wall_us, user_us, sys_us;
};
void iperf3_cpu_start(struct iperf3_cpu *c);
void iperf3_cpu_read(const struct iperf3_cpu *c, double *total, double *user, double *sys);

/* ---- the runner's service ---- */
struct service;
struct iperf3_server;
/* The service's thread: the listener, one test at a time (its control and
 * data connections) and the connections it turns away, over ust_poll. */
void *iperf3_main(void *arg);
/* The same loop on the stack thread (handlers and a timer): the server, or
 * NULL. iperf3_stop ends it (closing the listener) and waits. */
struct iperf3_server *iperf3_start(struct service *svc);
void iperf3_stop(struct iperf3_server *sv);

#endif
