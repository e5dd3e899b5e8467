/* Step 7: routing (docs/LEARN.md).
 *
 * An address off our link goes to a gateway: route_lookup (src/net/
 * route.c) finds the longest prefix that holds the destination, and the
 * packet goes to that route's next hop, whose MAC ARP resolves; the
 * destination's address stays in the IP header. Here 198.51.100.0/24 is
 * reached through the host, 192.0.2.1, which owns 198.51.100.1 itself.
 * Without the route the send fails with ENETUNREACH.
 *
 *   step07_route [TAP]     (the host needs 198.51.100.1, e.g. on its lo)
 *
 * Exits 0 when 198.51.100.1 answered through the gateway. */
#include <errno.h>

#include "step.h"

#define FAR UST_IP4(198, 51, 100, 1)

static bool answered(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    struct ust_ping_reply r;
    return ust_ping_recv(s, *(int *)arg, &r, NULL, 0) == 0 && r.from == FAR;
}

int main(int argc, char **argv)
{
    const char *tap;
    step_args(argc, argv, "step07_route [TAP]", &tap, NULL);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    int ping;
    if (step_tap_up(&cfg, tap, &s) != 0 || (ping = ust_ping_open(s, 0)) < 0)
        return 1;
    int before = ust_ping_send(s, ping, FAR, 1, "far", 3, ust_clock_now());
    printf("step07: without a route: %s\n", before == -ENETUNREACH ? "ENETUNREACH" : "sent?");
    if (ust_route_add(s, UST_IP4(198, 51, 100, 0), 24, STEP_HOST, tap) != 0)
        return 1;
    if (ust_ping_send(s, ping, FAR, 2, "far", 3, ust_clock_now()) != 0)
        return 1;
    bool ok = step_run(s, tap, 10, answered, &ping) && before == -ENETUNREACH;
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step07: arp requests out %llu (for the gateway, not for 198.51.100.1)\n",
           (unsigned long long)st->arp.tx_request);
    ust_stack_destroy(s);
    puts(ok ? "step07: ok" : "step07: FAILED: no answer through the gateway");
    return ok ? 0 : 1;
}
