/* Step 1: the stack instance and a null device (docs/LEARN.md).
 *
 * A stack is one struct ust_stack: every layer's state hangs from it, and
 * nothing is global. It is given time (ust_stack_poll's `now`) and frames
 * (by its devices); it sends frames through its devices' transmit hooks.
 * The null device takes every frame and drops it: here it shows that
 * giving the interface an address already sends one frame, the
 * gratuitous ARP announcement (RFC 5227 3).
 *
 *   step01_stack          (USTACK_LOG=debug shows each layer's decision)
 *
 * Exits 0 when the stack came up and sent exactly that one frame. */
#include "step.h"

int main(int argc, char **argv)
{
    if (argc > 1) { /* no options: say so */
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr, "usage: %s (no options; see docs/LEARN.md)\n",
                "step01_stack");
        return help ? 0 : 2;
    }
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (ust_stack_create(&cfg, &s) != 0)
        return 1;
    static const uint8_t mac[6] = {0x02, 0x00, 192, 0, 2, 2};
    struct ust_device *null0;
    if (ust_null_create("null0", mac, &null0) != 0 || ust_stack_add_device(s, null0) < 0)
        return 1;
    ust_time_t now = ust_clock_now();
    if (ust_iface_add(s, "null0", STEP_ADDR, 24, now) != 0)
        return 1;
    ust_stack_poll(s, now); /* nothing to read, no timer due yet */
    const struct ust_stats *st = ust_stack_stats(s);
    printf("step01: frames sent %llu (ARP announcements %llu), received %llu\n",
           (unsigned long long)st->eth.tx, (unsigned long long)st->arp.tx_announce,
           (unsigned long long)st->eth.rx);
    printf("step01: next deadline: %s\n", ust_stack_next_deadline(s) == UST_TIME_NEVER
                                              ? "never (no timer is armed: the stack would sleep)"
                                              : "armed");
    bool ok = st->eth.tx == 1 && st->arp.tx_announce == 1 && st->eth.rx == 0;
    ust_stack_destroy(s);
    puts(ok ? "step01: ok" : "step01: FAILED: expected one frame out, the announcement");
    return ok ? 0 : 1;
}
