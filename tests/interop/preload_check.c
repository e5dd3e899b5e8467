/* preload_check: a plain program (not linked with ustack) that test_preload_fds.sh
 * runs under LD_PRELOAD=libustack-preload.so. Its AF_INET sockets are
 * ustack's; a pipe is the kernel's. It checks the descriptor table and
 * waits over mixed sets: poll, select, epoll (level and edge), timeouts,
 * EINTR, dup/dup2, O_NONBLOCK and SO_RCVTIMEO, EPOLLRDHUP, shutdown of a
 * listener, fork and exec.
 *
 *   preload_check all          every check below, then exec: the ustack
 *                              socket must be gone in the new program
 *   preload_check gone N       (after exec) descriptor N must be closed
 *   preload_check fork-child   under USTACK_FORK=child: fork hands the
 *                              stack to the child
 *
 * Each check prints "ok: ..." or "FAIL: ..." and a failure exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(what, cond)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: %s\n", what);                                                              \
        } else {                                                                                   \
            printf("FAIL: %s (%s:%d, errno %s)\n", what, __FILE__, __LINE__, strerror(errno));     \
            failures++;                                                                            \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct sockaddr_in lo(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int udp_on(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = lo(port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("FAIL: udp socket on port %u: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

static void send_to(int from, uint16_t port, const char *msg)
{
    struct sockaddr_in a = lo(port);
    if (sendto(from, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)) !=
        (ssize_t)strlen(msg)) {
        printf("FAIL: sendto port %u: %s\n", port, strerror(errno));
        exit(1);
    }
}

/* A datagram or a pipe byte sent from another thread after a delay, so
 * that the main thread is already waiting. */
struct later {
    int fd;
    uint16_t port; /* 0: write to the pipe fd */
    int delay_ms;
};

static void *later_fn(void *arg)
{
    struct later *l = arg;
    usleep((useconds_t)l->delay_ms * 1000);
    if (l->port)
        send_to(l->fd, l->port, "late");
    else if (write(l->fd, "x", 1) != 1)
        printf("FAIL: pipe write\n");
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

/* A thread waiting in poll on a socket that another thread closes. */
struct poll_arg {
    int fd, ret;
    short revents;
};

static void *poll_one(void *arg)
{
    struct poll_arg *a = arg;
    struct pollfd p = {.fd = a->fd, .events = POLLIN};
    a->ret = poll(&p, 1, 3000);
    a->revents = p.revents;
    return NULL;
}

static void check_poll(int u, int pr, int pw, int tx)
{
    struct pollfd p[2] = {{.fd = pr, .events = POLLIN}, {.fd = u, .events = POLLIN}};
    long long t0 = now_ms();
    CHECK("poll: nothing ready in 200 ms returns 0", poll(p, 2, 200) == 0);
    CHECK("poll: ...and waited the 200 ms", now_ms() - t0 >= 199);

    CHECK("pipe write", write(pw, "k", 1) == 1);
    CHECK("poll: the kernel pipe is readable, the ustack socket is not",
          poll(p, 2, 1000) == 1 && p[0].revents == POLLIN && p[1].revents == 0);
    char c;
    CHECK("pipe read", read(pr, &c, 1) == 1);

    send_to(tx, 9001, "now");
    CHECK("poll: the ustack socket is readable, the pipe is not",
          poll(p, 2, 5000) == 1 && p[0].revents == 0 && p[1].revents == POLLIN);
    char buf[64];
    CHECK("recv the datagram", recv(u, buf, sizeof(buf), 0) == 3);

    /* Blocked, then woken from another thread: each side. */
    pthread_t th;
    struct later l = {.fd = tx, .port = 9001, .delay_ms = 100};
    pthread_create(&th, NULL, later_fn, &l);
    t0 = now_ms();
    int r = poll(p, 2, 10000);
    CHECK("poll: a blocked poll wakes for a ustack datagram",
          r == 1 && p[1].revents == POLLIN && now_ms() - t0 < 9000);
    pthread_join(th, NULL);
    CHECK("recv it", recv(u, buf, sizeof(buf), 0) == 4);
    l = (struct later){.fd = pw, .port = 0, .delay_ms = 100};
    pthread_create(&th, NULL, later_fn, &l);
    r = poll(p, 2, 10000);
    CHECK("poll: a blocked poll wakes for a pipe byte", r == 1 && p[0].revents == POLLIN);
    pthread_join(th, NULL);
    CHECK("pipe read", read(pr, &c, 1) == 1);

    /* POLLOUT of a UDP socket, and ppoll's timeout. */
    struct pollfd o = {.fd = u, .events = POLLOUT};
    CHECK("poll: a UDP socket is writable", poll(&o, 1, 0) == 1 && o.revents == POLLOUT);
    struct timespec ts = {0, 50 * 1000000};
    t0 = now_ms();
    CHECK("ppoll: 50 ms timeout", ppoll(p, 2, &ts, NULL) == 0 && now_ms() - t0 >= 49);

    /* A signal interrupts a wait on a ustack socket. */
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    errno = 0;
    r = poll(p, 2, 20000);
    CHECK("poll: SIGALRM interrupts it with EINTR", r == -1 && errno == EINTR);
    alarm(1);
    errno = 0;
    ssize_t n = recv(u, buf, sizeof(buf), 0);
    CHECK("recv: SIGALRM interrupts a blocking recv with EINTR", n == -1 && errno == EINTR);
}

static void check_select(int u, int pr, int pw, int tx)
{
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(pr, &rs);
    FD_SET(u, &rs);
    int maxfd = (pr > u ? pr : u) + 1;
    struct timeval tv = {0, 100000};
    CHECK("select: nothing ready in 100 ms", select(maxfd, &rs, NULL, NULL, &tv) == 0);
    send_to(tx, 9001, "sel");
    CHECK("pipe write", write(pw, "s", 1) == 1);
    FD_ZERO(&rs);
    FD_SET(pr, &rs);
    FD_SET(u, &rs);
    tv = (struct timeval){5, 0};
    int r = select(maxfd, &rs, NULL, NULL, &tv);
    if (r == 1) { /* the datagram may trail the pipe byte by a moment */
        FD_SET(pr, &rs);
        FD_SET(u, &rs);
        usleep(100000);
        r = select(maxfd, &rs, NULL, NULL, &tv);
    }
    CHECK("select: both the pipe and the ustack socket are readable",
          r == 2 && FD_ISSET(pr, &rs) && FD_ISSET(u, &rs));
    char buf[8];
    CHECK("drain", recv(u, buf, sizeof(buf), 0) == 3 && read(pr, buf, 1) == 1);
}

static void check_epoll(int u, int pr, int pw, int tx)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = pr};
    CHECK("epoll_ctl ADD the pipe", epoll_ctl(ep, EPOLL_CTL_ADD, pr, &ev) == 0);
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.fd = u};
    CHECK("epoll_ctl ADD the ustack socket, edge-triggered",
          epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev) == 0);
    CHECK("epoll_ctl ADD it again: EEXIST",
          epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev) == -1 && errno == EEXIST);
    struct epoll_event out[4];
    long long t0 = now_ms();
    CHECK("epoll_wait: nothing in 150 ms", epoll_wait(ep, out, 4, 150) == 0);
    CHECK("epoll_wait: ...and waited", now_ms() - t0 >= 149);

    send_to(tx, 9001, "e1");
    int n = epoll_wait(ep, out, 4, 5000);
    CHECK("epoll_wait: the ustack socket, EPOLLIN",
          n == 1 && out[0].data.fd == u && out[0].events == EPOLLIN);
    CHECK("edge-triggered: not again while nothing new arrives", epoll_wait(ep, out, 4, 150) == 0);
    send_to(tx, 9001, "e2");
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("edge-triggered: a second datagram is a new edge", n == 1 && out[0].data.fd == u);

    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = u};
    CHECK("epoll_ctl MOD to level-triggered", epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev) == 0);
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("level-triggered: reported while unread", n == 1 && out[0].data.fd == u);
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("level-triggered: ...and again", n == 1 && out[0].data.fd == u);
    char buf[8];
    CHECK("read both datagrams", recv(u, buf, 8, 0) == 2 && recv(u, buf, 8, 0) == 2);
    CHECK("level-triggered: quiet once read", epoll_wait(ep, out, 4, 100) == 0);

    CHECK("pipe write", write(pw, "p", 1) == 1);
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("epoll_wait: the kernel pipe", n == 1 && out[0].data.fd == pr);
    CHECK("pipe read", read(pr, buf, 1) == 1);

    pthread_t th;
    struct later l = {.fd = tx, .port = 9001, .delay_ms = 100};
    pthread_create(&th, NULL, later_fn, &l);
    n = epoll_wait(ep, out, 4, 10000);
    CHECK("epoll_wait: a blocked wait wakes for a ustack datagram", n == 1 && out[0].data.fd == u);
    pthread_join(th, NULL);
    CHECK("recv it", recv(u, buf, 8, 0) == 4);

    ev = (struct epoll_event){.events = EPOLLOUT | EPOLLONESHOT, .data.fd = u};
    CHECK("epoll_ctl MOD to EPOLLOUT one-shot", epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev) == 0);
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("EPOLLOUT reported", n == 1 && out[0].events == EPOLLOUT);
    CHECK("one-shot: not again", epoll_wait(ep, out, 4, 100) == 0);

    alarm(1);
    errno = 0;
    n = epoll_wait(ep, out, 4, 20000);
    CHECK("epoll_wait: SIGALRM interrupts it with EINTR", n == -1 && errno == EINTR);

    CHECK("epoll_ctl DEL the ustack socket", epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL) == 0);
    CHECK("epoll_ctl DEL it again: ENOENT",
          epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL) == -1 && errno == ENOENT);
    CHECK("epoll_ctl on a non-epoll fd: EINVAL",
          epoll_ctl(pr, EPOLL_CTL_ADD, u, &ev) == -1 && errno == EINVAL);
    close(ep);
}

static void check_fds(int u, int tx)
{
    struct stat st;
    CHECK("a ustack socket's number is a real kernel descriptor", fstat(u, &st) == 0);
    CHECK("...and close-on-exec", (fcntl(u, F_GETFD) & FD_CLOEXEC) != 0);
    int d = dup(u);
    CHECK("dup of a ustack socket", d >= 0 && d != u);
    send_to(tx, 9001, "dup");
    char buf[8];
    struct pollfd p = {.fd = d, .events = POLLIN};
    CHECK("the dup reads the same socket",
          poll(&p, 1, 5000) == 1 && recv(d, buf, sizeof(buf), 0) == 3);
    CHECK("closing the dup keeps the socket", close(d) == 0);
    send_to(tx, 9001, "still");
    p.fd = u;
    CHECK("...the original still receives", poll(&p, 1, 5000) == 1 && recv(u, buf, 8, 0) == 5);

    struct poll_arg pa = {.fd = udp_on(9004), .ret = -2};
    pthread_t th;
    pthread_create(&th, NULL, poll_one, &pa);
    usleep(100000);
    CHECK("close a socket another thread polls", close(pa.fd) == 0);
    long long t1 = now_ms();
    pthread_join(th, NULL);
    CHECK("...the poller returns (POLLNVAL) at once, not at its timeout",
          pa.ret == 1 && pa.revents == POLLNVAL && now_ms() - t1 < 2500);

    int other = udp_on(9002);
    int pfd[2];
    CHECK("pipe", pipe(pfd) == 0);
    CHECK("dup2 a pipe onto a ustack socket", dup2(pfd[0], other) == other);
    CHECK("...the number is the pipe now", fstat(other, &st) == 0 && S_ISFIFO(st.st_mode));
    int again = udp_on(9002);
    CHECK("...and the ustack socket it replaced is closed (its port is free)", again >= 0);
    close(again);
    close(other);
    close(pfd[0]);
    close(pfd[1]);

    CHECK("O_NONBLOCK via fcntl", fcntl(u, F_SETFL, fcntl(u, F_GETFL) | O_NONBLOCK) == 0);
    errno = 0;
    CHECK("non-blocking recv: EAGAIN", recv(u, buf, 8, 0) == -1 && errno == EAGAIN);
    CHECK("back to blocking", fcntl(u, F_SETFL, fcntl(u, F_GETFL) & ~O_NONBLOCK) == 0);
    struct timeval tv = {0, 150000};
    CHECK("SO_RCVTIMEO", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    long long t0 = now_ms();
    errno = 0;
    CHECK("blocking recv with SO_RCVTIMEO: EAGAIN after the timeout",
          recv(u, buf, 8, 0) == -1 && errno == EAGAIN && now_ms() - t0 >= 149);
    tv = (struct timeval){0, 0};
    setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int v = -1;
    send_to(tx, 9001, "12345");
    p.fd = u;
    poll(&p, 1, 5000);
    CHECK("ioctl FIONREAD: the next datagram's size", ioctl(u, FIONREAD, &v) == 0 && v == 5);
    CHECK("drain", recv(u, buf, 8, 0) == 5);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("an unsupported option fails with ENOPROTOOPT",
          setsockopt(tcp, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) == -1 && errno == ENOPROTOOPT);
    close(tcp);
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    int dom = 0;
    socklen_t dl = sizeof(dom);
    CHECK("AF_INET6 is ustack's too (SO_DOMAIN AF_INET6)",
          s6 >= 0 && getsockopt(s6, SOL_SOCKET, SO_DOMAIN, &dom, &dl) == 0 && dom == AF_INET6);
    close(s6);
}

/* The peer's FIN is EPOLLRDHUP (and poll's POLLRDHUP), as Linux reports
 * it: an event loop's cue that the peer hung up (nginx, libuv). */
static void check_rdhup(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(9005);
    socklen_t al = sizeof(a);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("FAIL: a TCP connection on 127.0.0.1:9005: %s\n", strerror(errno));
        exit(1);
    }
    int sv = accept(l, (struct sockaddr *)&a, &al);
    CHECK("rdhup: accept", sv >= 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = c}, out[2];
    CHECK("rdhup: epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
    CHECK("rdhup: the peer's data", send(sv, "x", 1, 0) == 1);
    int n = epoll_wait(ep, out, 2, 5000);
    CHECK("rdhup: data alone is EPOLLIN, no EPOLLRDHUP", n == 1 && out[0].events == EPOLLIN);
    CHECK("rdhup: the peer's shutdown(SHUT_WR)", shutdown(sv, SHUT_WR) == 0);
    /* A report may come before the FIN (ustack's notifications may be
     * spurious, ust_ready says: the ACK of the data): the FIN's is the
     * first with EPOLLRDHUP, within 5 s. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        n = epoll_wait(ep, out, 2, 5000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (n == 1 && out[0].events == EPOLLIN && t1.tv_sec - t0.tv_sec < 5);
    CHECK("rdhup: its FIN is EPOLLIN | EPOLLRDHUP",
          n == 1 && out[0].events == (EPOLLIN | EPOLLRDHUP));
    struct pollfd p = {.fd = c, .events = POLLIN | POLLRDHUP};
    CHECK("rdhup: poll reports POLLIN | POLLRDHUP",
          poll(&p, 1, 0) == 1 && p.revents == (POLLIN | POLLRDHUP));
    p = (struct pollfd){.fd = sv, .events = POLLIN | POLLRDHUP};
    CHECK("rdhup: not on the side that only shut down writing", poll(&p, 1, 0) == 0);
    close(ep);
    close(sv);
    close(c);
    close(l);
}

/* A thread blocked in accept() on a ustack listener that another thread
 * shuts down wakes up with EINVAL, as on Linux (servers stop so); one
 * blocked in recv() on a UDP socket gets 0. */
struct accept_arg {
    int fd, ret, err;
};

static void *accept_one(void *arg)
{
    struct accept_arg *a = arg;
    a->ret = accept(a->fd, NULL, NULL);
    a->err = errno;
    return NULL;
}

static void *recv_one(void *arg)
{
    struct accept_arg *a = arg;
    char b[8];
    a->ret = (int)recv(a->fd, b, sizeof(b), 0);
    a->err = errno;
    return NULL;
}

static void check_shutdown_listener(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(9006);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0) {
        printf("FAIL: a listener on 127.0.0.1:9006: %s\n", strerror(errno));
        exit(1);
    }
    struct accept_arg arg = {.fd = l, .ret = 0};
    pthread_t th;
    pthread_create(&th, NULL, accept_one, &arg);
    usleep(100 * 1000); /* let it block (it fails the same if it has not yet) */
    CHECK("shutdown(SHUT_RDWR) of a listener succeeds", shutdown(l, SHUT_RDWR) == 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    CHECK("...and wakes the thread blocked in accept", pthread_timedjoin_np(th, NULL, &dl) == 0);
    CHECK("...which gets EINVAL", arg.ret == -1 && arg.err == EINVAL);
    close(l);
    /* The same for a UDP socket and a thread blocked in recv: Linux says
     * ENOTCONN (not connected) but shuts it down: recv returns 0. */
    int u = udp_on(9007);
    arg = (struct accept_arg){.fd = u, .ret = -2};
    pthread_create(&th, NULL, recv_one, &arg);
    usleep(100 * 1000); /* let it block (it ends the same if it has not yet) */
    CHECK("shutdown(SHUT_RDWR) of an unconnected UDP socket: ENOTCONN",
          shutdown(u, SHUT_RDWR) == -1 && errno == ENOTCONN);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    CHECK("...and the thread blocked in recv returns 0",
          pthread_timedjoin_np(th, NULL, &dl) == 0 && arg.ret == 0);
    close(u);
}

/* close_range and closefrom close ustack sockets: their ports are free
 * again afterwards. */
static void check_close_range(void)
{
    int a = udp_on(9010);
    CHECK("close_range over a ustack socket", close_range((unsigned)a, (unsigned)a, 0) == 0);
    struct stat st;
    CHECK("...its descriptor is closed", fstat(a, &st) == -1 && errno == EBADF);
    int again = udp_on(9010); /* exits if the port is still bound */
    CHECK("...and its socket too (its port can be bound again)", again >= 0);
    CHECK("close_range CLOSE_RANGE_CLOEXEC keeps the socket",
          close_range((unsigned)again, (unsigned)again, CLOSE_RANGE_CLOEXEC) == 0 &&
              fstat(again, &st) == 0);
    int high = dup2(again, 900);
    close(again);
    CHECK("dup2 a ustack socket to 900", high == 900);
    closefrom(900);
    CHECK("closefrom(900): descriptor 900 is closed", fstat(900, &st) == -1 && errno == EBADF);
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = lo(9010);
    CHECK("...and its socket too (its port can be bound again)",
          b >= 0 && bind(b, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    close(b);
}

static void check_fork(int u)
{
    pid_t pid = fork();
    if (pid == 0) {
        char b[4];
        errno = 0;
        int ok = send(u, "x", 1, 0) == -1 && errno == EOPNOTSUPP;
        errno = 0;
        ok = ok && recv(u, b, sizeof(b), MSG_DONTWAIT) == -1 && errno == EOPNOTSUPP;
        ok = ok && close(u) == 0;
        _exit(ok ? 0 : 1);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK("fork: the child's inherited ustack socket fails with EOPNOTSUPP, and closes",
          WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char buf[8];
    send_to(u, 9001, "mine");
    struct pollfd p = {.fd = u, .events = POLLIN};
    CHECK("fork: the parent's socket still works",
          poll(&p, 1, 5000) == 1 && recv(u, buf, 8, 0) == 4);
}

/* Under USTACK_FORK=child: the first fork hands the stack to the child,
 * where the inherited sockets work (and a grandchild gets the default);
 * the parent's fail with EOPNOTSUPP and still close. */
static int check_fork_child(void)
{
    int u = udp_on(9001);
    int tx = udp_on(9003);
    pid_t pid = fork();
    if (pid == 0) {
        char buf[8] = {0};
        send_to(tx, 9001, "child");
        struct pollfd p = {.fd = u, .events = POLLIN};
        CHECK("child: the inherited sockets work (poll, send, recv)",
              poll(&p, 1, 5000) == 1 && recv(u, buf, sizeof(buf), 0) == 5 &&
                  memcmp(buf, "child", 5) == 0);
        int fresh = socket(AF_INET6, SOCK_DGRAM, 0);
        CHECK("child: new sockets are ustack's", fresh >= 0);
        close(fresh);
        pid_t g = fork();
        if (g == 0) {
            errno = 0;
            _exit(send(u, "x", 1, 0) == -1 && errno == EOPNOTSUPP && close(u) == 0 ? 0 : 1);
        }
        int st = -1;
        waitpid(g, &st, 0);
        CHECK("child: its own fork is a plain one (the grandchild's sockets: EOPNOTSUPP)",
              WIFEXITED(st) && WEXITSTATUS(st) == 0);
        send_to(tx, 9001, "again");
        CHECK("child: ...its sockets still work",
              poll(&p, 1, 5000) == 1 && recv(u, buf, sizeof(buf), 0) == 5);
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    CHECK("fork", pid > 0);
    errno = 0;
    CHECK("parent: its sockets fail with EOPNOTSUPP after handing the stack over",
          send(tx, "x", 1, 0) == -1 && errno == EOPNOTSUPP);
    errno = 0;
    CHECK("parent: new sockets too", socket(AF_INET, SOCK_DGRAM, 0) == -1 && errno == EOPNOTSUPP);
    CHECK("parent: close releases the descriptors", close(u) == 0 && close(tx) == 0);
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK("the child's checks passed", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "gone") == 0) {
        struct stat st;
        errno = 0;
        CHECK("exec: the ustack socket's descriptor is closed in the new program",
              fstat(atoi(argv[2]), &st) == -1 && errno == EBADF);
        return failures ? 1 : 0;
    }
    if (argc == 2 && strcmp(argv[1], "fork-child") == 0)
        return check_fork_child();
    if (argc != 2 || strcmp(argv[1], "all") != 0) {
        fprintf(stderr, "usage: preload_check all | gone FD | fork-child\n");
        return 2;
    }
    int u = udp_on(9001);
    int tx = udp_on(9003);
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    check_poll(u, pfd[0], pfd[1], tx);
    check_select(u, pfd[0], pfd[1], tx);
    check_epoll(u, pfd[0], pfd[1], tx);
    check_fds(u, tx);
    check_rdhup();
    check_shutdown_listener();
    check_close_range();
    check_fork(u);
    if (failures)
        return 1;
    /* exec with the socket marked inheritable: it must not survive. */
    fcntl(u, F_SETFD, 0);
    char fdbuf[16];
    snprintf(fdbuf, sizeof(fdbuf), "%d", u);
    execl("/proc/self/exe", argv[0], "gone", fdbuf, (char *)NULL);
    printf("FAIL: exec: %s\n", strerror(errno));
    return 1;
}
