/* http_kernel: the runner's HTTP/1.1 service (apps/http.c, compiled in
 * unchanged) on kernel sockets: the kernel reference of bench/run.sh's HTTP
 * benchmarks.
 *
 *   http_kernel ADDR PORT ROOT READYFILE
 *       Serves the files under ROOT on ADDR:PORT (TCP) until killed; writes
 *       READYFILE once listening. Warnings go to stderr.
 *
 * The ustack socket calls http.c and the services' loop under it
 * (apps/svcloop.c, compiled in too) make (ust_recv, ust_send, ust_poll,
 * ust_accept4, ...) are macros here for the kernel's own, which they mirror
 * argument for argument (the stack pointer is evaluated and dropped); so
 * are the clock and the address helpers. So the two sides of the
 * benchmark run the same server code, one thread, the same poll loop,
 * buffers, limits and timeouts (the runner's defaults) and read() of the
 * file per request; the only thing that differs is the TCP/IP stack
 * underneath, which is what the benchmark compares. The listener is set up
 * as service_start() sets up the runner's (SO_REUSEADDR, backlog 511,
 * non-blocking).
 *
 * Built by bench/run.sh with cc (-I include -I apps); needs no library. */
#include "app.h"
#include "services.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ust_recv(s, fd, buf, len, flags) ((void)(s), recv((fd), (buf), (len), (flags)))
#define ust_send(s, fd, buf, len, flags) ((void)(s), send((fd), (buf), (len), (flags)))
#define ust_shutdown(s, fd, how) ((void)(s), shutdown((fd), (how)))
#define ust_close(s, fd) ((void)(s), close(fd))
#define ust_poll(s, fds, n, timeout) ((void)(s), poll((fds), (n), (timeout)))
#define ust_accept4(s, fd, addr, len, flags) ((void)(s), accept4((fd), (addr), (len), (flags)))
#define ust_setsockopt(s, fd, level, name, val, len)                                               \
    ((void)(s), setsockopt((fd), (level), (name), (val), (len)))

static ust_time_t kernel_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ust_time_t)ts.tv_sec * 1000000u + (ust_time_t)ts.tv_nsec / 1000u;
}
#define ust_clock_now() kernel_clock_now()


/* The address helpers of apps/app.c that the loop and http.c use, on
 * kernel sockets (app.c itself needs the library). */
bool app_addr_is_v4(const struct in6_addr *a) { return IN6_IS_ADDR_V4MAPPED(a); }

char *app_addr_format(const struct in6_addr *a, char buf[UST_IP6_STRLEN])
{
    if (app_addr_is_v4(a))
        inet_ntop(AF_INET, a->s6_addr + 12, buf, UST_IP6_STRLEN);
    else
        inet_ntop(AF_INET6, a, buf, UST_IP6_STRLEN);
    return buf;
}

int app_sockaddr_get(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        memset(addr, 0, sizeof(*addr));
        addr->s6_addr[10] = addr->s6_addr[11] = 0xff;
        memcpy(addr->s6_addr + 12, &v4->sin_addr, 4);
        *port = ntohs(v4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        *addr = v6->sin6_addr;
        *port = ntohs(v6->sin6_port);
        return 0;
    }
    return -1;
}

char *app_peer_format(const struct in6_addr *a, uint16_t port, char buf[APP_PEER_STRLEN])
{
    char t[UST_IP6_STRLEN];
    app_addr_format(a, t);
    snprintf(buf, APP_PEER_STRLEN, app_addr_is_v4(a) ? "%s:%u" : "[%s]:%u", t, port);
    return buf;
}

/* The loop's stack-thread mode (svcloop_start) is not used here: the
 * kernel reference runs svcloop_run on its thread. */
int ust_on_ready(struct ust_stack *s, int fd, short events, ust_ready_fn fn, void *arg)
{
    (void)s, (void)fd, (void)events, (void)fn, (void)arg;
    errno = ENOSYS;
    return -1;
}
int ust_timer_add(struct ust_stack *s, ust_timer_fn fn, void *arg)
{
    (void)s, (void)fn, (void)arg;
    errno = ENOSYS;
    return -1;
}
int ust_timer_arm(struct ust_stack *s, int timer, ust_time_t when)
{
    (void)s, (void)timer, (void)when;
    return -1;
}
int ust_timer_del(struct ust_stack *s, int timer)
{
    (void)s, (void)timer;
    return -1;
}

#include "svcloop.c"
#include "http.c"

enum ust_log_level app_log_level = UST_LOG_WARN;

void app_log(enum ust_log_level lvl, const char *func, const char *file, int line, const char *fmt,
             ...)
{
    if (lvl > app_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "http_kernel: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s, %s:%d)\n", func, file, line);
    va_end(ap);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: http_kernel ADDR PORT ROOT READYFILE\n");
        return 2;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
        fprintf(stderr, "http_kernel: bad address %s\n", argv[1]);
        return 2;
    }
    struct service svc = {.name = "tcp/http",
                          .type = SOCK_STREAM,
                          .kind = SVC_HTTP,
                          .port = ntohs(sin.sin_port),
                          .http_root = argv[3],
                          .lim = svc_limits_default(SVC_HTTP)};
    if (http_init(&svc) != 0)
        return 1;
    int one = 1;
    svc.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (svc.fd < 0 || setsockopt(svc.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(svc.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(svc.fd, 511) < 0) {
        fprintf(stderr, "http_kernel: cannot listen on %s:%s: %s\n", argv[1], argv[2],
                strerror(errno));
        return 1;
    }
    FILE *f = fopen(argv[4], "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
        fprintf(stderr, "http_kernel: %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    http_main(&svc); /* returns only if poll fails */
    http_fini(&svc);
    return 1;
}
