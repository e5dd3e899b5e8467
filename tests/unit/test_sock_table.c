/* The socket table at scale: it grows with demand up to max_sockets, and
 * connect() shares an ephemeral port among connections to different
 * remote endpoints. Embedded (no runtime): calls never block. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ustack/socket.h"

#define SA(x) ((struct sockaddr *)&(x))

static struct sockaddr_in addr_of(ust_ip4_t a, uint16_t port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a);
    sin.sin_port = htons(port);
    return sin;
}

/* Far more sockets than the table starts with: each handle works and is
 * distinct, the limit gives EMFILE, and closing frees the slots. */
static void table_grows_to_its_limit(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct ust_config cfg;
    test_config(&cfg, 1);
    cfg.max_sockets = N;
    struct fixture f;
    fixture_init(&f, &cfg);
    int *fd = calloc(N, sizeof(*fd));
    assert_non_null(fd);
    for (int i = 0; i < N; i++) {
        fd[i] = ust_socket(f.s, AF_INET, i % 2 ? SOCK_STREAM : SOCK_DGRAM, 0);
        assert_true(fd[i] > 0);
    }
    errno = 0;
    assert_int_equal(ust_socket(f.s, AF_INET, SOCK_DGRAM, 0), -1);
    assert_int_equal(errno, EMFILE);
    /* Every handle is its own: binding each UDP socket to its own port
     * and reading the port back finds the right one. */
    for (int i = 0; i < N; i += 2) {
        struct sockaddr_in sin = addr_of(0, (uint16_t)(10000 + i));
        assert_int_equal(ust_bind(f.s, fd[i], SA(sin), sizeof(sin)), 0);
    }
    for (int i = 0; i < N; i += 2) {
        struct sockaddr_in name;
        socklen_t nl = sizeof(name);
        assert_int_equal(ust_getsockname(f.s, fd[i], SA(name), &nl), 0);
        assert_int_equal(ntohs(name.sin_port), 10000 + i);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(ust_close(f.s, fd[i]), 0);
    /* All free again: as many open once more. */
    for (int i = 0; i < N; i++) {
        fd[i] = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
        assert_true(fd[i] > 0);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(ust_close(f.s, fd[i]), 0);
    free(fd);
    fixture_fini(&f);
}

static int connect_tcp(struct fixture *f, ust_ip4_t a, uint16_t port, int *err)
{
    int fd = ust_socket(f->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in to = addr_of(a, port);
    errno = 0;
    assert_int_equal(ust_connect(f->s, fd, SA(to), sizeof(to)), -1);
    *err = errno;
    return fd;
}

static uint16_t local_port(struct fixture *f, int fd)
{
    struct sockaddr_in name;
    socklen_t nl = sizeof(name);
    assert_int_equal(ust_getsockname(f->s, fd, SA(name), &nl), 0);
    return ntohs(name.sin_port);
}

/* With one ephemeral port, connections to two different remote endpoints
 * both get it; a third to an endpoint already connected from it cannot,
 * and neither can a listener or an unconnected bind. */
static void connect_shares_an_ephemeral_port(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 2);
    cfg.ephemeral_lo = cfg.ephemeral_hi = 50000;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    int err;
    int a = connect_tcp(&f, T_IP_PEER, 80, &err);
    assert_int_equal(err, EINPROGRESS);
    int b = connect_tcp(&f, T_IP_PEER, 81, &err);
    assert_int_equal(err, EINPROGRESS);
    assert_int_equal(local_port(&f, a), 50000);
    assert_int_equal(local_port(&f, b), 50000);
    int c = connect_tcp(&f, T_IP_PEER, 80, &err);
    assert_int_equal(err, EADDRNOTAVAIL);
    /* An explicit bind of the port clashes with the connections on it. */
    int d = ust_socket(f.s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = addr_of(0, 50000);
    errno = 0;
    assert_int_equal(ust_bind(f.s, d, SA(sin), sizeof(sin)), -1);
    assert_int_equal(errno, EADDRINUSE);
    /* A listener on the only ephemeral port keeps connect from it. */
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(ust_close(f.s, b), 0);
    int l = ust_socket(f.s, AF_INET, SOCK_STREAM, 0);
    assert_int_equal(ust_bind(f.s, l, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(f.s, l, 4), 0);
    int e = connect_tcp(&f, T_IP_PEER, 82, &err);
    assert_int_equal(err, EADDRNOTAVAIL);
    ust_close(f.s, c);
    ust_close(f.s, d);
    ust_close(f.s, e);
    ust_close(f.s, l);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_grows_to_its_limit),
        cmocka_unit_test(connect_shares_an_ephemeral_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
