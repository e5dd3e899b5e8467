/* ustack's DHCP client (RFC 2131, options of RFC 2132): an Ethernet device
 * gets its address, prefix, default route, DNS servers and MTU from a
 * server, probes the address with ARP before using it (RFC 5227), renews
 * at T1, rebinds at T2, removes it when the lease ends or a server says
 * NAK, and releases it on stop. The client runs inside the stack on its
 * timers (ust_stack_poll); nothing here blocks. */
#ifndef USTACK_DHCP_H
#define USTACK_DHCP_H

#include <stdbool.h>
#include <stdint.h>

#include "ustack/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ust_dhcp_config {
    ust_time_t retrans_initial;      /* first retransmission; doubles up to 64 s, each
                                   +/- 1 s at random (RFC 2131 4.1); default 4 s */
    unsigned request_tries;          /* REQUESTs before starting over; default 4 */
    unsigned probe_num;              /* ARP probes of the offered address (RFC 5227
                                   PROBE_NUM); default 3; 0: no probe */
    ust_time_t probe_min, probe_max; /* between probes; default 1 s, 2 s */
    ust_time_t announce_wait;        /* after the last probe; default 2 s */
    ust_time_t decline_wait;         /* after a DECLINE or a NAK; default 10 s */
    ust_time_t renew_min;            /* least retransmission while renewing or
                                        rebinding (RFC 2131 4.4.5); default 60 s */
    uint32_t min_lease;              /* shorter leases are taken as this long, so a
                                        server cannot make us renew in a loop;
                                        default 10 s */
};

struct ust_dhcp_lease {
    ust_ip4_t addr;
    unsigned prefix_len;
    ust_ip4_t server; /* the server identifier (option 54) */
    ust_ip4_t router; /* 0: none offered (or not on the subnet) */
    ust_ip4_t dns[3];
    unsigned ndns;
    uint16_t mtu;               /* 0: none offered */
    uint32_t lease_s;           /* lease time, seconds */
    ust_time_t t1, t2, expires; /* absolute, on the stack's clock */
};

void ust_dhcp_config_init(struct ust_dhcp_config *cfg);

/* Starts the client on an Ethernet device that has no address (cfg NULL:
 * defaults). Returns 0, -ENODEV, -EINVAL (not Ethernet), -EEXIST
 * (already addressed or running), -ENOMEM. */
int ust_dhcp_start(struct ust_stack *s, const char *dev, const struct ust_dhcp_config *cfg,
                   ust_time_t now);
/* Stops the client on dev (NULL: on every device); a held lease is
 * released (RELEASE sent) when release is set, and its address removed
 * either way. 0, -ENOENT (no client) or -EINVAL. */
int ust_dhcp_stop(struct ust_stack *s, const char *dev, bool release, ust_time_t now);
/* The lease in force on dev: 0, -ENOENT (no client), -EAGAIN (none yet),
 * -EINVAL. */
int ust_dhcp_lease(struct ust_stack *s, const char *dev, struct ust_dhcp_lease *out);

#ifdef __cplusplus
}
#endif
#endif
