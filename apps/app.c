/* Shared by the runner and the examples. */
#include "app.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#define DEFAULT_TAP "tap0"
#define DEFAULT_ADDR "192.0.2.2/24"
#define DEFAULT_GATEWAY "192.0.2.1"
#define DEFAULT_ADDR6 "2001:db8::2/64"

enum ust_log_level app_log_level = UST_LOG_INFO;

void app_log(enum ust_log_level lvl, const char *func, const char *file, int line, const char *fmt,
             ...)
{
    if (app_log_level < lvl)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ust_log_stderr(NULL, lvl, func, file, line, msg);
}

/* The common options' help, one entry per option: its short letter and the
 * text after "-X, ". */
static const struct {
    char letter;
    const char *text;
} common_help[] = {
    {'t', "--tap NAME        TAP device to use (default " DEFAULT_TAP "). An existing device is\n"
          "                        used as it is; a missing one is created (needs root or\n"
          "                        CAP_NET_ADMIN), but then the host side has no address:\n"
          "                        prefer `make tap`, which creates it with 192.0.2.1/24.\n"},
    {'a', "--addr ADDR/N     an address and prefix length of the stack, IPv4 or IPv6;\n"
          "                        at most one of each (default " DEFAULT_ADDR " and\n"
          "                        " DEFAULT_ADDR6 "; IPv6 also gets a link-local address\n"
          "                        and those router advertisements offer)\n"},
    {'g', "--gateway A.B.C.D default gateway, or \"none\" (default " DEFAULT_GATEWAY ")\n"},
    {'G', "--gateway6 ADDR   IPv6 default router, or \"none\" (default: the routers\n"
          "                        that advertise themselves, RFC 4861)\n"},
    {'6', "--no-ipv6         IPv4 only: no IPv6 on the device\n"},
    {'m', "--mac MAC         the stack's MAC, e.g. 02:00:00:00:00:02 (default:\n"
          "                        02:00 followed by the four bytes of the address)\n"},
    {'p', "--pcap FILE       write every frame sent and received to FILE (pcap)\n"},
    {'l', "--log LEVEL       error, warn, info, debug or trace (default: $USTACK_LOG,\n"
          "                        else info). trace prints every frame's headers.\n"},
    {'s', "--seed N          seed for the stack's random numbers (default: random)\n"},
    {'F', "--faults SPEC     make the TAP link lossy, for testing where tc netem is\n"
          "                        missing: drop=P,dup=P,reorder=P,corrupt=P (probabilities\n"
          "                        0-1, applied to frames in both directions)\n"},
    {'O', "--offload on|off  virtio-net header and offloads on the TAP (default on):\n"
          "                        the kernel and ustack exchange TCP super-frames of up to\n"
          "                        64 KiB and leave checksums to each other; `ethtool -k\n"
          "                        TAP` shows what the kernel granted. off: plain frames,\n"
          "                        every checksum computed (also with --faults)\n"},
    {'M', "--mtu N           set the TAP's MTU to N (68-65520; default: keep the\n"
          "                        interface's); MSS and buffers follow. 65520 is pasta's\n"},
    {'h', "--help            show this help\n"},
};

void app_usage_common_except(FILE *out, const char *taken)
{
    fprintf(out, "Device and address options:\n");
    for (size_t i = 0; i < sizeof(common_help) / sizeof(common_help[0]); i++) {
        char c = common_help[i].letter;
        /* The long form only: taken by the program, or never a short one. */
        if ((taken && strchr(taken, c)) || c == 'G' || c == '6')
            fprintf(out, "      %s", common_help[i].text);
        else
            fprintf(out, "  -%c, %s", c, common_help[i].text);
    }
}

void app_usage_common(FILE *out) { app_usage_common_except(out, NULL); }

static int parse_faults(const char *spec, struct ust_faults *f)
{
    char buf[256];
    if (strlen(spec) >= sizeof(buf))
        return -1;
    strcpy(buf, spec);
    memset(f, 0, sizeof(*f));
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        char *end;
        double p = strtod(eq + 1, &end);
        if (*end || end == eq + 1 || p < 0 || p > 1)
            return -1;
        if (strcmp(tok, "drop") == 0)
            f->drop = p;
        else if (strcmp(tok, "dup") == 0)
            f->duplicate = p;
        else if (strcmp(tok, "reorder") == 0)
            f->reorder = p;
        else if (strcmp(tok, "corrupt") == 0)
            f->corrupt = p;
        else
            return -1;
    }
    return 0;
}

int app_parse(int argc, char **argv, struct app_opts *o, const char *extra_short,
              const struct option *extra_long, int (*on_opt)(int c, const char *arg, void *ctx),
              void *ctx)
{
    /* The common options' long forms return LONG_COMMON + their letter, so
     * that a program may take a common short letter for an option of its
     * own (iperf3c's -t and -p, spelled as iperf3 spells them): a letter in
     * extra_short is the program's, and the common option keeps its long
     * form only. */
    enum { LONG_COMMON = 0x100 };
    static const struct option common[] = {
        {"tap", required_argument, NULL, LONG_COMMON + 't'},
        {"addr", required_argument, NULL, LONG_COMMON + 'a'},
        {"gateway", required_argument, NULL, LONG_COMMON + 'g'},
        {"mac", required_argument, NULL, LONG_COMMON + 'm'},
        {"pcap", required_argument, NULL, LONG_COMMON + 'p'},
        {"log", required_argument, NULL, LONG_COMMON + 'l'},
        {"seed", required_argument, NULL, LONG_COMMON + 's'},
        {"help", no_argument, NULL, LONG_COMMON + 'h'},
        {"faults", required_argument, NULL, LONG_COMMON + 'F'},
        {"gateway6", required_argument, NULL, LONG_COMMON + 'G'},
        {"no-ipv6", no_argument, NULL, LONG_COMMON + '6'},
        {"offload", required_argument, NULL, LONG_COMMON + 'O'},
        {"mtu", required_argument, NULL, LONG_COMMON + 'M'},
    };
    static const char common_short[] = "t:a:g:m:p:l:s:hF:O:M:";
    struct option longopts[32];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        longopts[n++] = common[i];
    for (size_t i = 0; extra_long && extra_long[i].name && n < 31; i++)
        longopts[n++] = extra_long[i];
    memset(&longopts[n], 0, sizeof(longopts[n]));
    char shortopts[64];
    size_t sl = 0;
    for (const char *c = common_short; *c; c++) {
        if (*c == ':')
            continue;
        if (extra_short && strchr(extra_short, *c))
            continue; /* the program's own */
        shortopts[sl++] = *c;
        if (c[1] == ':')
            shortopts[sl++] = ':';
    }
    snprintf(shortopts + sl, sizeof(shortopts) - sl, "%s", extra_short ? extra_short : "");

    const char *addr = DEFAULT_ADDR, *gateway = DEFAULT_GATEWAY, *addr6 = DEFAULT_ADDR6;
    const char *gateway6 = "none";
    bool addr_set = false, addr6_set = false;
    int mac_set = 0;
    memset(o, 0, sizeof(*o));
    o->tap = DEFAULT_TAP;
    o->log = UST_LOG_INFO;
    o->ipv6 = true;
    o->offload = 1;
    const char *env = getenv("USTACK_LOG");
    if (env && *env && ust_log_level_parse(env, &o->log) != 0) {
        fprintf(stderr, "USTACK_LOG=%s is not a level (error, warn, info, debug, trace)\n", env);
        return -1;
    }
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c < LONG_COMMON && c != '?' && c != ':' && extra_short && strchr(extra_short, c)) {
            if (!on_opt || on_opt(c, optarg, ctx) != 0)
                return -1;
            continue;
        }
        if (c >= LONG_COMMON && c < 2 * LONG_COMMON)
            c -= LONG_COMMON;
        switch (c) {
        case 't':
            if (strlen(optarg) == 0 || strlen(optarg) >= UST_DEV_NAME_MAX) {
                fprintf(stderr, "--tap: a name of 1 to %d characters\n", UST_DEV_NAME_MAX - 1);
                return -1;
            }
            o->tap = optarg;
            break;
        case 'a':
            if (strchr(optarg, ':')) {
                if (addr6_set) {
                    fprintf(stderr, "--addr: one IPv6 address (%s and %s given)\n", addr6, optarg);
                    return -1;
                }
                addr6 = optarg;
                addr6_set = true;
            } else {
                if (addr_set) {
                    fprintf(stderr, "--addr: one IPv4 address (%s and %s given)\n", addr, optarg);
                    return -1;
                }
                addr = optarg;
                addr_set = true;
            }
            break;
        case 'g': gateway = optarg; break;
        case 'G': gateway6 = optarg; break;
        case '6': o->ipv6 = false; break;
        case 'm':
            if (ust_mac_parse(optarg, o->mac) != 0 || (o->mac[0] & 1)) {
                fprintf(stderr, "--mac %s: expected a unicast MAC like 02:00:00:00:00:02\n",
                        optarg);
                return -1;
            }
            mac_set = 1;
            break;
        case 'p': o->pcap = optarg; break;
        case 'l':
            if (ust_log_level_parse(optarg, &o->log) != 0) {
                fprintf(stderr, "--log %s: expected error, warn, info, debug or trace\n", optarg);
                return -1;
            }
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "--seed %s: expected a number\n", optarg);
                return -1;
            }
            o->seed = v;
            o->seed_set = 1;
            break;
        }
        case 'F':
            if (parse_faults(optarg, &o->faults) != 0) {
                fprintf(stderr,
                        "--faults %s: expected drop=P,dup=P,reorder=P,corrupt=P with P in 0-1\n",
                        optarg);
                return -1;
            }
            o->faults_set = 1;
            break;
        case 'O':
            if (strcmp(optarg, "on") == 0) {
                o->offload = 1;
            } else if (strcmp(optarg, "off") == 0) {
                o->offload = 0;
            } else {
                fprintf(stderr, "--offload %s: expected on or off\n", optarg);
                return -1;
            }
            break;
        case 'M': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || v < 68 || v > UST_TAP_MTU_MAX) {
                fprintf(stderr, "--mtu %s: expected a number from 68 to %d\n", optarg,
                        UST_TAP_MTU_MAX);
                return -1;
            }
            o->mtu = (uint32_t)v;
            break;
        }
        case 'h': return 1;
        case '?': return -1;
        default:
            if (!on_opt || on_opt(c, optarg, ctx) != 0)
                return -1;
            break;
        }
    }
    if (!strchr(addr, '/') || ust_ip4_parse_cidr(addr, &o->addr, &o->prefix_len) != 0 ||
        o->prefix_len == 0) {
        fprintf(stderr, "--addr %s: expected an address with a prefix length, like %s\n", addr,
                DEFAULT_ADDR);
        return -1;
    }
    if (o->ipv6) {
        if (!strchr(addr6, '/') || ust_ip6_parse_cidr(addr6, &o->addr6, &o->prefix6) != 0 ||
            o->prefix6 == 0) {
            fprintf(stderr, "--addr %s: expected an IPv6 address with a prefix length, like %s\n",
                    addr6, DEFAULT_ADDR6);
            return -1;
        }
        o->has_addr6 = true;
        if (strcmp(gateway6, "none") != 0) {
            if (ust_ip6_parse(gateway6, &o->gateway6) != 0) {
                fprintf(stderr,
                        "--gateway6 %s: expected an IPv6 address like 2001:db8::1, or "
                        "none\n",
                        gateway6);
                return -1;
            }
            o->has_gateway6 = true;
        }
    } else if (addr6_set || strcmp(gateway6, "none") != 0) {
        fprintf(stderr, "--no-ipv6 with an IPv6 --addr or --gateway6: choose one\n");
        return -1;
    }
    if (strcmp(gateway, "none") == 0) {
        o->gateway = 0;
    } else if (ust_ip4_parse(gateway, &o->gateway) != 0) {
        fprintf(stderr, "--gateway %s: expected an address like %s, or none\n", gateway,
                DEFAULT_GATEWAY);
        return -1;
    }
    if (!mac_set) {
        uint8_t m[6] = {0x02,
                        0x00,
                        (uint8_t)(o->addr >> 24),
                        (uint8_t)(o->addr >> 16),
                        (uint8_t)(o->addr >> 8),
                        (uint8_t)o->addr};
        memcpy(o->mac, m, 6);
    }
    app_log_level = o->log;
    return 0;
}

static int add_devices(struct ust_stack *s, const struct app_opts *o, ust_time_t now)
{
    struct ust_device *tap, *lo;
    int created = 0;
    /* The fault injector passes plain frames only: offloads off under it. */
    struct ust_tap_opts to = {.offload = o->offload && !o->faults_set, .mtu = o->mtu};
    if (o->offload && o->faults_set)
        app_logf(UST_LOG_INFO, "--faults: offloads off on %s (the injector takes plain frames)",
                 o->tap);
    int err = ust_tap_open_opts(o->tap, o->mac, &to, &tap, &created);
    if (err) {
        app_logf(UST_LOG_ERROR, "cannot open TAP device %s: %s", o->tap, strerror(-err));
        if (err == -EPERM || err == -EACCES)
            app_logf(UST_LOG_ERROR, "run as root, or create the device first with `make tap`");
        else if (err == -ENOENT)
            app_logf(UST_LOG_ERROR, "/dev/net/tun is missing: load the tun module (modprobe tun)");
        else if (err == -EBUSY)
            app_logf(UST_LOG_ERROR, "another program holds %s; stop it or use --tap", o->tap);
        else if (o->mtu)
            app_logf(UST_LOG_ERROR, "--mtu %u: the kernel refused it (run as root; at most %d)",
                     o->mtu, UST_TAP_MTU_MAX);
        return -1;
    }
    if (to.offload && tap->offload)
        app_logf(UST_LOG_INFO,
                 "%s: offloads on (virtio-net header; checksums%s): see `ethtool -k %s`", o->tap,
                 (tap->offload & UST_OFFLOAD_TSO4) ? ", TCP segmentation up to 64 KiB" : "",
                 o->tap);
    else if (to.offload)
        app_logf(UST_LOG_WARN, "%s: the kernel granted no offloads; plain frames", o->tap);
    else
        app_logf(UST_LOG_INFO, "%s: offloads off; plain frames", o->tap);
    if (o->mtu)
        app_logf(UST_LOG_INFO, "%s: MTU set to %u", o->tap, o->mtu);
    if (created)
        app_logf(UST_LOG_WARN,
                 "created %s, but its host side has no address and is down: run `make tap` "
                 "(or ip addr add 192.0.2.1/24 dev %s && ip link set %s up)",
                 o->tap, o->tap, o->tap);
    else
        app_logf(UST_LOG_INFO, "attached to existing TAP device %s", o->tap);
    if (o->faults_set) {
        struct ust_device *w;
        err = ust_faulty_wrap(tap, o->seed_set ? o->seed : ust_clock_now(), &o->faults, &w);
        if (err) {
            tap->ops->destroy(tap);
            return -1;
        }
        tap = w;
        app_logf(UST_LOG_WARN, "injecting faults on %s: drop=%g, dup=%g, reorder=%g, corrupt=%g",
                 o->tap, o->faults.drop, o->faults.duplicate, o->faults.reorder, o->faults.corrupt);
    }
    if (o->pcap) {
        struct ust_device *w;
        err = ust_pcap_wrap(tap, o->pcap, &w);
        if (err) {
            app_logf(UST_LOG_ERROR, "cannot write pcap file %s: %s", o->pcap, strerror(-err));
            tap->ops->destroy(tap);
            return -1;
        }
        tap = w;
        app_logf(UST_LOG_INFO, "capturing %s to %s", o->tap, o->pcap);
    }
    if (ust_stack_add_device(s, tap) < 0)
        return -1;
    if ((err = ust_iface_add(s, o->tap, o->addr, o->prefix_len, now)) != 0) {
        app_logf(UST_LOG_ERROR, "cannot configure %s: %s", o->tap, strerror(-err));
        return -1;
    }
    if (o->ipv6) {
        char a[UST_IP6_STRLEN];
        if ((err = ust_iface_enable_ipv6(s, o->tap, now)) != 0 ||
            (o->has_addr6 && (err = ust_iface_add6(s, o->tap, &o->addr6, o->prefix6, now)) != 0)) {
            app_logf(UST_LOG_ERROR, "cannot configure IPv6 (%s/%u) on %s: %s",
                     ust_ip6_format(&o->addr6, a), o->prefix6, o->tap, strerror(-err));
            return -1;
        }
    }
    if (ust_loopback_create(&lo) == 0 && ust_stack_add_device(s, lo) >= 0) {
        ust_iface_add(s, "lo", UST_IP4(127, 0, 0, 1), 8, now);
        if (o->ipv6)
            ust_iface_enable_ipv6(s, "lo", now);
    }
    if (o->has_gateway6) {
        static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
        char g[UST_IP6_STRLEN];
        if ((err = ust_route_add6(s, &any6, 0, &o->gateway6, o->tap)) != 0) {
            app_logf(UST_LOG_ERROR, "IPv6 default router %s: %s", ust_ip6_format(&o->gateway6, g),
                     strerror(-err));
            return -1;
        }
    }
    if (o->gateway && (err = ust_route_add(s, 0, 0, o->gateway, NULL)) != 0) {
        char g[UST_IP4_STRLEN];
        app_logf(UST_LOG_ERROR, "default gateway %s: %s (is it inside %s's subnet?)",
                 ust_ip4_format(o->gateway, g), strerror(-err), o->tap);
        return -1;
    }
    return 0;
}

int app_stack_up(const struct app_opts *o, struct ust_stack **sp, struct ust_runtime **rtp)
{
    struct ust_config cfg;
    ust_config_init(&cfg);
    cfg.seed = o->seed;
    if (!o->seed_set && ust_random_seed(&cfg.seed) != 0)
        cfg.seed = ust_clock_now();
    cfg.log_level = o->log;
    struct ust_stack *s;
    if (ust_stack_create(&cfg, &s) != 0) {
        app_logf(UST_LOG_ERROR, "out of memory");
        return -1;
    }
    if (add_devices(s, o, ust_clock_now()) != 0) {
        ust_stack_destroy(s);
        return -1;
    }
    int err = ust_runtime_start(s, rtp);
    if (err) {
        app_logf(UST_LOG_ERROR, "cannot start the stack thread: %s", strerror(-err));
        ust_stack_destroy(s);
        return -1;
    }
    *sp = s;
    return 0;
}

void app_stack_down(struct ust_stack *s, struct ust_runtime *rt)
{
    ust_runtime_stop(rt);
    /* At debug level the whole story ends with the counters (the runner
     * prints them at any level, on SIGUSR1 and on exit). */
    if (app_log_level >= UST_LOG_DEBUG) {
        fprintf(stderr, "---- ustack counters ----\n");
        ust_stats_print(ust_stack_stats(s), stderr, 0);
    }
    ust_stack_destroy(s);
}

int app_port_opt(int c, const char *arg, void *ctx)
{
    if (c != 'P')
        return -1;
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || !*arg || v == 0 || v > 65535) {
        fprintf(stderr, "--port %s: expected 1-65535\n", arg);
        return -1;
    }
    *(uint16_t *)ctx = (uint16_t)v;
    return 0;
}

int app_signals(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGHUP);
    /* Blocked in every thread created after this; read through the fd. */
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    return signalfd(-1, &mask, SFD_CLOEXEC);
}
