/* Step 6: ICMP echo (docs/LEARN.md).
 *
 * icmp_input (src/net/icmp.c) answers echo requests with the same
 * identifier, sequence number and data (RFC 792); echo replies go to the
 * ping endpoint (src/net/ping.c) that owns their identifier. This program
 * does both: it answers the host's pings, and pings the host COUNT times,
 * one a second, printing each reply with its round trip.
 *
 *   step06_icmp [TAP [COUNT]]      (tap0, 3; the host may ping 192.0.2.2 too)
 *
 * Exits 0 when every ping got its reply. */
#include "step.h"

struct pinger {
    int handle;
    unsigned count, sent, got;
    ust_time_t next, sent_at[64];
};

static bool ping_step(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    struct pinger *p = arg;
    struct ust_ping_reply r;
    while (ust_ping_recv(s, p->handle, &r, NULL, 0) == 0) {
        char a[UST_IP4_STRLEN];
        printf("step06: reply from %s: seq=%u ttl=%u time=%.3f ms\n", ust_ip4_format(r.from, a),
               r.seq, r.ttl, (double)(r.received - p->sent_at[r.seq % 64]) / 1000.0);
        p->got++;
    }
    ust_time_t now = ust_clock_now();
    if (p->sent < p->count && now >= p->next) {
        p->sent++;
        p->sent_at[p->sent % 64] = now;
        ust_ping_send(s, p->handle, STEP_HOST, (uint16_t)p->sent, "step06", 6, now);
        p->next = now + UST_SEC;
    }
    if (p->sent < p->count && p->next < *wake)
        *wake = p->next; /* the loop wakes for our next ping */
    fflush(stdout);
    return p->got >= p->count;
}

int main(int argc, char **argv)
{
    const char *tap;
    struct pinger p = {.count = 3};
    step_args(argc, argv, "step06_icmp [TAP [COUNT]]", &tap, &p.count);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (step_tap_up(&cfg, tap, &s) != 0 || (p.handle = ust_ping_open(s, 0)) < 0)
        return 1;
    bool ok = step_run(s, tap, p.count + 10.0, ping_step, &p);
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step06: %u sent, %u replies; echo requests answered %llu\n", p.sent, p.got,
           (unsigned long long)st->icmp.tx_echo_reply);
    ust_stack_destroy(s);
    puts(ok ? "step06: ok" : "step06: FAILED: replies missing");
    return ok ? 0 : 1;
}
