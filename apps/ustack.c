/* ustack: the runner. Brings a stack up on a TAP device and serves until
 * SIGINT or SIGTERM; SIGUSR1 prints the counters. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ustack/runtime.h"
#include "ustack/stack.h"

#define DEFAULT_TAP "tap0"
#define DEFAULT_ADDR "192.0.2.2/24"
#define DEFAULT_GATEWAY "192.0.2.1"

struct options {
    const char *tap;
    ust_ip4_t addr;
    unsigned prefix_len;
    ust_ip4_t gateway; /* 0: none */
    uint8_t mac[6];
    int mac_set;
    const char *pcap;
    enum ust_log_level log;
    uint64_t seed;
    int seed_set;
};

static enum ust_log_level app_level = UST_LOG_INFO;

__attribute__((format(printf, 5, 6))) static void app_log(enum ust_log_level lvl, const char *func,
                                                          const char *file, int line,
                                                          const char *fmt, ...)
{
    if (app_level < lvl)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ust_log_stderr(NULL, lvl, func, file, line, msg);
}
#define logf(lvl, ...) app_log(lvl, __func__, __FILE__, __LINE__, __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ustack [OPTIONS]\n"
            "\n"
            "Runs the ustack TCP/IP stack on a Linux TAP device until SIGINT or SIGTERM.\n"
            "The stack answers ARP and ping on its address. SIGUSR1 prints the counters;\n"
            "they are also printed on exit.\n"
            "\n"
            "Options:\n"
            "  -t, --tap NAME        TAP device to use (default %s). An existing device is\n"
            "                        used as it is; a missing one is created (needs root or\n"
            "                        CAP_NET_ADMIN), but then the host side has no address:\n"
            "                        prefer `make tap`, which creates it with 192.0.2.1/24.\n"
            "  -a, --addr A.B.C.D/N  the stack's address and prefix length (default %s)\n"
            "  -g, --gateway A.B.C.D default gateway, or \"none\" (default %s)\n"
            "  -m, --mac MAC         the stack's MAC, e.g. 02:00:00:00:00:02 (default:\n"
            "                        02:00 followed by the four bytes of the address)\n"
            "  -p, --pcap FILE       write every frame sent and received to FILE (pcap)\n"
            "  -l, --log LEVEL       error, warn, info, debug or trace (default: $USTACK_LOG,\n"
            "                        else info). trace prints every frame's headers.\n"
            "  -s, --seed N          seed for the stack's random numbers (default: random)\n"
            "  -h, --help            show this help\n"
            "\n"
            "Example:\n"
            "  make tap && build/bin/ustack        # then: ping 192.0.2.2\n",
            DEFAULT_TAP, DEFAULT_ADDR, DEFAULT_GATEWAY);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"tap", required_argument, NULL, 't'},  {"addr", required_argument, NULL, 'a'},
        {"gateway", required_argument, NULL, 'g'}, {"mac", required_argument, NULL, 'm'},
        {"pcap", required_argument, NULL, 'p'}, {"log", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *addr = DEFAULT_ADDR, *gateway = DEFAULT_GATEWAY;
    memset(o, 0, sizeof(*o));
    o->tap = DEFAULT_TAP;
    o->log = UST_LOG_INFO;
    const char *env = getenv("USTACK_LOG");
    if (env && *env && ust_log_level_parse(env, &o->log) != 0) {
        fprintf(stderr, "ustack: USTACK_LOG=%s is not a level (error, warn, info, debug, trace)\n", env);
        return -1;
    }
    int c;
    while ((c = getopt_long(argc, argv, "t:a:g:m:p:l:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (strlen(optarg) == 0 || strlen(optarg) >= UST_DEV_NAME_MAX) {
                fprintf(stderr, "ustack: --tap: a name of 1 to %d characters\n", UST_DEV_NAME_MAX - 1);
                return -1;
            }
            o->tap = optarg;
            break;
        case 'a': addr = optarg; break;
        case 'g': gateway = optarg; break;
        case 'm':
            if (ust_mac_parse(optarg, o->mac) != 0 || (o->mac[0] & 1)) {
                fprintf(stderr, "ustack: --mac %s: expected a unicast MAC like 02:00:00:00:00:02\n", optarg);
                return -1;
            }
            o->mac_set = 1;
            break;
        case 'p': o->pcap = optarg; break;
        case 'l':
            if (ust_log_level_parse(optarg, &o->log) != 0) {
                fprintf(stderr, "ustack: --log %s: expected error, warn, info, debug or trace\n", optarg);
                return -1;
            }
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "ustack: --seed %s: expected a number\n", optarg);
                return -1;
            }
            o->seed = v;
            o->seed_set = 1;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ustack: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (ust_ip4_parse_cidr(addr, &o->addr, &o->prefix_len) != 0 || o->prefix_len == 0 ||
        o->prefix_len > 32) {
        fprintf(stderr, "ustack: --addr %s: expected an address with a prefix length, like %s\n", addr,
                DEFAULT_ADDR);
        return -1;
    }
    if (strcmp(gateway, "none") == 0) {
        o->gateway = 0;
    } else if (ust_ip4_parse(gateway, &o->gateway) != 0) {
        fprintf(stderr, "ustack: --gateway %s: expected an address like %s, or none\n", gateway,
                DEFAULT_GATEWAY);
        return -1;
    }
    if (!o->mac_set) {
        uint8_t m[6] = {0x02, 0x00, (uint8_t)(o->addr >> 24), (uint8_t)(o->addr >> 16),
                        (uint8_t)(o->addr >> 8), (uint8_t)o->addr};
        memcpy(o->mac, m, 6);
    }
    return 0;
}

static void print_stats(struct ust_stack *s)
{
    fprintf(stderr, "---- ustack counters ----\n");
    ust_stats_print(ust_stack_stats(s), stderr, 0);
    fflush(stderr);
}

static int setup(struct ust_stack *s, const struct options *o, ust_time_t now)
{
    struct ust_device *tap, *lo;
    int created = 0;
    int err = ust_tap_open(o->tap, o->mac, &tap, &created);
    if (err) {
        logf(UST_LOG_ERROR, "cannot open TAP device %s: %s", o->tap, strerror(-err));
        if (err == -EPERM || err == -EACCES)
            logf(UST_LOG_ERROR, "run as root, or create the device first with `make tap`");
        else if (err == -ENOENT)
            logf(UST_LOG_ERROR, "/dev/net/tun is missing: load the tun module (modprobe tun)");
        else if (err == -EBUSY)
            logf(UST_LOG_ERROR, "another program holds %s; stop it or use --tap", o->tap);
        return -1;
    }
    if (created)
        logf(UST_LOG_WARN,
             "created %s, but its host side has no address and is down: run `make tap` "
             "(or ip addr add 192.0.2.1/24 dev %s && ip link set %s up)",
             o->tap, o->tap, o->tap);
    else
        logf(UST_LOG_INFO, "attached to existing TAP device %s", o->tap);
    if (o->pcap) {
        struct ust_device *w;
        err = ust_pcap_wrap(tap, o->pcap, &w);
        if (err) {
            logf(UST_LOG_ERROR, "cannot write pcap file %s: %s", o->pcap, strerror(-err));
            tap->ops->destroy(tap);
            return -1;
        }
        tap = w;
        logf(UST_LOG_INFO, "capturing %s to %s", o->tap, o->pcap);
    }
    if (ust_stack_add_device(s, tap) < 0)
        return -1;
    if ((err = ust_iface_add(s, o->tap, o->addr, o->prefix_len, now)) != 0) {
        logf(UST_LOG_ERROR, "cannot configure %s: %s", o->tap, strerror(-err));
        return -1;
    }
    if (ust_loopback_create(&lo) == 0 && ust_stack_add_device(s, lo) >= 0)
        ust_iface_add(s, "lo", UST_IP4(127, 0, 0, 1), 8, now);
    if (o->gateway) {
        err = ust_route_add(s, 0, 0, o->gateway, NULL);
        if (err) {
            char g[UST_IP4_STRLEN];
            logf(UST_LOG_ERROR, "default gateway %s: %s (is it inside %s's subnet?)",
                 ust_ip4_format(o->gateway, g), strerror(-err), o->tap);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    app_level = o.log;
    if (!o.seed_set && ust_random_seed(&o.seed) != 0)
        o.seed = ust_clock_now();

    /* Signals arrive through a signalfd, so the loop below sees them as
     * events, not as interruptions. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        perror("ustack: signalfd");
        return 1;
    }

    struct ust_config cfg;
    ust_config_init(&cfg);
    cfg.seed = o.seed;
    cfg.log_level = o.log;
    struct ust_stack *s;
    if (ust_stack_create(&cfg, &s) != 0) {
        fprintf(stderr, "ustack: out of memory\n");
        return 1;
    }
    ust_time_t now = ust_clock_now();
    if (setup(s, &o, now) != 0) {
        ust_stack_destroy(s);
        return 1;
    }
    struct ust_device *tap = ust_stack_device(s, o.tap);
    char a[UST_IP4_STRLEN], g[UST_IP4_STRLEN];
    logf(UST_LOG_INFO, "ustack up: dev=%s, addr=%s/%u, gateway=%s, mac=%02x:%02x:%02x:%02x:%02x:%02x; "
         "try: ping %s", o.tap, ust_ip4_format(o.addr, a), o.prefix_len,
         o.gateway ? ust_ip4_format(o.gateway, g) : "none", o.mac[0], o.mac[1], o.mac[2], o.mac[3],
         o.mac[4], o.mac[5], a);

    struct pollfd pfd[2] = {{.fd = tap->ops->fd(tap), .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    int running = 1, rc = 0;
    while (running) {
        now = ust_clock_now();
        ust_stack_poll(s, now);
        ust_time_t next = ust_stack_next_deadline(s);
        int timeout = -1;
        if (next != UST_TIME_NEVER) {
            now = ust_clock_now();
            ust_time_t wait = next > now ? next - now : 0;
            /* Round up to whole milliseconds so a deadline is never missed. */
            ust_time_t ms = (wait + 999u) / 1000u;
            timeout = ms > 3600000u ? 3600000 : (int)ms;
        }
        int n = poll(pfd, 2, timeout);
        if (n < 0 && errno != EINTR) {
            logf(UST_LOG_ERROR, "poll: %s", strerror(errno));
            rc = 1;
            break;
        }
        if (n > 0 && (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
            logf(UST_LOG_ERROR, "TAP device %s went away", o.tap);
            rc = 1;
            break;
        }
        if (n > 0 && (pfd[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGUSR1) {
                    print_stats(s);
                } else {
                    logf(UST_LOG_INFO, "%s received, shutting down", strsignal((int)si.ssi_signo));
                    running = 0;
                }
            }
        }
    }
    print_stats(s);
    ust_stack_destroy(s);
    close(sfd);
    logf(UST_LOG_INFO, "ustack stopped");
    return rc;
}
