/* libustack-preload.so: unmodified dynamically linked programs on ustack.
 *
 *   LD_PRELOAD=libustack-preload.so USTACK_ADDR=192.0.2.2/24 PROGRAM
 *
 * The library defines the libc socket calls; the dynamic linker binds the
 * program's calls to them first. AF_INET and AF_INET6 sockets go to one
 * ustack instance per process, brought up on the first such socket() from
 * USTACK_* variables (docs/PRELOAD.md); every other descriptor goes to
 * libc.
 *
 * Descriptors. Each ustack socket is given a real kernel descriptor: an
 * eventfd, opened close-on-exec. Its number is the socket's number for the
 * program, so it never collides with a kernel descriptor, exec closes it,
 * and dup2 onto it replaces it. A table indexed by descriptor number says
 * which numbers are ustack sockets (struct usock, shared by dup'ed
 * numbers) and which are epoll instances holding some (struct pep).
 *
 * Readiness. The eventfd itself carries none: readiness reaches poll,
 * select and epoll through this library's versions of them. A dispatcher
 * thread waits on the stack's event fd (ust_event_fd), takes the sockets
 * that changed (ust_ready) and (a) writes the private eventfd of every
 * thread waiting for one of them and (b) queues the socket on every epoll
 * instance watching it, writing that instance's wake eventfd, which sits
 * in the kernel epoll set. A wait is then always a real ppoll or
 * epoll_pwait over the kernel descriptors plus one eventfd: timeouts,
 * signals (EINTR) and signal masks are the kernel's own.
 *
 * Blocking. ustack sockets are non-blocking underneath; a blocking call
 * here tries, then waits as above (bounded by SO_RCVTIMEO/SO_SNDTIMEO),
 * so a signal interrupts it with EINTR, as a call without SA_RESTART. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../../apps/app.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- the libc functions underneath ---- */

struct real {
    int (*socket)(int, int, int);
    int (*close)(int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
    int (*shutdown)(int, int);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
    pid_t (*fork)(void);
    int (*close_range)(unsigned, unsigned, int); /* NULL before glibc 2.34: the system call */
    void (*closefrom)(int);                      /* NULL before glibc 2.34 */
};

/* ---- the process's state ---- */

struct waiter; /* a thread waiting in mixed_poll */
struct watch;  /* a ustack socket in an epoll instance */

/* A ustack socket, shared by the descriptors dup'ed from it (as an open
 * file description is). */
struct usock {
    int h;      /* its ustack handle */
    int family; /* AF_INET or AF_INET6 */
    unsigned refs;
    bool nonblock;       /* O_NONBLOCK, the program's view */
    bool cloexec_off;    /* the program cleared FD_CLOEXEC (exec closes it anyway) */
    bool closed;         /* closed while threads waited: the last of them frees it */
    struct usock *hnext; /* in the table by handle */
    struct wentry *waiters;
    struct watch *watches;
};

struct wentry { /* one socket a waiter waits for */
    struct wentry *next;
    int wfd; /* the waiting thread's eventfd */
};

struct watch {
    struct watch *unext; /* in usock.watches */
    struct watch *enext; /* in pep.all */
    struct watch *qnext; /* in pep's ready queue */
    struct pep *ep;
    struct usock *u;
    int fd;
    uint32_t events;
    epoll_data_t data;
    bool queued, disabled;
};

/* An epoll instance with ustack sockets in it. */
struct pep {
    int epfd;
    int wakefd; /* in the kernel set, data.u64 = PEP_MAGIC */
    struct watch *all;
    struct watch *qhead, *qtail;
};

#define PEP_MAGIC 0x75737461636b21ULL /* never a pointer or an fd we hand out */
#define FD_CHUNK 1024
#define FD_CHUNKS 1024 /* descriptors 0 .. 2^20 - 1 */
#define HBUCKETS 4096

struct fdslot {
    _Atomic(struct usock *) u;
    _Atomic(struct pep *) ep;
};

struct preload {
    struct real real;
    pthread_mutex_t mu; /* the tables below; never held across a wait */
    pthread_once_t once;
    int state; /* 0: not tried, 1: up, -errno: failed */
    bool fallback_kernel;
    /* The stack is not in this process: a child of fork (the stack did
     * not come with it), or a parent that handed it to its child
     * (USTACK_FORK=child). */
    bool forked;
    bool fork_child;   /* USTACK_FORK=child, until the first fork */
    pid_t pid;         /* the process that holds the stack (see vfork_child) */
    struct app_opts o; /* the bring-up's options (o.ipv6: AF_INET6 served) */
    char *envcopy;     /* the USTACK_* values o points into */
    pthread_once_t v6once;
    /* sin6_scope_id: the kernel's interface indexes the program sees (its
     * if_nametoindex) of the TAP and of lo, and ustack's zones of its
     * devices on them (ust_if_nametoindex: device index + 1); 0 if
     * unknown. */
    unsigned k_tap, k_lo, u_tap, u_lo;
    struct ust_stack *s;
    struct ust_runtime *rt;
    int efd;   /* ust_event_fd */
    int dstop; /* an eventfd: the dispatcher ends when it is readable */
    pthread_t dispatcher;
    _Atomic(struct fdslot *) chunk[FD_CHUNKS];
    struct usock *by_handle[HBUCKETS];
};

/* A preload library is one per process by nature: this is its only
 * state (the stack itself keeps none of its own outside struct ust_stack). */
static struct preload P = {
    .mu = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT, .v6once = PTHREAD_ONCE_INIT};
static __thread int tls_wfd = -1; /* this thread's eventfd for waits */
static __thread bool
    tls_bringing_up; /* the library's own socket() calls (tap.c) are the kernel's */

static void *sym(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "libustack-preload: a libc function is missing\n";
        ssize_t n = write(2, msg, sizeof(msg) - 1);
        (void)n;
        abort();
    }
    return f;
}

__attribute__((constructor)) static void resolve(void)
{
    struct real *r = &P.real;
#define R(f) r->f = sym(#f)
    R(socket), R(close), R(read), R(write), R(readv), R(writev), R(bind), R(listen);
    R(accept4), R(connect), R(sendto), R(recvfrom), R(sendmsg), R(recvmsg), R(sendmmsg);
    R(recvmmsg), R(shutdown), R(getsockopt), R(setsockopt), R(getsockname), R(getpeername);
    R(fcntl), R(ioctl), R(dup), R(dup2), R(dup3), R(sendfile), R(ppoll), R(pselect);
    R(epoll_ctl), R(epoll_pwait), R(fork);
#undef R
    r->close_range = (int (*)(unsigned, unsigned, int))dlsym(RTLD_NEXT, "close_range");
    r->closefrom = (void (*)(int))dlsym(RTLD_NEXT, "closefrom");
}

/* ---- the descriptor table ---- */

static struct fdslot *slot_of(int fd, bool make)
{
    if (fd < 0 || fd >= FD_CHUNK * FD_CHUNKS)
        return NULL;
    _Atomic(struct fdslot *) *c = &P.chunk[fd / FD_CHUNK];
    struct fdslot *v = atomic_load(c);
    if (!v && make) {
        struct fdslot *n = calloc(FD_CHUNK, sizeof(*n));
        if (!n)
            return NULL;
        if (atomic_compare_exchange_strong(c, &v, n))
            v = n;
        else
            free(n);
    }
    return v ? &v[fd % FD_CHUNK] : NULL;
}

static struct usock *usock_of(int fd)
{
    struct fdslot *sl = slot_of(fd, false);
    return sl ? atomic_load(&sl->u) : NULL;
}

static struct pep *pep_of(int fd)
{
    struct fdslot *sl = slot_of(fd, false);
    return sl ? atomic_load(&sl->ep) : NULL;
}

static struct usock **hbucket(int h) { return &P.by_handle[(unsigned)h % HBUCKETS]; }

static struct usock *by_handle(int h)
{
    struct usock *u = *hbucket(h);
    while (u && u->h != h)
        u = u->hnext;
    return u;
}

static int set_errno(int e)
{
    errno = e;
    return -1;
}

/* ---- bring-up ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    if (n > 0) {
        ssize_t w = P.real.write(2, buf, (size_t)n); /* stderr only, never stdout */
        (void)w;
    }
}

static void *dispatch(void *arg);
static bool deliver_here(struct ust_stack *s, void *arg);
static void deliver_flush(void *arg);

static void child_after_fork(void) { P.forked = P.state == 1; }

/* The USTACK_* variables as the runner's options, in argv (at most max
 * entries, NULL-terminated). USTACK_ADDR and USTACK_GATEWAY take a comma
 * list, an IPv6 item of USTACK_GATEWAY being --gateway6. The values are
 * copied (P.envcopy): P.o points into them for the process's life. -1
 * after saying what is wrong. */
static int env_to_argv(char **argv, int max)
{
    static const struct {
        const char *var, *opt, *opt6; /* opt6: a comma list, IPv6 items to opt6 */
    } map[] = {{"USTACK_TAP", "--tap", NULL},
               {"USTACK_ADDR", "--addr", "--addr"},
               {"USTACK_GATEWAY", "--gateway", "--gateway6"},
               {"USTACK_GATEWAY6", "--gateway6", NULL},
               {"USTACK_MAC", "--mac", NULL},
               {"USTACK_LOG", "--log", NULL},
               {"USTACK_PCAP", "--pcap", NULL}};
    size_t total = 1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const char *v = getenv(map[i].var);
        total += v ? strlen(v) + 1 : 0;
    }
    char *buf = malloc(total);
    if (!buf)
        return -1;
    P.envcopy = buf;
    int argc = 1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const char *v = getenv(map[i].var);
        if (!v || !*v)
            continue;
        size_t n = strlen(v) + 1;
        memcpy(buf, v, n);
        char *item = buf, *save = NULL;
        buf += n;
        if (map[i].opt6)
            item = strtok_r(item, ",", &save);
        for (; item; item = map[i].opt6 ? strtok_r(NULL, ",", &save) : NULL) {
            if (argc + 2 >= max) {
                say("libustack-preload: %s: too many items\n", map[i].var);
                return -1;
            }
            bool v6 = map[i].opt6 && strchr(item, ':');
            argv[argc++] = (char *)(uintptr_t)(v6 ? map[i].opt6 : map[i].opt);
            argv[argc++] = item;
        }
    }
    const char *v6 = getenv("USTACK_IPV6");
    if (v6 && strcmp(v6, "off") == 0) {
        argv[argc++] = (char *)(uintptr_t) "--no-ipv6";
    } else if (v6 && *v6 && strcmp(v6, "on") != 0) {
        say("libustack-preload: USTACK_IPV6=%s: expected on or off\n", v6);
        return -1;
    }
    const char *fk = getenv("USTACK_FORK");
    if (fk && strcmp(fk, "child") == 0) {
        P.fork_child = true;
    } else if (fk && *fk && strcmp(fk, "none") != 0) {
        say("libustack-preload: USTACK_FORK=%s: expected child or none\n", fk);
        return -1;
    }
    if (!getenv("USTACK_LOG")) {
        argv[argc++] = (char *)(uintptr_t) "--log";
        argv[argc++] = (char *)(uintptr_t) "warn";
    }
    argv[argc] = NULL;
    return argc;
}

/* Starts the dispatcher (and, restart, the stack's runtime first) with
 * every signal blocked: the stack thread and the dispatcher never take
 * the program's signals (a signal meant to interrupt the program's call
 * must reach one of its own threads; threads inherit the mask they start
 * with). 0 or an errno. */
static int start_threads(bool restart)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = 0;
    if (restart) {
        int r = ust_runtime_start(P.s, &P.rt);
        e = r < 0 ? -r : 0;
    }
    if (e == 0) {
        P.efd = ust_event_fd(P.s);
        e = P.efd < 0 ? errno
                      : -ust_runtime_set_ready_hooks(P.rt, deliver_here, deliver_flush, NULL);
        if (e == 0)
            e = pthread_create(&P.dispatcher, NULL, dispatch, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

/* The stack from the environment, with the runner's option parser. */
static void bring_up(void)
{
    const char *fb = getenv("USTACK_FALLBACK");
    P.fallback_kernel = fb && strcmp(fb, "kernel") == 0;
    char *argv[48] = {(char *)(uintptr_t) "libustack-preload"};
    int argc = env_to_argv(argv, (int)(sizeof(argv) / sizeof(argv[0])));
    int r = -1;
    if (argc > 0) {
        /* getopt's state is the program's: keep it. */
        int sind = optind, serr = opterr, sopt = optopt;
        char *sarg = optarg;
        optind = 0; /* glibc: start over */
        r = app_parse(argc, argv, &P.o, "", NULL, NULL, NULL);
        optind = sind, opterr = serr, optopt = sopt, optarg = sarg;
    }
    if (r != 0) {
        say("libustack-preload: the USTACK_* variables above are wrong (see docs/PRELOAD.md); "
            "AF_INET and AF_INET6 sockets %s\n",
            P.fallback_kernel ? "go to the kernel" : "fail with ENETDOWN");
        P.state = -EINVAL;
        return;
    }
    P.dstop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    tls_bringing_up = true;
    r = P.dstop < 0 ? -1 : app_stack_up(&P.o, &P.s, &P.rt);
    tls_bringing_up = false;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        say("libustack-preload: no ustack on %s (above: why); sockets %s\n", P.o.dev,
            P.fallback_kernel ? "go to the kernel (USTACK_FALLBACK=kernel)"
                              : "fail with ENETDOWN (USTACK_FALLBACK=kernel hands them to the "
                                "kernel instead)");
        P.state = -ENETDOWN;
        return;
    }
    /* The interface indexes the program sees in its namespace. */
    tls_bringing_up = true;
    P.k_tap = if_nametoindex(P.o.dev);
    P.k_lo = if_nametoindex("lo");
    tls_bringing_up = false;
    ust_runtime_lock(P.rt);
    P.u_tap = ust_if_nametoindex(P.s, P.o.dev);
    P.u_lo = ust_if_nametoindex(P.s, "lo");
    ust_runtime_unlock(P.rt);
    int e = start_threads(false);
    if (e != 0) {
        say("libustack-preload: cannot start the dispatcher: %s\n", strerror(e));
        P.state = -e;
        return;
    }
    pthread_atfork(NULL, NULL, child_after_fork);
    P.pid = getpid();
    P.state = 1;
}

static void usock_release_locked(struct usock *u);

/* At exit the kernel would go on delivering what a program wrote (a
 * datagram waiting for ARP, a stream's queued data and FIN); here the
 * stack dies with the process. So: close the sockets still open (FIN
 * after their data), then wait, at most USTACK_EXIT_LINGER seconds
 * (default 5), until the stack holds no data and no packet. */
__attribute__((destructor)) static void linger_at_exit(void)
{
    if (P.state != 1 || P.forked)
        return;
    pthread_mutex_lock(&P.mu);
    for (int c = 0; c < FD_CHUNKS; c++) {
        struct fdslot *v = atomic_load(&P.chunk[c]);
        for (int i = 0; v && i < FD_CHUNK; i++) {
            struct usock *u = atomic_exchange(&v[i].u, NULL);
            if (u)
                usock_release_locked(u);
        }
    }
    pthread_mutex_unlock(&P.mu);
    const char *e = getenv("USTACK_EXIT_LINGER");
    long ms = (e && *e ? strtol(e, NULL, 10) : 5) * 1000;
    for (long waited = 0; waited < ms; waited += 10) {
        ust_runtime_lock(P.rt);
        const struct ust_stats *st = ust_stack_stats(P.s);
        bool idle = st->tcp.buf_bytes == 0 && st->pkb.live == 0;
        ust_runtime_unlock(P.rt);
        if (idle)
            return;
        usleep(10000);
    }
}

/* 1: ustack serves AF_INET; 0: the kernel does (fallback); -1: errno set. */
static int ustack_ready(void)
{
    pthread_once(&P.once, bring_up);
    if (P.forked)
        return P.fallback_kernel ? 0 : set_errno(EOPNOTSUPP);
    if (P.state == 1)
        return 1;
    return P.fallback_kernel ? 0 : set_errno(ENETDOWN);
}

/* A child of vfork or clone(CLONE_VM) (posix_spawn, and Python's
 * subprocess, which closes descriptors there before exec): it shares the
 * parent's memory, but no atfork handler said it is a child. Whatever it
 * closes must not touch the parent's stack or tables. */
static bool vfork_child(void) { return P.state == 1 && !P.forked && getpid() != P.pid; }

/* A ustack socket the program can use here: NULL for other descriptors.
 * In a forked child the inherited ones fail with EOPNOTSUPP (*dead). */
static struct usock *live(int fd, bool *dead)
{
    struct usock *u = usock_of(fd);
    *dead = u && P.forked;
    return *dead ? NULL : u;
}

/* ---- IPv6: DAD and scope ids ---- */

static void v6_wait(void)
{
    if (app_wait_ipv6(P.s, P.rt, &P.o) != 0)
        say("libustack-preload: IPv6 calls go ahead with tentative addresses (above: why)\n");
}

/* Before an AF_INET6 socket's first call that needs one of the stack's
 * addresses (bind, listen, connect, send): the process's first such call
 * waits until the addresses have passed duplicate address detection
 * (RFC 4862; about 1-2 s after the stack came up, at most 5 s), since a
 * tentative address is not ours yet. Later calls do not wait. */
static void v6_settle(const struct usock *u)
{
    if (u->family == AF_INET6)
        pthread_once(&P.v6once, v6_wait);
}

static bool v6_link_scoped(const struct in6_addr *a)
{
    return IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MC_LINKLOCAL(a);
}

/* A sockaddr from the program, for ustack: an AF_INET6 one's
 * sin6_scope_id (a kernel interface index, as the program sees them) is
 * made ustack's zone (ust_if_nametoindex): the TAP's index names the
 * stack's device on it, lo's its loopback. Another index: ENODEV for a
 * link-local address (as Linux, which knows no such interface), ignored
 * (0) for others, as Linux ignores it. *out: a (unchanged) or tmp. 0, or
 * -1 with errno. */
static int scope_in(const struct sockaddr *a, socklen_t l, struct sockaddr_in6 *tmp,
                    const struct sockaddr **out)
{
    *out = a;
    if (!a || l < (socklen_t)sizeof(*tmp) || a->sa_family != AF_INET6)
        return 0;
    memcpy(tmp, a, sizeof(*tmp));
    uint32_t k = tmp->sin6_scope_id;
    if (k == 0)
        return 0;
    if (k == P.k_tap && P.u_tap)
        tmp->sin6_scope_id = P.u_tap;
    else if (k == P.k_lo && P.u_lo)
        tmp->sin6_scope_id = P.u_lo;
    else if (v6_link_scoped(&tmp->sin6_addr))
        return set_errno(ENODEV);
    else
        tmp->sin6_scope_id = 0;
    *out = (const struct sockaddr *)tmp;
    return 0;
}

/* The other way, for an address ustack wrote into a buffer of room bytes:
 * its zone becomes the kernel's interface index. (A link-local address
 * without one, which the core does not write, would be the TAP's.) */
static void scope_out(struct sockaddr *a, socklen_t room)
{
    struct sockaddr_in6 v;
    if (!a || room < (socklen_t)sizeof(v) || a->sa_family != AF_INET6)
        return;
    memcpy(&v, a, sizeof(v));
    if ((P.u_tap && v.sin6_scope_id == P.u_tap) ||
        (v.sin6_scope_id == 0 && v6_link_scoped(&v.sin6_addr)))
        v.sin6_scope_id = P.k_tap;
    else if (P.u_lo && v.sin6_scope_id == P.u_lo)
        v.sin6_scope_id = P.k_lo;
    else
        return;
    memcpy(a, &v, sizeof(v));
}

/* ---- waking and waiting ---- */

static void wake_fd(int fd)
{
    uint64_t one = 1;
    ssize_t n = P.real.write(fd, &one, sizeof(one));
    (void)n;
}

static void drain_fd(int fd)
{
    uint64_t v;
    ssize_t n = P.real.read(fd, &v, sizeof(v));
    (void)n;
}

static void pep_enqueue(struct watch *w)
{
    if (w->queued || w->disabled)
        return;
    w->queued = true;
    w->qnext = NULL;
    if (w->ep->qtail)
        w->ep->qtail->qnext = w;
    else
        w->ep->qhead = w;
    w->ep->qtail = w;
}

/* The threads a delivery wakes, each once: a thread waiting for several
 * of the sockets (a select over four streams) needs one write to its
 * eventfd, and each is a system call. The writes are made after P.mu is
 * released (wakes_flush), so a thread that wakes and takes P.mu at once
 * does not sleep again on it; a thread's eventfd lives as long as the
 * process, so the late write reaches it. */
#define PRE_WAKES 16
struct wakes {
    int fd[PRE_WAKES];
    int n;
};

static void wakes_add(struct wakes *w, int fd)
{
    for (int k = 0; k < w->n; k++) {
        if (w->fd[k] == fd)
            return;
    }
    if (w->n < PRE_WAKES)
        w->fd[w->n++] = fd;
    else
        wake_fd(fd); /* (more threads than that: at once, under P.mu) */
}

static void wakes_flush(struct wakes *w)
{
    for (int k = 0; k < w->n; k++)
        wake_fd(w->fd[k]);
    w->n = 0;
}

/* Passes what the stack reports on to the threads and epoll sets that wait
 * for it: the private eventfd of every thread waiting for one of the
 * sockets (noted in *wk, written by the caller after P.mu), and the queue
 * and wake eventfd of every epoll instance watching one (written here:
 * an instance's eventfd is closed with it). P.mu held. */
static void deliver(const struct ust_ready *r, int n, int self, struct wakes *wk)
{
    for (int i = 0; i < n; i++) {
        struct usock *u = by_handle(r[i].fd);
        if (!u)
            continue;
        for (struct wentry *e = u->waiters; e; e = e->next) {
            if (e->wfd != self) /* the driving thread looks again by itself */
                wakes_add(wk, e->wfd);
        }
        for (struct watch *w = u->watches; w; w = w->unext) {
            if (!w->queued && !w->disabled) {
                pep_enqueue(w);
                wake_fd(w->ep->wakefd);
            }
        }
    }
}

/* The driving thread's way (ust_runtime_set_ready_hooks): a wait that
 * reads the devices itself (drive_begin) delivers the news itself too, so
 * its own epoll set has the sockets queued when it looks again, without
 * the dispatcher's wake-up in between; and so does the stack thread in a
 * bulk transfer. The thread holds the stack's lock here, and a thread may
 * hold P.mu while it calls into the stack (harvest does): so P.mu is only
 * tried, and when it is taken, the dispatcher delivers as before. The
 * threads to wake are noted in this thread's tls_wakes, and woken by
 * deliver_flush once the stack's lock is released: a thread woken under
 * it would sleep again at once, on that lock (in a 4-stream receive,
 * 6,000 times a second). */
static __thread struct wakes tls_wakes;
static bool deliver_here(struct ust_stack *s, void *arg)
{
    (void)arg;
    if (pthread_mutex_trylock(&P.mu) != 0)
        return false;
    struct ust_ready r[64];
    int n;
    do {
        n = ust_ready(s, r, 64);
        deliver(r, n, tls_wfd, &tls_wakes);
    } while (n == 64);
    pthread_mutex_unlock(&P.mu);
    return true;
}

static void deliver_flush(void *arg)
{
    (void)arg;
    wakes_flush(&tls_wakes);
}

/* The dispatcher: what the stack reports, to the threads and epoll sets
 * that wait for it, unless the driving thread delivered it (above). */
static void *dispatch(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "ust-ready");
    struct ust_ready r[64];
    for (;;) {
        struct pollfd p[2] = {{.fd = P.efd, .events = POLLIN}, {.fd = P.dstop, .events = POLLIN}};
        if (P.real.ppoll(p, 2, NULL, NULL) < 0 && errno != EINTR)
            return NULL;
        if (p[1].revents)
            return NULL; /* the stack goes to a child (fork_handoff) */
        struct wakes wk = {.n = 0};
        int n;
        do {
            n = ust_ready(P.s, r, 64);
            pthread_mutex_lock(&P.mu);
            deliver(r, n, -1, &wk);
            pthread_mutex_unlock(&P.mu);
        } while (n == 64);
        wakes_flush(&wk);
    }
}

/* Driving (ust_runtime_drive_begin): a wait for ustack sockets also waits
 * for the stack's devices (at most PRE_DRIVE_FDS) and processes their
 * frames on this thread. drive_begin's count, or 0 (wait as usual). */
#define PRE_DRIVE_FDS 4
static int drive_begin(int *dfd)
{
    if (P.forked || !P.rt)
        return 0;
    int n = ust_runtime_drive_begin(P.rt, dfd, PRE_DRIVE_FDS);
    return n > 0 ? n : 0;
}

static void drive_end(int nd)
{
    if (nd > 0) {
        int e = errno;
        ust_runtime_drive_end(P.rt);
        errno = e;
    }
}

static void drive_cancelled(void *arg);

/* epoll_pwait for a driving thread: the kernel epoll set and the devices
 * in one ppoll, the frames processed here (their news queued on the
 * library's epoll instances), then the set's events without waiting.
 * *nd becomes 0 when the step gives the devices back. */
static int driven_epoll_wait(int epfd, struct epoll_event *evs, int max, int left,
                             const sigset_t *mask, const int *dfd, int *nd)
{
    struct pollfd pf[1 + PRE_DRIVE_FDS] = {{.fd = epfd, .events = POLLIN}};
    for (int d = 0; d < *nd; d++)
        pf[1 + d] = (struct pollfd){.fd = dfd[d], .events = POLLIN};
    struct timespec ts = {left / 1000, (long)(left % 1000) * 1000000};
    int k;
    pthread_cleanup_push(drive_cancelled, NULL);
    k = P.real.ppoll(pf, 1 + (nfds_t)*nd, left < 0 ? NULL : &ts, mask);
    if (k >= 0) {
        bool frames = false;
        for (int d = 0; d < *nd; d++)
            frames |= pf[1 + d].revents != 0;
        if (frames && !ust_runtime_drive_step(P.rt))
            *nd = 0;
        k = pf[0].revents ? P.real.epoll_pwait(epfd, evs, max, 0, NULL) : 0;
    }
    pthread_cleanup_pop(0);
    return k;
}

/* A thread cancelled inside its wait (ppoll and epoll_pwait are
 * cancellation points) must still give the devices up, or nobody would
 * read them again. */
static void drive_cancelled(void *arg)
{
    (void)arg;
    ust_runtime_drive_end(P.rt);
}

static int driven_ppoll(struct pollfd *k, nfds_t n, const struct timespec *ts, const sigset_t *mask,
                        int nd)
{
    if (nd == 0)
        return P.real.ppoll(k, n, ts, mask);
    int r;
    pthread_cleanup_push(drive_cancelled, NULL);
    r = P.real.ppoll(k, n, ts, mask);
    pthread_cleanup_pop(0);
    return r;
}

static int my_wfd(void)
{
    if (tls_wfd < 0)
        tls_wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return tls_wfd;
}

static int ms_left(const struct timespec *deadline)
{
    if (!deadline)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                   (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
    return ms <= 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static struct timespec after_ms(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* A poll over ustack sockets only, when some are ready already: their
 * events in fds[], and how many have some; 0 when none is ready (or the
 * set changed meanwhile), and the caller waits as usual. A bulk receive
 * finds data waiting at most of its polls: this way it costs one look
 * into the stack, not the two, the waiter list and the system call that
 * a wait takes. */
#define PRE_READY_NOW_MAX 64
static int ready_now(struct pollfd *fds, nfds_t n)
{
    struct pollfd uq[PRE_READY_NOW_MAX];
    if (n > PRE_READY_NOW_MAX)
        return 0;
    pthread_mutex_lock(&P.mu);
    for (nfds_t i = 0; i < n; i++) {
        struct usock *u = fds[i].fd >= 0 ? usock_of(fds[i].fd) : NULL;
        if (!u) {
            pthread_mutex_unlock(&P.mu);
            return 0;
        }
        uq[i] = (struct pollfd){.fd = u->h, .events = fds[i].events};
    }
    pthread_mutex_unlock(&P.mu);
    int ready = ust_poll(P.s, uq, n, 0);
    if (ready <= 0)
        return 0;
    for (nfds_t i = 0; i < n; i++)
        fds[i].revents = uq[i].revents;
    return ready;
}

/* poll(2) over a set that may mix ustack sockets and kernel descriptors.
 * timeout_ms < 0: no limit. */
static int mixed_poll(struct pollfd *fds, nfds_t n, int timeout_ms, const sigset_t *mask)
{
    unsigned nu = 0;
    for (nfds_t i = 0; i < n; i++)
        nu += fds[i].fd >= 0 && usock_of(fds[i].fd) != NULL;
    if (nu == 0 || P.forked) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
        return P.real.ppoll(fds, n, timeout_ms < 0 ? NULL : &ts, mask);
    }
    if (nu == n) {
        int ready = ready_now(fds, n);
        if (ready != 0)
            return ready;
    }
    int wfd = my_wfd();
    if (wfd < 0)
        return -1;
    int dfd[PRE_DRIVE_FDS], nd = 0;
    struct pollfd *k = malloc((n + 1 + PRE_DRIVE_FDS) * sizeof(*k));
    struct pollfd *uq = malloc(nu * sizeof(*uq));
    struct wentry *we = malloc(nu * sizeof(*we));
    struct usock **us = malloc(nu * sizeof(*us));
    int *where = malloc(n * sizeof(*where)); /* fds[i]: uq[where[i]], or k[-1 - where[i]] */
    int ret = -1;
    if (!k || !uq || !we || !us || !where) {
        errno = ENOMEM;
        goto out;
    }
    struct timespec dl = after_ms(timeout_ms < 0 ? 0 : timeout_ms);
    nd = drive_begin(dfd);
    for (;;) {
        /* Listen first, then look: a change after the look wakes wfd. */
        unsigned j = 0, nk = 0;
        pthread_mutex_lock(&P.mu);
        for (nfds_t i = 0; i < n; i++) {
            struct usock *u = fds[i].fd >= 0 ? usock_of(fds[i].fd) : NULL;
            if (!u || j == nu) { /* (j == nu: a socket opened meanwhile on a number in the set) */
                where[i] = -1 - (int)nk;
                k[nk++] = fds[i];
                continue;
            }
            where[i] = (int)j;
            us[j] = u;
            we[j] = (struct wentry){.next = u->waiters, .wfd = wfd};
            u->waiters = &we[j];
            uq[j] = (struct pollfd){.fd = u->h, .events = fds[i].events};
            j++;
        }
        pthread_mutex_unlock(&P.mu);
        int ready = ust_poll(P.s, uq, j, 0);
        k[nk] = (struct pollfd){.fd = wfd, .events = POLLIN};
        for (int d = 0; d < nd; d++)
            k[nk + 1 + d] = (struct pollfd){.fd = dfd[d], .events = POLLIN};
        int left = ready > 0 ? 0 : timeout_ms < 0 ? -1 : ms_left(&dl);
        struct timespec ts = {left / 1000, (long)(left % 1000) * 1000000};
        int r = driven_ppoll(k, nk + 1 + (nfds_t)nd, left < 0 ? NULL : &ts, mask, nd);
        int err = errno;
        bool frames = false;
        for (int d = 0; r > 0 && d < nd; d++) {
            if (k[nk + 1 + d].revents) {
                frames = true;
                r--; /* not the program's */
            }
        }
        if (frames && !ust_runtime_drive_step(P.rt)) /* the sockets' news, on this thread */
            nd = 0;                                  /* (a bulk transfer: no longer) */
        pthread_mutex_lock(&P.mu);
        for (unsigned x = 0; x < j; x++) {
            struct wentry **pp = &us[x]->waiters;
            while (*pp != &we[x])
                pp = &(*pp)->next;
            *pp = we[x].next;
            if (us[x]->closed && !us[x]->waiters)
                free(us[x]); /* closed while we waited: we were the last */
        }
        pthread_mutex_unlock(&P.mu);
        if (r < 0 && ready <= 0) {
            errno = err;
            goto out;
        }
        if (k[nk].revents)
            drain_fd(wfd);
        if (r > 0 || ready > 0 || frames) {
            /* Results in the caller's order; look again at ustack sockets
             * woken while we slept. */
            (void)ust_poll(P.s, uq, j, 0); /* fills uq[].revents */
            int total = 0;
            for (nfds_t i = 0; i < n; i++) {
                if (where[i] >= 0)
                    fds[i].revents = uq[where[i]].revents;
                else
                    fds[i].revents = r > 0 ? k[-1 - where[i]].revents : 0;
                total += fds[i].revents != 0;
            }
            if (total > 0) {
                ret = total;
                goto out;
            }
        }
        if (timeout_ms >= 0 && ms_left(&dl) == 0) {
            for (nfds_t i = 0; i < n; i++)
                fds[i].revents = 0;
            ret = 0;
            goto out;
        }
    }
out:
    drive_end(nd);
    free(k);
    free(uq);
    free(we);
    free(us);
    free(where);
    return ret;
}

/* Waits until fd (a ustack socket) may have events, for at most the
 * socket's timeout of that direction. 0 (try again), or -1: EINTR, or
 * EAGAIN when the timeout passed (as Linux's SO_RCVTIMEO). */
static int wait_for(int fd, struct usock *u, short events)
{
    struct timeval tv = {0, 0};
    socklen_t l = sizeof(tv);
    int name = (events & POLLIN) ? SO_RCVTIMEO : SO_SNDTIMEO;
    if (ust_getsockopt(P.s, u->h, SOL_SOCKET, name, &tv, &l) != 0)
        tv = (struct timeval){0, 0};
    int ms = tv.tv_sec || tv.tv_usec ? (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000) : -1;
    struct pollfd p = {.fd = fd, .events = events};
    int r = mixed_poll(&p, 1, ms, NULL);
    if (r < 0)
        return -1;
    return r == 0 ? set_errno(EAGAIN) : 0;
}

/* ---- socket, close, dup ---- */

/* Registers a new ustack socket under a fresh kernel descriptor. */
static int adopt(int h, int family, bool nonblock)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct usock *u = calloc(1, sizeof(*u));
    struct fdslot *sl = fd >= 0 ? slot_of(fd, true) : NULL;
    if (!sl || !u) {
        int e = fd < 0 ? errno : ENOMEM;
        if (fd >= 0)
            P.real.close(fd);
        free(u);
        ust_close(P.s, h);
        return set_errno(e == EMFILE || e == ENFILE ? e : ENOMEM);
    }
    u->h = h;
    u->family = family;
    u->refs = 1;
    u->nonblock = nonblock;
    pthread_mutex_lock(&P.mu);
    u->hnext = *hbucket(h);
    *hbucket(h) = u;
    atomic_store(&sl->u, u);
    pthread_mutex_unlock(&P.mu);
    return fd;
}

static void pep_free_locked(struct pep *ep);

/* Drops one descriptor's reference (lock held); the socket closes with
 * the last. Its epoll registrations go with it. */
static void usock_release_locked(struct usock *u)
{
    if (--u->refs > 0)
        return;
    while (u->watches) {
        struct watch *w = u->watches;
        u->watches = w->unext;
        struct pep *ep = w->ep;
        for (struct watch **pp = &ep->all; *pp; pp = &(*pp)->enext) {
            if (*pp == w) {
                *pp = w->enext;
                break;
            }
        }
        if (w->queued) {
            struct watch *prev = NULL;
            for (struct watch *q = ep->qhead; q; prev = q, q = q->qnext) {
                if (q == w) {
                    if (prev)
                        prev->qnext = q->qnext;
                    else
                        ep->qhead = q->qnext;
                    if (ep->qtail == q)
                        ep->qtail = prev;
                    break;
                }
            }
        }
        free(w);
    }
    for (struct usock **pp = hbucket(u->h); *pp; pp = &(*pp)->hnext) {
        if (*pp == u) {
            *pp = u->hnext;
            break;
        }
    }
    if (!P.forked)
        ust_close(P.s, u->h);
    if (u->waiters) {
        /* Threads wait on it: wake them; the last one to leave frees it.
         * They find the handle closed (POLLNVAL, EBADF). */
        u->closed = true;
        for (struct wentry *e = u->waiters; e; e = e->next)
            wake_fd(e->wfd);
        return;
    }
    free(u);
}

/* Forgets whatever this library kept for descriptor fd (lock held). */
static void forget_locked(int fd)
{
    struct fdslot *sl = slot_of(fd, false);
    if (!sl)
        return;
    struct usock *u = atomic_exchange(&sl->u, NULL);
    if (u)
        usock_release_locked(u);
    struct pep *ep = atomic_exchange(&sl->ep, NULL);
    if (ep)
        pep_free_locked(ep);
}

EXPORT int socket(int domain, int type, int protocol)
{
    if (tls_bringing_up || (domain != AF_INET && domain != AF_INET6))
        return P.real.socket(domain, type, protocol);
    int r = ustack_ready();
    if (r < 0)
        return -1;
    if (r == 0)
        return P.real.socket(domain, type, protocol);
    if (domain == AF_INET6 && !P.o.ipv6)
        return set_errno(EAFNOSUPPORT); /* USTACK_IPV6=off: as Linux with IPv6 off */
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base != SOCK_STREAM && base != SOCK_DGRAM)
        return set_errno(EPROTONOSUPPORT); /* raw sockets: not on ustack */
    int h = ust_socket(P.s, domain, base | SOCK_NONBLOCK, protocol);
    if (h < 0)
        return -1;
    return adopt(h, domain, (type & SOCK_NONBLOCK) != 0);
}

EXPORT int close(int fd)
{
    if ((usock_of(fd) || pep_of(fd)) && !vfork_child()) {
        pthread_mutex_lock(&P.mu);
        forget_locked(fd);
        pthread_mutex_unlock(&P.mu);
    }
    return P.real.close(fd);
}

/* fork. By default the stack stays with the parent: in the child (the
 * atfork handler) inherited ustack sockets fail with EOPNOTSUPP. With
 * USTACK_FORK=child the first fork hands the whole stack to the child,
 * as a server's master process hands its listening sockets to the worker
 * it forks: the parent ends its dispatcher and stops (joins) the stack
 * thread, so that no lock is held and the stack's memory is consistent
 * when it is copied; the child starts a stack thread and a dispatcher of
 * its own on its copy (the TAP descriptor is inherited), and the parent's
 * ustack sockets then fail with EOPNOTSUPP (close still releases their
 * descriptors). Later forks, in either process, are plain ones. No other
 * thread of the program may be inside a call on a ustack socket then
 * (nginx's master forks from its only thread). */
static pid_t fork_handoff(void)
{
    P.fork_child = false;
    wake_fd(P.dstop);
    pthread_join(P.dispatcher, NULL);
    drain_fd(P.dstop);
    ust_runtime_stop(P.rt);
    P.rt = NULL;
    pthread_mutex_lock(&P.mu);
    pid_t pid = P.real.fork();
    int ferr = errno;
    pthread_mutex_unlock(&P.mu);
    if (pid > 0) {
        P.forked = true; /* the stack is the child's now */
        app_logf(UST_LOG_INFO,
                 "USTACK_FORK=child: the stack is child %d's now; this process's sockets fail "
                 "with EOPNOTSUPP",
                 (int)pid);
        return pid;
    }
    P.forked = false; /* the child (the atfork handler said otherwise), or fork failed */
    P.pid = getpid();
    int e = start_threads(true);
    if (e != 0) {
        say("libustack-preload: cannot restart the stack %s: %s; its sockets fail with "
            "EOPNOTSUPP\n",
            pid == 0 ? "in the forked child" : "after a failed fork", strerror(e));
        P.forked = true;
    } else if (pid == 0) {
        app_logf(UST_LOG_DEBUG, "USTACK_FORK=child: the stack's threads run again in child %d",
                 (int)P.pid);
    }
    errno = ferr;
    return pid;
}

EXPORT pid_t fork(void)
{
    if (P.fork_child && P.state == 1 && !P.forked)
        return fork_handoff();
    return P.real.fork();
}

/* close_range(2) and closefrom(3) close ustack sockets in their range as
 * close does (CLOSE_RANGE_CLOEXEC: they are close-on-exec already), then
 * the kernel's descriptors. glibc's closefrom calls its close_range
 * inside libc, past this library: both are here. */
static void forget_range(unsigned first, unsigned last)
{
    if (first >= FD_CHUNK * FD_CHUNKS)
        return;
    if (last >= FD_CHUNK * FD_CHUNKS)
        last = FD_CHUNK * FD_CHUNKS - 1;
    pthread_mutex_lock(&P.mu);
    for (unsigned c = first / FD_CHUNK; c <= last / FD_CHUNK; c++) {
        if (!atomic_load(&P.chunk[c]))
            continue; /* no ustack socket or epoll shadow ever had a number here */
        unsigned lo = c * FD_CHUNK > first ? c * FD_CHUNK : first;
        unsigned hi = c * FD_CHUNK + FD_CHUNK - 1 < last ? c * FD_CHUNK + FD_CHUNK - 1 : last;
        for (unsigned fd = lo; fd <= hi; fd++)
            forget_locked((int)fd);
    }
    pthread_mutex_unlock(&P.mu);
}

static int real_close_range(unsigned first, unsigned last, int flags)
{
    if (P.real.close_range)
        return P.real.close_range(first, last, flags);
    return (int)syscall(SYS_close_range, first, last, flags);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (first > last)
        return set_errno(EINVAL);
    if (!(flags & CLOSE_RANGE_CLOEXEC) && !vfork_child())
        forget_range(first, last);
    return real_close_range(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
    unsigned first = lowfd < 0 ? 0 : (unsigned)lowfd;
    if (!vfork_child())
        forget_range(first, ~0U);
    if (P.real.closefrom) {
        P.real.closefrom(lowfd);
        return;
    }
    if (real_close_range(first, ~0U, 0) < 0) {
        for (int fd = (int)first; fd < FD_CHUNK * FD_CHUNKS; fd++)
            P.real.close(fd); /* no close_range: one by one, as glibc falls back */
    }
}

/* dup and friends: the new number shares the socket. how: one of these,
 * or fcntl's F_DUPFD / F_DUPFD_CLOEXEC (newfd: the lowest number). */
#define DUP_PLAIN (-1)
#define DUP_2 (-2)
#define DUP_3 (-3)
static int dup_onto(int oldfd, int newfd, int how, int flags)
{
    struct usock *u = usock_of(oldfd);
    if ((how == DUP_2 || how == DUP_3) && newfd >= 0 && newfd != oldfd &&
        (usock_of(newfd) || pep_of(newfd)) && !vfork_child()) {
        pthread_mutex_lock(&P.mu);
        forget_locked(newfd); /* dup2 closes what newfd was */
        pthread_mutex_unlock(&P.mu);
    }
    int r;
    switch (how) {
    case DUP_PLAIN: r = P.real.dup(oldfd); break;
    case DUP_2: r = P.real.dup2(oldfd, newfd); break;
    case DUP_3: r = P.real.dup3(oldfd, newfd, flags); break;
    default: r = P.real.fcntl(oldfd, how, newfd); break; /* F_DUPFD, F_DUPFD_CLOEXEC */
    }
    if (r < 0 || !u || r == oldfd || vfork_child())
        return r;
    struct fdslot *sl = slot_of(r, true);
    if (!sl) {
        P.real.close(r);
        return set_errno(ENOMEM);
    }
    P.real.fcntl(r, F_SETFD, FD_CLOEXEC); /* ustack sockets never cross exec */
    pthread_mutex_lock(&P.mu);
    u->refs++;
    atomic_store(&sl->u, u);
    pthread_mutex_unlock(&P.mu);
    return r;
}

EXPORT int dup(int fd) { return dup_onto(fd, -1, DUP_PLAIN, 0); }
EXPORT int dup2(int oldfd, int newfd) { return dup_onto(oldfd, newfd, DUP_2, 0); }
EXPORT int dup3(int oldfd, int newfd, int flags) { return dup_onto(oldfd, newfd, DUP_3, flags); }

/* ---- the socket calls ---- */

/* Declares u, the ustack socket behind fd, and returns kernel_call for a
 * kernel descriptor (u is a declarator and kernel_call a statement's
 * tail: neither can be parenthesised). */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define USOCK_OR(fd, u, kernel_call)                                                               \
    bool dead_;                                                                                    \
    struct usock *u = live(fd, &dead_);                                                            \
    if (dead_)                                                                                     \
        return set_errno(EOPNOTSUPP);                                                              \
    if (!u)                                                                                        \
    return kernel_call
/* NOLINTEND(bugprone-macro-parentheses) */

EXPORT int bind(int fd, const struct sockaddr *a, socklen_t l)
{
    USOCK_OR(fd, u, P.real.bind(fd, a, l));
    struct sockaddr_in6 tmp;
    if (scope_in(a, l, &tmp, &a) < 0)
        return -1;
    v6_settle(u);
    return ust_bind(P.s, u->h, a, l);
}

EXPORT int listen(int fd, int backlog)
{
    USOCK_OR(fd, u, P.real.listen(fd, backlog));
    v6_settle(u);
    return ust_listen(P.s, u->h, backlog);
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
    USOCK_OR(fd, u, P.real.accept4(fd, a, l, flags));
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return set_errno(EINVAL);
    socklen_t room = a && l ? *l : 0;
    for (;;) {
        int h = ust_accept4(P.s, u->h, a, l, SOCK_NONBLOCK);
        if (h >= 0) {
            scope_out(a, room);
            return adopt(h, u->family, (flags & SOCK_NONBLOCK) != 0);
        }
        if (errno != EAGAIN || u->nonblock || wait_for(fd, u, POLLIN) < 0)
            return -1;
    }
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l) { return accept4(fd, a, l, 0); }

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t l)
{
    USOCK_OR(fd, u, P.real.connect(fd, a, l));
    struct sockaddr_in6 tmp;
    if (scope_in(a, l, &tmp, &a) < 0)
        return -1;
    v6_settle(u);
    int r = ust_connect(P.s, u->h, a, l);
    if (r == 0 || errno != EINPROGRESS || u->nonblock)
        return r;
    /* Blocking: wait for the handshake's end (SO_SNDTIMEO bounds it). */
    for (;;) {
        struct pollfd p = {.fd = u->h, .events = POLLOUT};
        if (ust_poll(P.s, &p, 1, 0) > 0)
            break;
        if (wait_for(fd, u, POLLOUT) < 0)
            return errno == EAGAIN ? set_errno(EINPROGRESS) : -1;
    }
    int err = 0;
    socklen_t el = sizeof(err);
    if (ust_getsockopt(P.s, u->h, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        return -1;
    return err ? set_errno(err) : 0;
}

/* SIGPIPE for a write to a closed connection, as Linux sends it. */
static ssize_t epipe(ssize_t r, int flags)
{
    if (r < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL)) {
        pthread_kill(pthread_self(), SIGPIPE);
        errno = EPIPE;
    }
    return r;
}

/* After a large send (a bulk sender's: PRE_DRIVE_SEND_MIN bytes or more):
 * the frames waiting on the devices (the stream's ACKs), on this thread,
 * if it may drive them (drive_begin), rather than on the stack thread that
 * would be woken for each and take the lock from this one between sends.
 * The devices stay this thread's for the linger, so a program that sends
 * in a loop takes its ACKs between its sends. A small send (a server's
 * response) would mostly find nothing there and pay a read for it. */
#define PRE_DRIVE_SEND_MIN 16384
static void drive_between_sends(void)
{
    int dfd[PRE_DRIVE_FDS];
    int nd = drive_begin(dfd);
    if (nd > 0) {
        ust_runtime_drive_step(P.rt);
        drive_end(nd);
    }
}

static ssize_t u_sendto(int fd, struct usock *u, const void *buf, size_t len, int flags,
                        const struct sockaddr *to, socklen_t tl)
{
    bool nb = u->nonblock || (flags & MSG_DONTWAIT);
    int f = (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_DONTWAIT | MSG_NOSIGNAL;
    struct sockaddr_in6 tmp;
    if (scope_in(to, tl, &tmp, &to) < 0)
        return -1;
    v6_settle(u);
    size_t done = 0;
    for (;;) {
        ssize_t r = ust_sendto(P.s, u->h, (const char *)buf + done, len - done, f, to, tl);
        if (r >= PRE_DRIVE_SEND_MIN)
            drive_between_sends();
        if (r >= 0) {
            done += (size_t)r;
            if (done == len || nb || to)
                return (ssize_t)done;
            continue; /* a blocking stream send queues it all */
        }
        if (errno != EAGAIN || nb)
            return done ? (ssize_t)done : epipe(-1, flags);
        if (wait_for(fd, u, POLLOUT) < 0)
            return done ? (ssize_t)done : -1;
    }
}

static ssize_t u_recvfrom(int fd, struct usock *u, void *buf, size_t len, int flags,
                          struct sockaddr *from, socklen_t *fl)
{
    bool nb = u->nonblock || (flags & MSG_DONTWAIT);
    bool all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
    int f = (flags & ~(MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC)) | MSG_DONTWAIT;
    socklen_t room = from && fl ? *fl : 0;
    size_t done = 0;
    bool got = false; /* ustack wrote from: its zone, once, at the end */
    ssize_t ret;
    for (;;) {
        ssize_t r = ust_recvfrom(P.s, u->h, (char *)buf + done, len - done, f, from, fl);
        got = got || r >= 0;
        if (r > 0 && all && done + (size_t)r < len) {
            done += (size_t)r;
            continue;
        }
        if (r >= 0) {
            ret = (ssize_t)done + r;
            break;
        }
        if (errno != EAGAIN || nb || wait_for(fd, u, POLLIN) < 0) {
            ret = done ? (ssize_t)done : -1;
            break;
        }
    }
    if (got)
        scope_out(from, room);
    return ret;
}

EXPORT ssize_t sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *to,
                      socklen_t tl)
{
    USOCK_OR(fd, u, P.real.sendto(fd, b, n, fl, to, tl));
    return u_sendto(fd, u, b, n, fl, to, tl);
}

EXPORT ssize_t send(int fd, const void *b, size_t n, int fl)
{
    return sendto(fd, b, n, fl, NULL, 0);
}

EXPORT ssize_t recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *al)
{
    USOCK_OR(fd, u, P.real.recvfrom(fd, b, n, fl, a, al));
    return u_recvfrom(fd, u, b, n, fl, a, al);
}

EXPORT ssize_t recv(int fd, void *b, size_t n, int fl)
{
    return recvfrom(fd, b, n, fl, NULL, NULL);
}

EXPORT ssize_t read(int fd, void *b, size_t n)
{
    USOCK_OR(fd, u, P.real.read(fd, b, n));
    return u_recvfrom(fd, u, b, n, 0, NULL, NULL);
}

EXPORT ssize_t write(int fd, const void *b, size_t n)
{
    USOCK_OR(fd, u, P.real.write(fd, b, n));
    return u_sendto(fd, u, b, n, 0, NULL, 0);
}

/* Fortified programs (_FORTIFY_SOURCE, as Debian builds them) call these;
 * glibc declares them only for its own headers' use. Their names are
 * glibc's, reserved to the implementation: this library stands in for it. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
ssize_t __read_chk(int fd, void *b, size_t n, size_t cap);
ssize_t __recv_chk(int fd, void *b, size_t n, size_t cap, int fl);
ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t cap, int fl, struct sockaddr *a,
                       socklen_t *al);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t cap);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m,
                size_t cap);
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
EXPORT ssize_t __read_chk(int fd, void *b, size_t n, size_t cap)
{
    if (n > cap)
        abort();
    return read(fd, b, n);
}

EXPORT ssize_t __recv_chk(int fd, void *b, size_t n, size_t cap, int fl)
{
    if (n > cap)
        abort();
    return recv(fd, b, n, fl);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t cap, int fl, struct sockaddr *a,
                              socklen_t *al)
{
    if (n > cap)
        abort();
    return recvfrom(fd, b, n, fl, a, al);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

static size_t iov_len(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Vectored I/O through one bounce buffer: a datagram is one datagram, and
 * a stream write is one (blocking) send. */
static ssize_t u_sendmsg(int fd, struct usock *u, const struct msghdr *m, int flags)
{
    if (m->msg_iovlen > IOV_MAX || (m->msg_iovlen && !m->msg_iov))
        return set_errno(EINVAL);
    if (m->msg_iovlen == 1)
        return u_sendto(fd, u, m->msg_iov[0].iov_base, m->msg_iov[0].iov_len, flags, m->msg_name,
                        m->msg_namelen);
    size_t len = iov_len(m->msg_iov, (int)m->msg_iovlen);
    char *b = malloc(len ? len : 1);
    if (!b)
        return set_errno(ENOMEM);
    size_t off = 0;
    for (size_t i = 0; i < m->msg_iovlen; i++) {
        memcpy(b + off, m->msg_iov[i].iov_base, m->msg_iov[i].iov_len);
        off += m->msg_iov[i].iov_len;
    }
    ssize_t r = u_sendto(fd, u, b, len, flags, m->msg_name, m->msg_namelen);
    free(b);
    return r;
}

static ssize_t u_recvmsg(int fd, struct usock *u, struct msghdr *m, int flags)
{
    if (m->msg_iovlen > IOV_MAX || (m->msg_iovlen && !m->msg_iov))
        return set_errno(EINVAL);
    size_t len = iov_len(m->msg_iov, (int)m->msg_iovlen);
    char *b = m->msg_iovlen == 1 ? m->msg_iov[0].iov_base : malloc(len ? len : 1);
    if (!b)
        return set_errno(ENOMEM);
    socklen_t nl = m->msg_name ? m->msg_namelen : 0;
    ssize_t r = u_recvfrom(fd, u, b, len, flags, m->msg_name, m->msg_name ? &nl : NULL);
    if (r >= 0) {
        m->msg_namelen = nl;
        m->msg_controllen = 0; /* no ancillary data */
        m->msg_flags = 0;
        if (m->msg_iovlen != 1) {
            size_t off = 0;
            for (size_t i = 0; i < m->msg_iovlen && off < (size_t)r; i++) {
                size_t c = m->msg_iov[i].iov_len;
                if (c > (size_t)r - off)
                    c = (size_t)r - off;
                memcpy(m->msg_iov[i].iov_base, b + off, c);
                off += c;
            }
        }
    }
    if (b != (m->msg_iovlen == 1 ? m->msg_iov[0].iov_base : NULL))
        free(b);
    return r;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{
    USOCK_OR(fd, u, P.real.sendmsg(fd, m, fl));
    return u_sendmsg(fd, u, m, fl);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int fl)
{
    USOCK_OR(fd, u, P.real.recvmsg(fd, m, fl));
    return u_recvmsg(fd, u, m, fl);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    USOCK_OR(fd, u, P.real.writev(fd, iov, n));
    struct msghdr m = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)n};
    return n < 0 ? set_errno(EINVAL) : u_sendmsg(fd, u, &m, 0);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    USOCK_OR(fd, u, P.real.readv(fd, iov, n));
    struct msghdr m = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)n};
    return n < 0 ? set_errno(EINVAL) : u_recvmsg(fd, u, &m, 0);
}

EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int fl)
{
    USOCK_OR(fd, u, P.real.sendmmsg(fd, v, n, fl));
    unsigned i;
    for (i = 0; i < n; i++) {
        ssize_t r = u_sendmsg(fd, u, &v[i].msg_hdr, i ? fl | MSG_DONTWAIT : fl);
        if (r < 0)
            return i ? (int)i : -1;
        v[i].msg_len = (unsigned)r;
    }
    return (int)i;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t)
{
    USOCK_OR(fd, u, P.real.recvmmsg(fd, v, n, fl, t));
    (void)t; /* as Linux, the timeout is only looked at between datagrams */
    unsigned i;
    for (i = 0; i < n; i++) {
        int f = i ? fl | MSG_DONTWAIT : fl;
        if (fl & MSG_WAITFORONE)
            f = i ? (fl & ~MSG_WAITFORONE) | MSG_DONTWAIT : fl & ~MSG_WAITFORONE;
        ssize_t r = u_recvmsg(fd, u, &v[i].msg_hdr, f);
        if (r < 0)
            return i ? (int)i : -1;
        v[i].msg_len = (unsigned)r;
    }
    return (int)i;
}

EXPORT int shutdown(int fd, int how)
{
    USOCK_OR(fd, u, P.real.shutdown(fd, how));
    return ust_shutdown(P.s, u->h, how);
}

EXPORT int getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
    USOCK_OR(fd, u, P.real.getsockopt(fd, level, name, v, l));
    if (level == SOL_SOCKET && name == SO_DOMAIN && v && l && *l >= sizeof(int)) {
        int d = u->family;
        memcpy(v, &d, sizeof(d));
        *l = sizeof(d);
        return 0;
    }
    return ust_getsockopt(P.s, u->h, level, name, v, l);
}

EXPORT int setsockopt(int fd, int level, int name, const void *v, socklen_t l)
{
    USOCK_OR(fd, u, P.real.setsockopt(fd, level, name, v, l));
    return ust_setsockopt(P.s, u->h, level, name, v, l);
}

EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
    USOCK_OR(fd, u, P.real.getsockname(fd, a, l));
    socklen_t room = a && l ? *l : 0;
    int r = ust_getsockname(P.s, u->h, a, l);
    if (r == 0)
        scope_out(a, room);
    return r;
}

EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
    USOCK_OR(fd, u, P.real.getpeername(fd, a, l));
    socklen_t room = a && l ? *l : 0;
    int r = ust_getpeername(P.s, u->h, a, l);
    if (r == 0)
        scope_out(a, room);
    return r;
}

static int u_fcntl(int fd, int cmd, long arg)
{
    struct usock *u = usock_of(fd);
    if (!u || cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
            return dup_onto(fd, (int)arg, cmd, 0);
        return P.real.fcntl(fd, cmd, arg);
    }
    switch (cmd) {
    case F_GETFL: return O_RDWR | (u->nonblock ? O_NONBLOCK : 0);
    case F_SETFL: u->nonblock = (arg & O_NONBLOCK) != 0; return 0;
    case F_GETFD: return u->cloexec_off ? 0 : FD_CLOEXEC;
    case F_SETFD: u->cloexec_off = !(arg & FD_CLOEXEC); return 0; /* exec closes it anyway */
    default: return set_errno(EINVAL);
    }
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return u_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return u_fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    USOCK_OR(fd, u, P.real.ioctl(fd, req, arg));
    if (!arg)
        return set_errno(EFAULT);
    if (req == FIONBIO) {
        int on;
        memcpy(&on, arg, sizeof(on));
        u->nonblock = on != 0;
        return 0;
    }
    if (req == FIONREAD) {
        /* What a peek sees: a datagram's length, or up to 64 KiB of a stream. */
        char buf[65536];
        ssize_t r = ust_recv(P.s, u->h, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
        int v = r > 0 ? (int)r : 0;
        if (r < 0 && errno != EAGAIN)
            return -1;
        memcpy(arg, &v, sizeof(v));
        return 0;
    }
    return set_errno(ENOTTY);
}

/* sendfile to a ustack socket: read the file, send what was read. */
EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    if (usock_of(in))
        return set_errno(EINVAL); /* as Linux: the source must be a file */
    USOCK_OR(out, u, P.real.sendfile(out, in, off, count));
    char buf[65536];
    size_t want = count < sizeof(buf) ? count : sizeof(buf);
    ssize_t n = off ? pread(in, buf, want, *off) : P.real.read(in, buf, want);
    if (n <= 0)
        return n;
    ssize_t w = u_sendto(out, u, buf, (size_t)n, 0, NULL, 0);
    if (w <= 0)
        return w;
    if (off)
        *off += w;
    else if (w < n)
        lseek(in, (off_t)(w - n), SEEK_CUR); /* give back what was not sent */
    return w;
}

EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
    return sendfile(out, in, off, count);
}

/* ---- poll and select ---- */

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return mixed_poll(fds, n, timeout < 0 ? -1 : timeout, NULL);
}

/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t cap)
{
    if (n * sizeof(*fds) > cap)
        abort();
    return poll(fds, n, timeout);
}

static int ts_ms(const struct timespec *t)
{
    if (!t)
        return -1;
    long long ms = (long long)t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m)
{
    return mixed_poll(fds, n, ts_ms(t), m);
}

/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m,
                       size_t cap)
{
    if (n * sizeof(*fds) > cap)
        abort();
    return ppoll(fds, n, t, m);
}

static int mixed_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int ms, const sigset_t *m)
{
    bool any = false;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE && !any; fd++)
        any = usock_of(fd) &&
              ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e)));
    if (!any) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        return P.real.pselect(nfds, r, w, e, ms < 0 ? NULL : &ts, m);
    }
    if (nfds > FD_SETSIZE)
        nfds = FD_SETSIZE;
    struct pollfd *p = calloc((size_t)nfds, sizeof(*p));
    if (!p)
        return set_errno(ENOMEM);
    nfds_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) |
                           (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
                           (e && FD_ISSET(fd, e) ? POLLPRI : 0));
        if (ev)
            p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int k = mixed_poll(p, n, ms, m);
    if (k < 0) {
        free(p);
        return -1;
    }
    for (nfds_t i = 0; i < n; i++) {
        if (p[i].revents & POLLNVAL) {
            free(p);
            return set_errno(EBADF);
        }
    }
    if (r)
        FD_ZERO(r);
    if (w)
        FD_ZERO(w);
    if (e)
        FD_ZERO(e);
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        short re = p[i].revents;
        if (r && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN))
            FD_SET(p[i].fd, r), count++;
        if (w && (re & (POLLOUT | POLLERR)) && (p[i].events & POLLOUT))
            FD_SET(p[i].fd, w), count++;
        if (e && (re & POLLPRI))
            FD_SET(p[i].fd, e), count++;
    }
    free(p);
    return count;
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    int ms = tv ? (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000) : -1;
    int k = mixed_select(nfds, r, w, e, ms, NULL);
    if (tv && k >= 0 && k == 0)
        *tv = (struct timeval){0, 0}; /* Linux updates it; 0 once it expired */
    return k;
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
                   const sigset_t *m)
{
    return mixed_select(nfds, r, w, e, ts_ms(t), m);
}

/* ---- epoll ---- */

static void pep_free_locked(struct pep *ep)
{
    while (ep->all) {
        struct watch *w = ep->all;
        ep->all = w->enext;
        for (struct watch **pp = &w->u->watches; *pp; pp = &(*pp)->unext) {
            if (*pp == w) {
                *pp = w->unext;
                break;
            }
        }
        free(w);
    }
    P.real.close(ep->wakefd);
    free(ep);
}

/* The shadow of epoll instance epfd, made on first use (lock held). */
static struct pep *pep_make_locked(int epfd)
{
    struct fdslot *sl = slot_of(epfd, true);
    if (!sl)
        return NULL;
    struct pep *ep = atomic_load(&sl->ep);
    if (ep)
        return ep;
    ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    ep->epfd = epfd;
    ep->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = PEP_MAGIC};
    if (ep->wakefd < 0 || P.real.epoll_ctl(epfd, EPOLL_CTL_ADD, ep->wakefd, &ev) < 0) {
        if (ep->wakefd >= 0)
            P.real.close(ep->wakefd);
        free(ep);
        return NULL;
    }
    atomic_store(&sl->ep, ep);
    return ep;
}

static struct watch *watch_find(struct pep *ep, int fd)
{
    struct watch *w = ep ? ep->all : NULL;
    while (w && w->fd != fd)
        w = w->enext;
    return w;
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    bool dead;
    struct usock *u = live(fd, &dead);
    if (dead)
        return set_errno(EOPNOTSUPP);
    if (!u)
        return P.real.epoll_ctl(epfd, op, fd, ev);
    if (epfd == fd)
        return set_errno(EINVAL);
    if (op != EPOLL_CTL_DEL && !ev)
        return set_errno(EFAULT);
    /* epfd must be an epoll instance: ask the kernel with a harmless
     * probe, removing fd's eventfd, which it never holds (ENOENT). */
    struct epoll_event none = {0};
    if (P.real.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &none) == 0 || errno != ENOENT)
        return errno == 0 ? set_errno(EINVAL) : -1;
    pthread_mutex_lock(&P.mu);
    struct pep *ep = op == EPOLL_CTL_DEL ? pep_of(epfd) : pep_make_locked(epfd);
    struct watch *w = watch_find(ep, fd);
    int r = 0;
    if (!ep && op != EPOLL_CTL_DEL) {
        r = set_errno(ENOMEM);
    } else if (op == EPOLL_CTL_ADD) {
        if (w) {
            r = set_errno(EEXIST);
        } else if (!(w = calloc(1, sizeof(*w)))) {
            r = set_errno(ENOMEM);
        } else {
            *w = (struct watch){.ep = ep, .u = u, .fd = fd, .events = ev->events, .data = ev->data};
            w->unext = u->watches, u->watches = w;
            w->enext = ep->all, ep->all = w;
            pep_enqueue(w); /* it may be ready already */
            wake_fd(ep->wakefd);
        }
    } else if (op == EPOLL_CTL_MOD) {
        if (!w) {
            r = set_errno(ENOENT);
        } else {
            w->events = ev->events;
            w->data = ev->data;
            w->disabled = false;
            pep_enqueue(w);
            wake_fd(ep->wakefd);
        }
    } else if (op == EPOLL_CTL_DEL) {
        if (!w || !ep) {
            r = set_errno(ENOENT);
        } else {
            for (struct watch **pp = &ep->all; *pp; pp = &(*pp)->enext) {
                if (*pp == w) {
                    *pp = w->enext;
                    break;
                }
            }
            for (struct watch **pp = &u->watches; *pp; pp = &(*pp)->unext) {
                if (*pp == w) {
                    *pp = w->unext;
                    break;
                }
            }
            struct watch *prev = NULL;
            for (struct watch *q = ep->qhead; q; prev = q, q = q->qnext) {
                if (q == w) {
                    if (prev)
                        prev->qnext = q->qnext;
                    else
                        ep->qhead = q->qnext;
                    if (ep->qtail == q)
                        ep->qtail = prev;
                    break;
                }
            }
            free(w);
        }
    } else {
        r = set_errno(EINVAL);
    }
    pthread_mutex_unlock(&P.mu);
    return r;
}

/* Takes ready ustack sockets off ep's queue into evs, as the kernel's
 * ready list works: level-triggered ones go back on the queue to be looked
 * at again next time, edge-triggered ones wait for the next change,
 * one-shot ones are disabled until EPOLL_CTL_MOD. */
static int harvest(struct pep *ep, struct epoll_event *evs, int max)
{
    int n = 0;
    pthread_mutex_lock(&P.mu);
    struct watch *stop = ep->qtail; /* each once per call */
    while (n < max && ep->qhead) {
        struct watch *w = ep->qhead;
        ep->qhead = w->qnext;
        if (!ep->qhead)
            ep->qtail = NULL;
        w->queued = false;
        struct pollfd p = {
            .fd = w->u->h,
            .events = (short)(w->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP))};
        if (ust_poll(P.s, &p, 1, 0) > 0) {
            uint32_t got = (uint32_t)p.revents &
                           (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP);
            if (got) {
                evs[n].events = got;
                evs[n].data = w->data;
                n++;
                if (w->events & EPOLLONESHOT)
                    w->disabled = true;
                else if (!(w->events & EPOLLET))
                    pep_enqueue(w);
            }
        }
        if (w == stop)
            break;
    }
    pthread_mutex_unlock(&P.mu);
    return n;
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
                       const sigset_t *mask)
{
    struct pep *ep = pep_of(epfd);
    if (!ep || max <= 0 || !evs)
        return P.real.epoll_pwait(epfd, evs, max, timeout, mask);
    struct timespec dl = after_ms(timeout < 0 ? 0 : timeout);
    int dfd[PRE_DRIVE_FDS];
    int nd = drive_begin(dfd);
    for (;;) {
        drain_fd(ep->wakefd); /* before looking: a later change wakes it again */
        int n = P.forked ? 0 : harvest(ep, evs, max); /* (no stack here: nothing ready) */
        int left = n > 0 ? 0 : timeout < 0 ? -1 : ms_left(&dl);
        int k = nd > 0 ? driven_epoll_wait(epfd, evs + n, max - n, left, mask, dfd, &nd)
                       : P.real.epoll_pwait(epfd, evs + n, max - n, left, mask);
        if (k < 0) {
            drive_end(nd);
            return n > 0 ? n : -1;
        }
        int out = n;
        for (int i = n; i < n + k; i++) {
            if (evs[i].data.u64 != PEP_MAGIC)
                evs[out++] = evs[i];
        }
        if (out > 0 || (timeout >= 0 && ms_left(&dl) == 0)) {
            drive_end(nd);
            return out;
        }
    }
}

EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
    return epoll_pwait(epfd, evs, max, timeout, NULL);
}
