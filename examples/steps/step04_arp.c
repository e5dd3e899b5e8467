/* Step 4: ARP (docs/LEARN.md).
 *
 * Before the kernel can send us an IP packet it asks, by broadcast, which
 * MAC has 192.0.2.2 (RFC 826). arp_input (src/net/arp.c) caches the
 * asker and answers. We ask too: ARP resolves the host's MAC when the
 * stack first sends to it; here a ping endpoint's echo request waits in
 * the ARP entry's queue until the reply comes.
 *
 *   step04_arp [TAP]      (then from the host: arping -I tap0 192.0.2.2)
 *
 * Exits 0 once it answered a request and resolved the host (at most 20 s). */
#include "step.h"

static bool resolved_both_ways(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    (void)arg;
    const struct ust_stats *st = ust_stack_stats(s);
    return st->arp.tx_reply >= 1 && st->arp.rx_reply >= 1;
}

int main(int argc, char **argv)
{
    const char *tap;
    step_args(argc, argv, "step04_arp [TAP]", &tap, NULL);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (step_tap_up(&cfg, tap, &s) != 0)
        return 1;
    /* Something to send to the host: it waits for ARP (step 6 says more). */
    int ping = ust_ping_open(s, 0);
    if (ping < 0 || ust_ping_send(s, ping, STEP_HOST, 1, "arp", 3, ust_clock_now()) != 0)
        return 1;
    printf("step04: asked who has 192.0.2.1; waiting for a request for 192.0.2.2\n");
    fflush(stdout);
    bool ok = step_run(s, tap, 20, resolved_both_ways, NULL);
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step04: arp requests in %llu, replies out %llu; requests out %llu, replies in %llu; "
           "cache entries added %llu, packets that waited %llu\n",
           (unsigned long long)st->arp.rx_request, (unsigned long long)st->arp.tx_reply,
           (unsigned long long)st->arp.tx_request, (unsigned long long)st->arp.rx_reply,
           (unsigned long long)st->arp.cache_add, (unsigned long long)st->arp.pending_queued);
    ust_stack_destroy(s);
    puts(ok ? "step04: ok" : "step04: FAILED: no ARP exchange both ways");
    return ok ? 0 : 1;
}
