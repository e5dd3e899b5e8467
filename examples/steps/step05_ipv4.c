/* Step 5: IPv4 input and output (docs/LEARN.md).
 *
 * ipv4_input (src/net/ipv4.c) checks a packet in RFC 1122's order (length,
 * version, header length, total length, checksum), accepts it if it is
 * for one of our addresses, and ipv4_deliver hands it to the protocol
 * named in its header. ipv4_output picks a route and a source, writes the
 * header and hands the packet to the link. Here packets come from the
 * host's ping, and one of a protocol nobody speaks here (253, RFC 3692's
 * experiment number) gets ICMP "protocol unreachable" back.
 *
 *   step05_ipv4 [TAP [PACKETS]]    (tap0, 3; then: ping 192.0.2.2)
 *
 * Exits 0 once PACKETS IPv4 packets were delivered (at most 20 s). */
#include "step.h"

static bool enough(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    return ust_stack_stats(s)->ip.delivered >= *(unsigned *)arg;
}

int main(int argc, char **argv)
{
    const char *tap;
    unsigned packets = 3;
    step_args(argc, argv, "step05_ipv4 [TAP [PACKETS]]", &tap, &packets);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (step_tap_up(&cfg, tap, &s) != 0)
        return 1;
    printf("step05: waiting for %u IPv4 packets for 192.0.2.2\n", packets);
    fflush(stdout);
    bool ok = step_run(s, tap, 20, enough, &packets);
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step05: ip rx %llu, delivered %llu, tx %llu; dropped: checksum %llu, not ours %llu, "
           "unknown protocol %llu\n",
           (unsigned long long)st->ip.rx, (unsigned long long)st->ip.delivered,
           (unsigned long long)st->ip.tx, (unsigned long long)st->ip.drop_checksum,
           (unsigned long long)st->ip.drop_not_ours, (unsigned long long)st->ip.drop_unknown_proto);
    ust_stack_destroy(s);
    puts(ok ? "step05: ok" : "step05: FAILED: not enough packets delivered");
    return ok ? 0 : 1;
}
