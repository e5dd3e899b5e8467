/* Step 14: IPv6 (docs/LEARN.md).
 *
 * The same path with 128-bit addresses (RFC 8200): ust_iface_add6 gives
 * the interface a link-local address and 2001:db8::2/64; each is checked
 * for duplicates first (DAD, RFC 4862 5.4). Neighbour discovery (RFC
 * 4861) does ARP's job with ICMPv6 messages to multicast groups: the host
 * asks for our MAC with a neighbour solicitation, we answer with an
 * advertisement. Then ICMPv6 echo (RFC 4443) answers the host's ping.
 *
 *   step14_ipv6 [TAP [COUNT]]    (tap0, 3; then: ping -6 2001:db8::2, the host
 *                                 having 2001:db8::1/64 on tap0)
 *
 * Exits 0 once it answered COUNT echo requests (at most 30 s). */
#include <arpa/inet.h>

#include "step.h"

static bool enough(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    return ust_stack_stats(s)->icmp6.tx_echo_reply >= *(unsigned *)arg;
}

int main(int argc, char **argv)
{
    const char *tap;
    unsigned count = 3;
    step_args(argc, argv, "step14_ipv6 [TAP [COUNT]]", &tap, &count);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    struct in6_addr a6;
    if (step_tap_up(&cfg, tap, &s) != 0 || ust_ip6_parse("2001:db8::2", &a6) != 0 ||
        ust_iface_add6(s, tap, &a6, 64, ust_clock_now()) != 0)
        return 1;
    printf("step14: 2001:db8::2/64 on %s; waiting for %u echo requests\n", tap, count);
    fflush(stdout);
    bool ok = step_run(s, tap, 30, enough, &count);
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step14: icmpv6 rx %llu, tx %llu; echo requests in %llu, replies out %llu\n",
           (unsigned long long)st->icmp6.rx, (unsigned long long)st->icmp6.tx,
           (unsigned long long)st->icmp6.rx_echo_request,
           (unsigned long long)st->icmp6.tx_echo_reply);
    ust_stack_destroy(s);
    puts(ok ? "step14: ok" : "step14: FAILED: not every echo request was answered");
    return ok ? 0 : 1;
}
