/* Step 13: the modern additions (docs/LEARN.md): window scaling and
 * timestamps (RFC 7323), SACK (RFC 2018, RFC 6675) and CUBIC (RFC 9438).
 *
 * Two stacks in this process, joined by a memlink that loses 1% of the
 * frames and delays each by 5 ms, one thread driving both on a virtual clock (jumping to the next
 * deadline when nothing moves), send 2 MB one way. With the defaults the
 * handshake agrees on window scaling, timestamps and SACK, CUBIC sends,
 * and losses are repaired from the SACK scoreboard. `--plain` switches
 * them off by configuration (tcp_timestamps, tcp_sack, tcp_congestion
 * "newreno", tcp_loss_probes, buffers of 64 KiB that need no scaling): the stack of steps
 * 10 to 12, which repairs by NewReno's duplicate ACKs.
 *
 *   step13_modern [--plain]        (USTACK_LOG=debug tells every segment)
 *
 * Exits 0 when every byte arrived and the options are what was asked. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include "step.h"

#define TOTAL (2u << 20)

static struct ust_stack *make(struct ust_memlink *link, bool plain, uint8_t last)
{
    struct ust_config cfg;
    step_config(&cfg);
    cfg.seed = last;
    if (plain) {
        cfg.tcp_timestamps = false;
        cfg.tcp_sack = false;
        cfg.tcp_congestion = "newreno";
        cfg.tcp_loss_probes = false;
        cfg.tcp_rcvbuf = cfg.tcp_sndbuf = 65535;
        cfg.tcp_rcvbuf_max = cfg.tcp_sndbuf_max = 0; /* no auto-tuning beyond 64 KiB */
    }
    struct ust_stack *s;
    struct ust_device *d;
    const uint8_t mac[6] = {2, 0, 192, 0, 2, last};
    if (ust_stack_create(&cfg, &s) != 0 || ust_memlink_attach(link, "ml0", mac, &d) != 0 ||
        ust_stack_add_device(s, d) < 0 ||
        ust_iface_add(s, "ml0", UST_IP4(192, 0, 2, last), 24, 1000 * UST_SEC) != 0)
        exit(1);
    return s;
}

int main(int argc, char **argv)
{
    bool plain = argc == 2 && strcmp(argv[1], "--plain") == 0;
    if (argc > 2 || (argc == 2 && !plain)) {
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr,
                "usage: step13_modern [--plain]\n  --plain  timestamps, SACK, loss probes and "
                "window scaling off, NewReno: the TCP of steps 10 to 12\n");
        return help ? 0 : 2;
    }
    struct ust_memlink *link;
    if (ust_memlink_create(1, &link) != 0)
        return 1;
    struct ust_faults f = {.drop = 0.01, .delay = 5 * UST_MS}; /* a 10 ms round trip */
    ust_memlink_set_faults(link, &f);
    struct ust_stack *a = make(link, plain, 10), *b = make(link, plain, 11);
    ust_time_t now = 1000 * UST_SEC;

    int lfd = ust_socket(b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
    ust_bind(b, lfd, (struct sockaddr *)&sin, sizeof(sin));
    ust_listen(b, lfd, 8);
    int cfd = ust_socket(a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sin.sin_addr.s_addr = htonl(UST_IP4(192, 0, 2, 11));
    ust_connect(a, cfd, (struct sockaddr *)&sin, sizeof(sin));

    static char buf[65536];
    memset(buf, 's', sizeof(buf));
    int afd = -1;
    size_t sent = 0, got = 0;
    bool eof = false;
    while (!eof && now < 1100 * UST_SEC) {
        int moved = ust_stack_poll(a, now) + ust_stack_poll(b, now);
        if (afd < 0)
            afd = ust_accept4(b, lfd, NULL, NULL, SOCK_NONBLOCK);
        ssize_t n = -1;
        if (sent < TOTAL &&
            (n = ust_send(a, cfd, buf, TOTAL - sent < sizeof(buf) ? TOTAL - sent : sizeof(buf),
                          0)) > 0) {
            sent += (size_t)n;
            moved++;
            if (sent == TOTAL)
                ust_shutdown(a, cfd, SHUT_WR);
        }
        while (afd >= 0 && (n = ust_recv(b, afd, buf, sizeof(buf), 0)) > 0) {
            got += (size_t)n;
            moved++;
        }
        eof = afd >= 0 && n == 0;
        if (!moved) { /* nothing moved: time jumps to what is due next */
            ust_time_t na = ust_stack_next_deadline(a), nb = ust_stack_next_deadline(b);
            ust_time_t next = na < nb ? na : nb;
            now = next == UST_TIME_NEVER ? now + UST_MS : (next > now ? next : now + 1);
        }
    }
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    ust_getsockopt(a, cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    char cc[16] = "";
    socklen_t cl = sizeof(cc);
    ust_getsockopt(a, cfd, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    const struct ust_stats *st = ust_stack_stats(a);
    bool ts = ti.tcpi_options & TCPI_OPT_TIMESTAMPS, sack = ti.tcpi_options & TCPI_OPT_SACK;
    printf("step13: %s: %zu of %u bytes in %.3f virtual s; timestamps %s, sack %s, window "
           "scale %u/%u, %s; %u retransmitted, %llu SACK recoveries, %llu frames lost\n",
           plain ? "plain" : "modern", got, TOTAL, (double)(now - 1000 * UST_SEC) / UST_SEC,
           ts ? "on" : "off", sack ? "on" : "off", ti.tcpi_snd_wscale, ti.tcpi_rcv_wscale, cc,
           ti.tcpi_total_retrans, (unsigned long long)st->tcp.sack_recoveries,
           (unsigned long long)ust_memlink_stats(link)->dropped);
    bool ok = eof && got == TOTAL && ts == !plain && sack == !plain &&
              (plain ? ti.tcpi_rcv_wscale == 0 : ti.tcpi_rcv_wscale > 0) &&
              strcmp(cc, plain ? "newreno" : "cubic") == 0;
    ust_close(a, cfd);
    ust_close(b, afd);
    ust_close(b, lfd);
    ust_stack_destroy(a);
    ust_stack_destroy(b);
    ust_memlink_release(link);
    puts(ok ? "step13: ok" : "step13: FAILED");
    return ok ? 0 : 1;
}
