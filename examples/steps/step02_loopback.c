/* Step 2: the loopback device (docs/LEARN.md).
 *
 * A device that gives back what it is sent: the frame goes out through
 * netif_transmit, and comes in again at the next poll step (netif_poll
 * reads every device without a file descriptor), where ipv4_input takes
 * it. A loopback carries bare IPv4 (no Ethernet, no ARP). The stack's
 * own echo answers the ping: its request and its reply each make the
 * loop once.
 *
 *   USTACK_LOG=trace step02_loopback      (the frame dumps show the loop)
 *
 * Exits 0 when the echo reply came back. */
#include <string.h>

#include "step.h"

int main(int argc, char **argv)
{
    if (argc > 1) { /* no options: say so */
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr, "usage: %s (no options; see docs/LEARN.md)\n",
                "step02_loopback");
        return help ? 0 : 2;
    }
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    struct ust_device *lo;
    if (ust_stack_create(&cfg, &s) != 0 || ust_loopback_create(&lo) != 0 ||
        ust_stack_add_device(s, lo) < 0)
        return 1;
    ust_time_t now = ust_clock_now();
    if (ust_iface_add(s, lo->name, UST_IP4(127, 0, 0, 1), 8, now) != 0)
        return 1;
    int ping = ust_ping_open(s, 0);
    const char msg[] = "around the loop";
    if (ping < 0 || ust_ping_send(s, ping, UST_IP4(127, 0, 0, 1), 1, msg, sizeof(msg), now) != 0)
        return 1;
    struct ust_ping_reply r;
    char buf[64];
    int steps = 0, got = -1;
    while (steps < 4 && (got = ust_ping_recv(s, ping, &r, buf, sizeof(buf))) != 0) {
        ust_stack_poll(s, ust_clock_now()); /* one trip around the loop per step */
        steps++;
    }
    const struct ust_stats *st = ust_stack_stats(s);
    bool ok = got == 0 && r.len == sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0;
    printf("step02: reply after %d poll steps; ip rx %llu tx %llu, icmp echo requests in %llu\n",
           steps, (unsigned long long)st->ip.rx, (unsigned long long)st->ip.tx,
           (unsigned long long)st->icmp.rx_echo_request);
    ust_ping_close(s, ping);
    ust_stack_destroy(s);
    puts(ok ? "step02: ok" : "step02: FAILED: no echo reply came around the loop");
    return ok ? 0 : 1;
}
