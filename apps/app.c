/* Shared by the runner and the examples. */
#include "app.h"

#include <errno.h>
#include <time.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ustack/dhcp.h"
#include "ustack/dns.h"
#include <time.h>

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
    {'P', "--packet IFNAME   instead of a TAP device, attach to the existing Ethernet\n"
          "                        interface IFNAME (a veth end, a bridge port, a NIC)\n"
          "                        beside the kernel, through an AF_PACKET socket (needs\n"
          "                        root or CAP_NET_RAW). ustack uses its own MAC (--mac)\n"
          "                        there: give it an address the kernel does not use on\n"
          "                        that interface. The interface must be up.\n"},
    {'R', "--packet-ring v2|v3\n"
          "                        the receive ring of --packet: v2 (default) hands each\n"
          "                        frame over at once; v3 hands over blocks of frames,\n"
          "                        when full or after a timer (a few ms): fewer wake-ups\n"
          "                        under load, but pings and lone packets wait for it.\n"},
    {'a', "--addr ADDR/N     an address and prefix length of the stack, IPv4 or IPv6;\n"
          "                        at most one of each (default " DEFAULT_ADDR " and\n"
          "                        " DEFAULT_ADDR6 "; IPv6 also gets a link-local address\n"
          "                        and those router advertisements offer). For IPv4, dhcp\n"
          "                        asks a DHCP server on the link for the address, router,\n"
          "                        DNS servers and MTU, and keeps the lease renewed\n"},
    {'W', "--dhcp-wait SECS  with --addr dhcp, how long to wait for a lease before giving\n"
          "                        up (default 30)\n"},
    {'D', "--dns A.B.C.D[,A.B.C.D...] DNS servers for host names (at most 3; default:\n"
          "                        those of the DHCP lease)\n"},
    {'g', "--gateway A.B.C.D default gateway, or \"none\" (default " DEFAULT_GATEWAY ")\n"},
    {'G', "--gateway6 ADDR   IPv6 default router, or \"none\" (default: the routers\n"
          "                        that advertise themselves, RFC 4861)\n"},
    {'6', "--no-ipv6         IPv4 only: no IPv6 on the device\n"},
    {'m', "--mac MAC         the stack's MAC, e.g. 02:00:00:00:00:02 (default:\n"
          "                        02:00 followed by the four bytes of the address; with\n"
          "                        dhcp, 02 and five random bytes)\n"},
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
    {'B', "--busy-poll USEC  before the stack thread sleeps, poll the devices for up\n"
          "                        to USEC microseconds after the last frame (0-1000000;\n"
          "                        default 0, off): lower latency for a CPU kept busy.\n"
          "                        It helps when the next frame comes within USEC: a\n"
          "                        client's turn-around for request/response (tens of\n"
          "                        us), the interval for ping (-i 0.002: 2000)\n"},
    {'h', "--help            show this help\n"},
};

/* The common options' short letters (--packet has none: the examples' -P
 * is --port). */
static const char common_short[] = "t:a:g:m:p:l:s:hF:D:W:O:M:";

void app_usage_common_except(FILE *out, const char *taken)
{
    fprintf(out, "Device and address options:\n");
    for (size_t i = 0; i < sizeof(common_help) / sizeof(common_help[0]); i++) {
        char c = common_help[i].letter;
        if ((taken && strchr(taken, c)) || !strchr(common_short, c))
            fprintf(out, "      %s", common_help[i].text); /* the long form only */
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

static int parse_dns(const char *arg, struct app_opts *o)
{
    char buf[64];
    if (strlen(arg) >= sizeof(buf))
        return -1;
    memcpy(buf, arg, strlen(arg) + 1);
    o->ndns = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->ndns == 3 || ust_ip4_parse(t, &o->dns[o->ndns]) != 0 || o->dns[o->ndns] == 0)
            return -1;
        o->ndns++;
    }
    return o->ndns ? 0 : -1;
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
        {"packet", required_argument, NULL, LONG_COMMON + 'P'},
        {"packet-ring", required_argument, NULL, LONG_COMMON + 'R'},
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
        {"dns", required_argument, NULL, LONG_COMMON + 'D'},
        {"dhcp-wait", required_argument, NULL, LONG_COMMON + 'W'},
        {"offload", required_argument, NULL, LONG_COMMON + 'O'},
        {"mtu", required_argument, NULL, LONG_COMMON + 'M'},
        {"busy-poll", required_argument, NULL, LONG_COMMON + 'B'},
    };
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
        case 'P':
            if (strlen(optarg) == 0 || strlen(optarg) >= UST_DEV_NAME_MAX) {
                fprintf(stderr, "--packet: an interface name of 1 to %d characters\n",
                        UST_DEV_NAME_MAX - 1);
                return -1;
            }
            o->packet = optarg;
            break;
        case 'R':
            if (strcmp(optarg, "v2") != 0 && strcmp(optarg, "v3") != 0) {
                fprintf(stderr, "--packet-ring %s: expected v2 or v3\n", optarg);
                return -1;
            }
            o->packet_v3 = strcmp(optarg, "v3") == 0;
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
        case 'G': gateway6 = optarg; break;
        case '6': o->ipv6 = false; break;
        case 'g':
            gateway = optarg;
            o->gateway_set = true;
            break;
        case 'D':
            if (parse_dns(optarg, o) != 0) {
                fprintf(stderr, "--dns %s: expected 1 to 3 addresses like 192.0.2.1,192.0.2.53\n",
                        optarg);
                return -1;
            }
            break;
        case 'W': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || !*optarg || v == 0 || v > 3600) {
                fprintf(stderr, "--dhcp-wait %s: expected 1-3600 seconds\n", optarg);
                return -1;
            }
            o->dhcp_wait_s = (unsigned)v;
            break;
        }
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
        case 'B': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || *optarg == '-' || v > 1000000) {
                fprintf(stderr, "--busy-poll %s: expected microseconds, 0 to 1000000 (0: off)\n",
                        optarg);
                return -1;
            }
            o->busy_poll = (unsigned)v;
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
    if (!o->dhcp_wait_s)
        o->dhcp_wait_s = 30;
    if (strcmp(addr, "dhcp") == 0) {
        o->dhcp = true;
    } else if (!strchr(addr, '/') || ust_ip4_parse_cidr(addr, &o->addr, &o->prefix_len) != 0 ||
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
    if (o->dhcp && !o->gateway_set)
        o->gateway = 0; /* the lease's router */
    if (!mac_set && o->dhcp) {
        /* No address to derive it from: locally administered, random. */
        uint64_t r = 0;
        if (ust_random_seed(&r) != 0)
            r = ust_clock_now();
        uint8_t m[6] = {0x02,
                        (uint8_t)(r >> 8),
                        (uint8_t)(r >> 16),
                        (uint8_t)(r >> 24),
                        (uint8_t)(r >> 32),
                        (uint8_t)(r >> 40)};
        memcpy(o->mac, m, 6);
    } else if (!mac_set) {
        uint8_t m[6] = {0x02,
                        0x00,
                        (uint8_t)(o->addr >> 24),
                        (uint8_t)(o->addr >> 16),
                        (uint8_t)(o->addr >> 8),
                        (uint8_t)o->addr};
        memcpy(o->mac, m, 6);
    }
    if (o->packet_v3 && !o->packet) {
        fprintf(stderr, "--packet-ring: only with --packet IFNAME\n");
        return -1;
    }
    o->dev = o->packet ? o->packet : o->tap;
    app_log_level = o->log;
    return 0;
}

static int open_packet(const struct app_opts *o, struct ust_device **dev)
{
    int err = ust_packet_open(o->packet, o->mac, o->packet_v3 ? UST_PACKET_TPACKET_V3 : 0, dev);
    if (err == 0) {
        app_logf(UST_LOG_INFO,
                 "attached to interface %s through AF_PACKET (TPACKET_V%d), beside the kernel, "
                 "as MAC %02x:%02x:%02x:%02x:%02x:%02x",
                 o->packet, o->packet_v3 ? 3 : 2, o->mac[0], o->mac[1], o->mac[2], o->mac[3],
                 o->mac[4], o->mac[5]);
        return 0;
    }
    app_logf(UST_LOG_ERROR, "cannot attach to interface %s: %s", o->packet, strerror(-err));
    if (err == -ENODEV)
        app_logf(UST_LOG_ERROR, "there is no interface %s here (ip link shows them)", o->packet);
    else if (err == -ENETDOWN)
        app_logf(UST_LOG_ERROR, "%s is down: bring it up first (ip link set %s up)", o->packet,
                 o->packet);
    else if (err == -EPROTONOSUPPORT)
        app_logf(UST_LOG_ERROR, "%s is not an Ethernet interface; --packet needs one", o->packet);
    else if (err == -EPERM || err == -EACCES)
        app_logf(UST_LOG_ERROR, "run as root, or give the program CAP_NET_RAW");
    return -1;
}

static int open_tap(const struct app_opts *o, struct ust_device **dev)
{
    int created = 0;
    /* The fault injector passes plain frames only: offloads off under it. */
    struct ust_tap_opts to = {.offload = o->offload && !o->faults_set, .mtu = o->mtu};
    if (o->offload && o->faults_set)
        app_logf(UST_LOG_INFO, "--faults: offloads off on %s (the injector takes plain frames)",
                 o->tap);
    int err = ust_tap_open_opts(o->tap, o->mac, &to, dev, &created);
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
    if (to.offload && (*dev)->offload)
        app_logf(UST_LOG_INFO,
                 "%s: offloads on (virtio-net header; checksums%s): see `ethtool -k %s`", o->tap,
                 ((*dev)->offload & UST_OFFLOAD_TSO4) ? ", TCP segmentation up to 64 KiB" : "",
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
    return 0;
}

static int add_devices(struct ust_stack *s, const struct app_opts *o, ust_time_t now)
{
    struct ust_device *dev, *lo;
    int err;
    if ((o->packet ? open_packet(o, &dev) : open_tap(o, &dev)) != 0)
        return -1;
    if (o->faults_set) {
        struct ust_device *w;
        err = ust_faulty_wrap(dev, o->seed_set ? o->seed : ust_clock_now(), &o->faults, &w);
        if (err) {
            dev->ops->destroy(dev);
            return -1;
        }
        dev = w;
        app_logf(UST_LOG_WARN, "injecting faults on %s: drop=%g, dup=%g, reorder=%g, corrupt=%g",
                 o->dev, o->faults.drop, o->faults.duplicate, o->faults.reorder, o->faults.corrupt);
    }
    if (o->pcap) {
        struct ust_device *w;
        err = ust_pcap_wrap(dev, o->pcap, &w);
        if (err) {
            app_logf(UST_LOG_ERROR, "cannot write pcap file %s: %s", o->pcap, strerror(-err));
            dev->ops->destroy(dev);
            return -1;
        }
        dev = w;
        app_logf(UST_LOG_INFO, "capturing %s to %s", o->dev, o->pcap);
    }
    if (ust_stack_add_device(s, dev) < 0)
        return -1;
    if (!o->dhcp && (err = ust_iface_add(s, o->dev, o->addr, o->prefix_len, now)) != 0) {
        app_logf(UST_LOG_ERROR, "cannot configure %s: %s", o->dev, strerror(-err));
        return -1;
    }
    if (o->ipv6) {
        char a[UST_IP6_STRLEN];
        if ((err = ust_iface_enable_ipv6(s, o->dev, now)) != 0 ||
            (o->has_addr6 && (err = ust_iface_add6(s, o->dev, &o->addr6, o->prefix6, now)) != 0)) {
            app_logf(UST_LOG_ERROR, "cannot configure IPv6 (%s/%u) on %s: %s",
                     ust_ip6_format(&o->addr6, a), o->prefix6, o->dev, strerror(-err));
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
        if ((err = ust_route_add6(s, &any6, 0, &o->gateway6, o->dev)) != 0) {
            app_logf(UST_LOG_ERROR, "IPv6 default router %s: %s", ust_ip6_format(&o->gateway6, g),
                     strerror(-err));
            return -1;
        }
    }
    if (o->ndns)
        ust_dns_set_servers(s, o->dns, o->ndns);
    if (!o->dhcp && o->gateway && (err = ust_route_add(s, 0, 0, o->gateway, NULL)) != 0) {
        char g[UST_IP4_STRLEN];
        app_logf(UST_LOG_ERROR, "default gateway %s: %s (is it inside %s's subnet?)",
                 ust_ip4_format(o->gateway, g), strerror(-err), o->dev);
        return -1;
    }
    return 0;
}

/* --addr dhcp: starts the client and waits (bounded) for its lease. */
static int dhcp_up(struct app_opts *o, struct ust_stack *s, struct ust_runtime *rt)
{
    ust_runtime_lock(rt);
    int err = ust_dhcp_start(s, o->dev, NULL, ust_clock_now());
    ust_runtime_unlock(rt);
    ust_runtime_kick(rt);
    if (err) {
        app_logf(UST_LOG_ERROR, "cannot start DHCP on %s: %s", o->dev, strerror(-err));
        return -1;
    }
    ust_time_t deadline = ust_clock_now() + (ust_time_t)o->dhcp_wait_s * UST_SEC;
    struct ust_dhcp_lease l;
    for (;;) {
        ust_runtime_lock(rt);
        err = ust_dhcp_lease(s, o->dev, &l);
        ust_runtime_unlock(rt);
        if (err == 0)
            break;
        if (ust_clock_now() >= deadline) {
            app_logf(UST_LOG_ERROR,
                     "no DHCP lease on %s after %u s: is a DHCP server running on that link "
                     "(and does it have addresses left)? Give a static --addr, or a longer "
                     "--dhcp-wait",
                     o->dev, o->dhcp_wait_s);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    o->addr = l.addr;
    o->prefix_len = l.prefix_len;
    if (!o->gateway_set)
        o->gateway = l.router;
    return 0;
}

int app_stack_up(struct app_opts *o, struct ust_stack **sp, struct ust_runtime **rtp)
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
    if (o->busy_poll) {
        ust_runtime_set_busy_poll(*rtp, o->busy_poll); /* parsed: within range */
        app_logf(UST_LOG_INFO, "busy polling: the stack thread polls for %u us before sleeping",
                 o->busy_poll);
    }
    if (o->dhcp && dhcp_up(o, s, *rtp) != 0) {
        app_stack_down(s, *rtp);
        return -1;
    }
    if (o->dhcp && o->gateway_set && o->gateway) {
        ust_runtime_lock(*rtp);
        err = ust_route_add(s, 0, 0, o->gateway, NULL);
        ust_runtime_unlock(*rtp);
        if (err)
            app_logf(UST_LOG_WARN, "--gateway: %s (the lease's router is used)", strerror(-err));
    }
    *sp = s;
    return 0;
}

void app_stack_down(struct ust_stack *s, struct ust_runtime *rt)
{
    /* A lease is given back (RELEASE; sent at once) before the stack
     * thread stops. -ENOENT: DHCP was not in use. */
    ust_runtime_lock(rt);
    (void)ust_dhcp_stop(s, NULL, true, ust_clock_now());
    ust_runtime_unlock(rt);
    ust_runtime_stop(rt);
    /* At debug level the whole story ends with the counters (the runner
     * prints them at any level, on SIGUSR1 and on exit). */
    if (app_log_level >= UST_LOG_DEBUG) {
        fprintf(stderr, "---- ustack counters ----\n");
        ust_stats_print(ust_stack_stats(s), stderr, 0);
    }
    ust_stack_destroy(s);
}

bool app_host_ok(const char *host)
{
    ust_ip4_t a;
    return host && (ust_ip4_parse(host, &a) == 0 || (*host && strlen(host) <= 253));
}

int app_resolve(struct ust_stack *s, const char *host, ust_ip4_t *out)
{
    if (ust_ip4_parse(host, out) == 0)
        return 0;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int err = ust_getaddrinfo(s, host, NULL, &hints, &res);
    if (err) {
        app_logf(UST_LOG_ERROR, "cannot resolve %s: %s%s", host, gai_strerror(err),
                 err == EAI_AGAIN ? " (no DNS server answered: give --dns, or use --addr dhcp "
                                    "on a link whose server hands out DNS servers)"
                                  : "");
        return -1;
    }
    struct sockaddr_in sin;
    memcpy(&sin, res->ai_addr, sizeof(sin));
    *out = ntohl(sin.sin_addr.s_addr);
    char a[UST_IP4_STRLEN];
    app_logf(UST_LOG_INFO, "%s is %s", host, ust_ip4_format(*out, a));
    ust_freeaddrinfo(res);
    return 0;
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

/* The state an interface's flags say: deleted is APP_LINK_GONE. */
static int link_state(unsigned flags)
{
    if (!(flags & IFF_UP))
        return APP_LINK_ADMIN_DOWN;
    return (flags & IFF_RUNNING) ? APP_LINK_UP : APP_LINK_NO_CARRIER;
}

static void link_say(const struct app_link *l, int state)
{
    switch (state) {
    case APP_LINK_UP: app_logf(UST_LOG_INFO, "interface %s is up again", l->name); break;
    case APP_LINK_ADMIN_DOWN:
        app_logf(UST_LOG_WARN,
                 "interface %s was set down: ustack sends and receives nothing on it until it "
                 "is up again (ip link set %s up); connections wait or time out meanwhile",
                 l->name, l->name);
        break;
    case APP_LINK_NO_CARRIER:
        app_logf(UST_LOG_WARN,
                 "interface %s lost its carrier (cable unplugged, or the other end of the veth "
                 "is down): nothing gets through until it is back",
                 l->name);
        break;
    default:
        app_logf(UST_LOG_ERROR,
                 "interface %s was deleted: ustack cannot go on without it; start it again on "
                 "an interface that exists",
                 l->name);
        break;
    }
}

int app_link_open(struct app_link *l, const char *name)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->ifindex = (int)if_nametoindex(name);
    if (l->ifindex == 0) {
        app_logf(UST_LOG_ERROR, "interface %s: %s", name, strerror(errno));
        return -1;
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        app_logf(UST_LOG_WARN,
                 "cannot watch interface %s (netlink: %s): changes to it will "
                 "show only as errors",
                 name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    l->fd = fd;
    l->state = APP_LINK_UP;
    return 0;
}

int app_link_read(struct app_link *l)
{
    /* Netlink messages are 4-byte aligned; the buffer is too. */
    union {
        struct nlmsghdr h;
        char b[8192];
    } u;
    for (;;) {
        ssize_t n = recv(l->fd, &u, sizeof(u), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) /* we missed messages: ask the kernel directly */
                n = 0;
            else
                return l->state;
        }
        int state = l->state;
        if (n == 0) {
            char name[IF_NAMESIZE];
            if (!if_indextoname((unsigned)l->ifindex, name)) {
                state = APP_LINK_GONE;
            } else {
                /* Still there: the flags say the rest. */
                int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct ifreq ifr;
                memset(&ifr, 0, sizeof(ifr));
                snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
                if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
                    state = link_state((unsigned)(unsigned short)ifr.ifr_flags);
                if (s >= 0)
                    close(s);
            }
        }
        size_t len = n > 0 ? (size_t)n : 0;
        for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                continue;
            const struct ifinfomsg *ifi = NLMSG_DATA(h);
            if (ifi->ifi_index != l->ifindex)
                continue;
            state = h->nlmsg_type == RTM_DELLINK ? APP_LINK_GONE : link_state(ifi->ifi_flags);
        }
        if (state != l->state && l->state != APP_LINK_GONE) {
            l->state = state;
            link_say(l, state);
        }
        if (n == 0)
            return l->state;
    }
}

void app_link_close(struct app_link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* ---- addresses of either family ---- */

bool app_addr_is_v4(const struct in6_addr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, mapped, sizeof(mapped)) == 0;
}

static ust_ip4_t mapped_v4(const struct in6_addr *a)
{
    const uint8_t *b = a->s6_addr;
    return UST_IP4(b[12], b[13], b[14], b[15]);
}

char *app_addr_format(const struct in6_addr *a, char buf[UST_IP6_STRLEN])
{
    if (app_addr_is_v4(a))
        return ust_ip4_format(mapped_v4(a), buf);
    return ust_ip6_format(a, buf);
}

int app_sockaddr_get(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        ust_ip4_t v4 = ntohl(sin.sin_addr.s_addr);
        memset(addr, 0, sizeof(*addr));
        addr->s6_addr[10] = addr->s6_addr[11] = 0xff;
        addr->s6_addr[12] = (uint8_t)(v4 >> 24);
        addr->s6_addr[13] = (uint8_t)(v4 >> 16);
        addr->s6_addr[14] = (uint8_t)(v4 >> 8);
        addr->s6_addr[15] = (uint8_t)v4;
        *port = ntohs(sin.sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        *addr = sin6.sin6_addr;
        *port = ntohs(sin6.sin6_port);
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

int app_peer_parse(const char *what, const char *text, bool port_ok, struct app_peer *p)
{
    memset(p, 0, sizeof(*p));
    char buf[APP_PEER_STRLEN];
    const char *port_text = NULL;
    if (strlen(text) >= sizeof(buf))
        goto bad;
    strcpy(buf, text);
    char *host = buf;
    if (host[0] == '[') { /* [v6] or [v6]:port (RFC 3986 3.2.2's brackets) */
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':'))
            goto bad;
        if (close[1] == ':')
            port_text = close + 2;
        *close = '\0';
        host++;
        if (!strchr(host, ':'))
            goto bad; /* brackets are for IPv6 */
    } else {
        char *colon = strchr(host, ':');
        if (colon && !strchr(colon + 1, ':')) { /* a.b.c.d:port (one colon) */
            *colon = '\0';
            port_text = colon + 1;
        }
    }
    if (port_text) {
        char *end;
        unsigned long v = strtoul(port_text, &end, 10);
        if (!port_ok || !*port_text || *end || v == 0 || v > 65535)
            goto bad;
        p->port_set = true;
        p->u.v6.sin6_port = htons((uint16_t)v); /* same offset in both */
    }
    char *pct = strchr(host, '%');
    if (pct) {
        *pct = '\0';
        if (!pct[1] || strlen(pct + 1) >= sizeof(p->scope))
            goto bad;
        strcpy(p->scope, pct + 1);
    }
    ust_ip4_t v4;
    struct in6_addr v6;
    uint16_t port = ntohs(p->u.v6.sin6_port);
    if (!pct && ust_ip4_parse(host, &v4) == 0) {
        /* nothing more */
    } else if (strchr(host, ':') && ust_ip6_parse(host, &v6) == 0) {
        if (app_addr_is_v4(&v6)) {
            if (pct)
                goto bad;
            v4 = mapped_v4(&v6);
        } else {
            p->family = AF_INET6;
            p->u.v6.sin6_family = AF_INET6;
            p->u.v6.sin6_port = htons(port);
            p->u.v6.sin6_addr = v6;
            p->len = sizeof(p->u.v6);
            return 0;
        }
    } else {
        goto bad;
    }
    memset(&p->u, 0, sizeof(p->u));
    p->family = AF_INET;
    p->u.v4.sin_family = AF_INET;
    p->u.v4.sin_port = htons(port);
    p->u.v4.sin_addr.s_addr = htonl(v4);
    p->len = sizeof(p->u.v4);
    return 0;
bad:
    fprintf(stderr,
            "%s %s: expected an IPv4 or IPv6 address (192.0.2.1, 2001:db8::1, "
            "fe80::1%%tap0)%s\n",
            what, text, port_ok ? ", with or without a port (192.0.2.1:7, [2001:db8::1]:7)" : "");
    return -1;
}

void app_peer_default_port(struct app_peer *p, uint16_t port)
{
    if (p->port_set)
        return;
    if (p->family == AF_INET6)
        p->u.v6.sin6_port = htons(port);
    else
        p->u.v4.sin_port = htons(port);
}

int app_peer_check_scope(const char *what, const struct app_peer *p, const struct app_opts *o)
{
    const char *dev = o->packet ? o->packet : o->tap;
    if (!p->scope[0] || strcmp(p->scope, dev) == 0)
        return 0;
    fprintf(stderr, "%s: the scope %%%s is not the stack's device %s (use %%%s, or --tap %s)\n",
            what, p->scope, dev, dev, p->scope);
    return -1;
}

int app_wait_ipv6(struct ust_stack *s, struct ust_runtime *rt, const struct app_opts *o)
{
    if (!o->ipv6)
        return 0;
    /* DAD takes a retransmission time (1 s) per probe; RFC 4862 5.4.2
     * delays the first by up to a second. Five seconds covers both. */
    ust_time_t until = ust_clock_now() + 5 * UST_SEC;
    bool said = false;
    for (;;) {
        struct ust_addr6 a[16];
        ust_runtime_lock(rt);
        int n = ust_iface_addrs6(s, o->dev, a, 16);
        ust_runtime_unlock(rt);
        int tentative = 0;
        for (int i = 0; i < n && i < 16; i++)
            tentative += a[i].tentative;
        if (n < 0 || tentative == 0)
            return 0;
        if (ust_clock_now() >= until) {
            app_logf(UST_LOG_ERROR,
                     "%s: %d IPv6 address(es) still tentative after 5 s of duplicate address "
                     "detection: is another host using them?",
                     o->dev, tentative);
            return -1;
        }
        if (!said)
            app_logf(UST_LOG_DEBUG, "%s: waiting for duplicate address detection (RFC 4862)",
                     o->dev);
        said = true;
        /* The stack thread runs DAD: nothing here to wait on but time. */
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
}

bool app_peer_is_name(const char *text)
{
    /* An address literal has a colon (IPv6, a joined port) or a bracket,
     * or is a dotted quad; anything else with a letter is a host name. */
    if (strchr(text, ':') || strchr(text, '[') || strchr(text, '%'))
        return false;
    for (const char *c = text; *c; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
            return true;
    return false;
}

int app_peer_resolve(struct ust_stack *s, const char *host, uint16_t port, struct app_peer *p)
{
    ust_ip4_t a;
    if (app_resolve(s, host, &a) != 0)
        return -1;
    memset(p, 0, sizeof(*p));
    p->family = AF_INET;
    p->u.v4.sin_family = AF_INET;
    p->u.v4.sin_port = htons(port);
    p->u.v4.sin_addr.s_addr = htonl(a);
    p->len = sizeof(p->u.v4);
    return 0;
}

int app_peer_args(const char *prog, int argc, char **argv, const struct app_opts *o,
                  struct app_peer *peer, struct app_target *target)
{
    char what[32];
    snprintf(what, sizeof(what), "%s: PEER", prog);
    memset(peer, 0, sizeof(*peer));
    *target = (struct app_target){0};
    /* PEER PORT, or the port joined: 192.0.2.1:7, [2001:db8::1]:7. */
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        fprintf(stderr, "%s: expected PEER PORT (or PEER:PORT)\n", prog);
        return -1;
    }
    const char *first = argv[optind];
    /* A host name is resolved once the stack is up (--dns, or the lease's
     * servers); it takes the port as its own argument. */
    if (app_peer_is_name(first)) {
        if (nargs != 2 || !app_host_ok(first)) {
            fprintf(stderr, "%s: expected NAME PORT (a host name, then the port)\n", prog);
            return -1;
        }
        target->name = first;
    } else if (app_peer_parse(what, first, nargs == 1, peer) != 0 ||
               app_peer_check_scope(what, peer, o) != 0) {
        return -1;
    }
    if (nargs == 1 && !peer->port_set) {
        fprintf(stderr, "%s: expected a PORT after %s\n", prog, first);
        return -1;
    }
    if (nargs == 2) {
        char *end = NULL;
        unsigned long port = strtoul(argv[optind + 1], &end, 10);
        if (port == 0 || *end || port > 65535) {
            fprintf(stderr, "%s: PORT %s: expected 1-65535\n", prog, argv[optind + 1]);
            return -1;
        }
        target->port = (uint16_t)port;
        app_peer_default_port(peer, target->port);
    }
    return 0;
}

int app_peer_ready(struct ust_stack *s, struct ust_runtime *rt, const struct app_opts *o,
                   const struct app_target *target, struct app_peer *peer)
{
    if (target->name && app_peer_resolve(s, target->name, target->port, peer) != 0)
        return -1;
    if (peer->family == AF_INET6 && app_wait_ipv6(s, rt, o) != 0)
        return -1;
    if (peer->family == AF_INET6 && peer->scope[0]) /* fe80::1%tap0: checked to be ours */
        peer->u.v6.sin6_scope_id = ust_if_nametoindex(s, peer->scope);
    return 0;
}
