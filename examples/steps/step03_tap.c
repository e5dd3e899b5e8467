/* Step 3: a TAP device and Ethernet (docs/LEARN.md).
 *
 * A TAP device is the kernel's end of a virtual Ethernet cable: what the
 * kernel sends on it we read() from its fd, what we write() it receives.
 * This program drives the stack itself (embedded): it sleeps in poll() on
 * that fd until a frame comes or a timer is due, then ust_stack_poll()
 * reads the frames (tap_receive) and hands each to ust_stack_input, which
 * gives it to eth_input: our MAC or broadcast, then ARP or IPv4 by the
 * ethertype. The layers above are all there; this step watches Ethernet.
 *
 *   step03_tap [TAP [FRAMES]]      (tap0, 3; then from the host: ping 192.0.2.2)
 *
 * Exits 0 once FRAMES frames came in (at most 20 s). */
#include "step.h"

static bool enough(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    return ust_stack_stats(s)->eth.rx >= *(unsigned *)arg;
}

int main(int argc, char **argv)
{
    const char *tap;
    unsigned frames = 3;
    step_args(argc, argv, "step03_tap [TAP [FRAMES]]", &tap, &frames);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (step_tap_up(&cfg, tap, &s) != 0)
        return 1;
    printf("step03: up on %s as 192.0.2.2, waiting for %u frames\n", tap, frames);
    fflush(stdout);
    bool ok = step_run(s, tap, 20, enough, &frames);
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step03: eth rx %llu (not for us %llu, unknown type %llu), tx %llu; arp rx %llu, ip rx "
           "%llu\n",
           (unsigned long long)st->eth.rx, (unsigned long long)st->eth.drop_not_for_us,
           (unsigned long long)st->eth.drop_unknown_type, (unsigned long long)st->eth.tx,
           (unsigned long long)st->arp.rx, (unsigned long long)st->ip.rx);
    ust_stack_destroy(s);
    puts(ok ? "step03: ok" : "step03: FAILED: not enough frames came");
    return ok ? 0 : 1;
}
