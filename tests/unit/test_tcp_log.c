/* The debug log tells the story of a TCP connection (docs/LEARN.md): one
 * line per segment in with the decision taken on it, one per segment out
 * with what it is for and the thread that sends it, every state change
 * (SYN-RECEIVED and CLOSED included), and a marker for each poll step
 * with its frame count. A scripted echo connection's log is held against
 * the sequence of decisions and states it must tell, in order; the
 * timestamps and sequence numbers are not compared. The test plays the
 * peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

#define MAX_LINES 256

struct logbook {
    unsigned n;
    enum ust_log_level level[MAX_LINES];
    char line[MAX_LINES][320];
};

static void sink(void *ctx, enum ust_log_level level, const char *func, const char *file, int line,
                 const char *msg)
{
    (void)file;
    (void)line;
    struct logbook *b = ctx;
    assert_true(b->n < MAX_LINES);
    b->level[b->n] = level;
    snprintf(b->line[b->n], sizeof(b->line[0]), "%s: %s", func, msg);
    if (getenv("SHOW_LOG")) /* to watch the story as it is told */
        print_message("%3u %s\n", b->n, b->line[b->n]);
    b->n++;
}

/* Every line of the debug story: the next one, after `from`, that holds
 * all the pieces of `want` (separated by '|'). Returns its index + 1. */
static unsigned find_from(const struct logbook *b, unsigned from, const char *want)
{
    for (unsigned i = from; i < b->n; i++) {
        char pieces[256];
        snprintf(pieces, sizeof(pieces), "%s", want);
        bool all = true;
        char *save = NULL;
        for (char *p = strtok_r(pieces, "|", &save); p; p = strtok_r(NULL, "|", &save))
            if (!strstr(b->line[i], p))
                all = false;
        if (all)
            return i + 1;
    }
    return 0;
}

/* Each entry of want[] must appear in order, each after the previous. */
static void expect_story(const struct logbook *b, const char *const *want, size_t n)
{
    unsigned at = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned next = find_from(b, at, want[k]);
        if (!next) {
            for (unsigned i = 0; i < b->n; i++)
                print_message("%3u %s\n", i, b->line[i]);
            fail_msg("the log does not go on with \"%s\" after line %u", want[k], at);
        }
        at = next;
    }
}

static unsigned count_prefix(const struct logbook *b, const char *infix)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->n; i++)
        if (strstr(b->line[i], infix))
            n++;
    return n;
}

static void log_config(struct ust_config *cfg, struct logbook *b)
{
    t_config(cfg);
    cfg->log_level = UST_LOG_DEBUG;
    cfg->log_fn = sink;
    cfg->log_ctx = b;
}

/* The echo service's connection, as the runner would serve it: the peer
 * connects, sends "hello", gets it back, closes; we close after it. */
static void echo_connection_story(void **state)
{
    (void)state;
    struct logbook *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct ust_config cfg;
    log_config(&cfg, b);
    struct tcp_peer t;
    t_init(&t, &cfg);
    unsigned in = 0, out = 0;

    t_syn(&t, PISN, 65535, opt_mss1460, sizeof(opt_mss1460)); /* SYN in, SYN-ACK out */
    in++, out++;
    peer(&t, TCP_ACK, NULL, 0);
    in++;
    EXPECT_NONE(&t);
    t_accept(&t);

    peer(&t, TCP_ACK | TCP_PSH, "hello", 5); /* data: the ACK waits */
    in++;
    EXPECT_NONE(&t);
    char buf[16];
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 5);
    assert_int_equal(ust_send(t.f.s, t.fd, buf, 5, 0), 5); /* the echo carries the ACK */
    EXPECT(&t, TCP_ACK, 5);
    out++;
    peer(&t, TCP_ACK, NULL, 0);
    in++;
    EXPECT_NONE(&t);

    peer(&t, TCP_ACK | TCP_FIN, NULL, 0); /* the peer closes */
    in++;
    EXPECT(&t, TCP_ACK, 0);
    out++;
    assert_int_equal(ust_close(t.f.s, t.fd), 0); /* and so do we */
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    out++;
    peer(&t, TCP_ACK, NULL, 0);
    in++;
    assert_int_equal(state_of(&t), GONE);

    static const char *const story[] = {
        "80: CLOSED -> LISTEN",
        "tcp_listen_input: in 192.0.2.1:40000 > 192.0.2.2:80 [S] |LISTEN: SYN: a half-open child",
        "80->192.0.2.1:40000: CLOSED -> SYN-RECEIVED",
        "out [stack] 192.0.2.2:80 > 192.0.2.1:40000 [S.] |SYN-ACK: answering the SYN",
        "poll step: 1 frames in",
        "tcp_sync_input: in 192.0.2.1:40000 > 192.0.2.2:80 [.] |SYN-RECEIVED: ACK of our SYN-ACK",
        "SYN-RECEIVED -> ESTABLISHED",
        "mss 1460",
        "in 192.0.2.1:40000 > 192.0.2.2:80 [P.] |len=5: ESTABLISHED: ACK, nothing new; 5 bytes in "
        "order: to the receive ring",
        "poll step: 1 frames in; timers due: none",
        "out [app] 192.0.2.2:80 > 192.0.2.1:40000 [P.] |len=5: new data; the ACK we owed rides on it",
        "in 192.0.2.1:40000 > 192.0.2.2:80 [.] |ESTABLISHED: ACK of 5 new",
        "in 192.0.2.1:40000 > 192.0.2.2:80 [F.] |ESTABLISHED: ACK, nothing new; FIN: the peer is "
        "done sending",
        "ESTABLISHED -> CLOSE-WAIT",
        "poll step: 1 frames in; timers due: tcp",
        "out [stack] 192.0.2.2:80 > 192.0.2.1:40000 [.] |ACK owed at once, sent at the end of the "
        "poll step",
        "CLOSE-WAIT -> LAST-ACK",
        "out [app] 192.0.2.2:80 > 192.0.2.1:40000 [F.] |FIN: we have no more to send",
        "in 192.0.2.1:40000 > 192.0.2.2:80 [.] |LAST-ACK: ACK of 1 new",
        "80->192.0.2.1:40000: LAST-ACK -> CLOSED",
    };
    expect_story(b, story, sizeof(story) / sizeof(story[0]));
    /* One line per segment each way, no more. */
    assert_int_equal(count_prefix(b, ": in 192.0.2.1"), in);
    assert_int_equal(count_prefix(b, ": out ["), out);
    for (unsigned i = 0; i < b->n; i++)
        assert_true(b->level[i] <= UST_LOG_DEBUG); /* frame dumps stay at trace */
    t_fini(&t);
    free(b);
}

/* Frames handed in together make one poll step, whose marker counts them,
 * and whose end sends the one ACK they are owed. */
static void poll_step_counts_its_frames(void **state)
{
    (void)state;
    struct logbook *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct ust_config cfg;
    log_config(&cfg, b);
    struct tcp_peer t;
    t_init(&t, &cfg);
    t_passive(&t, PISN, 0);
    t.batch = true;
    static const char data[1460 * 3];
    peer(&t, TCP_ACK, data, 1460);
    peer(&t, TCP_ACK, data, 1460);
    peer(&t, TCP_ACK, data, 1460);
    ust_stack_poll(t.f.s, t.f.now);
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    static const char *const story[] = {
        "1460 bytes in order",
        "1460 bytes in order",
        "1460 bytes in order",
        "poll step: 3 frames in; timers due: tcp",
        "out [stack] |ACK owed at once, sent at the end of the poll step",
    };
    expect_story(b, story, sizeof(story) / sizeof(story[0]));
    t_fini(&t);
    free(b);
}

/* A reset ends the connection in the log too, with the error it reports. */
static void reset_is_told(void **state)
{
    (void)state;
    struct logbook *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct ust_config cfg;
    log_config(&cfg, b);
    struct tcp_peer t;
    t_init(&t, &cfg);
    t_passive(&t, PISN, 0);
    peer_at(&t, t.pseq + 100, TCP_RST, NULL, 0); /* in the window, not at RCV.NXT */
    EXPECT(&t, TCP_ACK, 0);
    peer(&t, TCP_RST, NULL, 0);
    assert_int_equal(state_of(&t), GONE);
    static const char *const story[] = {
        "in 192.0.2.1:40000 > 192.0.2.2:80 [R] |not at RCV.NXT|challenge ACK",
        "out [stack] |[.] |challenge ACK (RFC 5961)",
        "in 192.0.2.1:40000 > 192.0.2.2:80 [R] |RST at RCV.NXT: connection reset",
        "ESTABLISHED -> CLOSED, error: Connection reset by peer",
    };
    expect_story(b, story, sizeof(story) / sizeof(story[0]));
    t_fini(&t);
    free(b);
}

/* With debug off the story costs nothing to the sink: not a line. */
static void info_level_is_quiet(void **state)
{
    (void)state;
    struct logbook *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct ust_config cfg;
    log_config(&cfg, b);
    cfg.log_level = UST_LOG_INFO;
    struct tcp_peer t;
    t_init(&t, &cfg);
    unsigned before = b->n;
    t_passive(&t, PISN, 0);
    peer(&t, TCP_ACK | TCP_PSH, "hello", 5);
    assert_int_equal(b->n, before);
    t_fini(&t);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_connection_story),
        cmocka_unit_test(poll_step_counts_its_frames),
        cmocka_unit_test(reset_is_told),
        cmocka_unit_test(info_level_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
