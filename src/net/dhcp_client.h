/* The DHCP client's state machine (RFC 2131 4.4, with the address probe of
 * RFC 5227 2.1), sans-I/O: it never sends, reads a clock or touches the
 * stack. Each call takes `now` and fills a struct dhcpc_out with what the
 * caller must do: send one message, send one ARP probe, apply or remove a
 * lease. net/dhcp.c drives it from the stack's input and timers; the unit
 * tests drive it with a virtual clock. */
#ifndef USTACK_NET_DHCP_CLIENT_H
#define USTACK_NET_DHCP_CLIENT_H

#include <stdbool.h>

#include "core/rng.h"
#include "ustack/dhcp.h"
#include "wire/dhcp.h"

enum dhcpc_state {
    DHCPC_STOPPED = 0,
    DHCPC_INIT,       /* waiting to send (or re-send) a DISCOVER */
    DHCPC_SELECTING,  /* DISCOVER sent, waiting for an OFFER */
    DHCPC_REQUESTING, /* REQUEST sent for an offer, waiting for ACK/NAK */
    DHCPC_PROBING,    /* ACKed: probing the address with ARP before use */
    DHCPC_BOUND,
    DHCPC_RENEWING,  /* after T1: REQUEST unicast to the server */
    DHCPC_REBINDING, /* after T2: REQUEST broadcast to any server */
};

enum dhcpc_event {
    DHCPC_EV_NONE = 0,
    DHCPC_EV_BOUND,   /* out.lease is ours: configure it */
    DHCPC_EV_RENEWED, /* the same address, new times (out.lease) */
    DHCPC_EV_LOST,    /* the address in out.lease is no longer ours: remove it */
};

/* Why a reply was not taken (counted by the caller). */
enum dhcpc_reject {
    DHCPC_OK = 0,
    DHCPC_REJ_NOT_OURS,  /* wrong xid, op or chaddr, or not awaited in this state */
    DHCPC_REJ_BAD_LEASE, /* an address, mask or server we must not take */
};

struct dhcpc_out {
    bool send;
    struct dhcp_repr msg;
    uint32_t src, dst; /* IP addresses: src 0 is 0.0.0.0 (no address yet) */
    bool probe;        /* send an ARP probe (sender 0.0.0.0) for probe_ip */
    uint32_t probe_ip;
    enum dhcpc_event ev;
    struct ust_dhcp_lease lease; /* for ev */
};

struct dhcpc {
    struct ust_dhcp_config cfg;
    uint8_t mac[6];
    uint16_t dev_mtu;
    struct rng rng;
    enum dhcpc_state state;
    uint32_t xid;
    ust_time_t started;          /* of this exchange: the secs field */
    ust_time_t deadline;         /* the next timer: retransmit, probe, T1, T2, restart */
    ust_time_t interval;         /* the current retransmission interval (doubles) */
    unsigned tries;              /* messages sent in this state */
    unsigned probes;             /* ARP probes sent */
    struct ust_dhcp_lease offer; /* the offer being requested or probed */
    struct ust_dhcp_lease lease; /* the lease held (BOUND, RENEWING, REBINDING) */
};

/* cfg NULL: defaults. seed feeds the xids and jitter. */
void dhcpc_init(struct dhcpc *c, const struct ust_dhcp_config *cfg, const uint8_t mac[6],
                uint16_t dev_mtu, uint64_t seed);
/* Starts from INIT: sends the first DISCOVER now. */
void dhcpc_start(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out);
/* A message from a server (already parsed). Returns a dhcpc_reject. */
int dhcpc_input(struct dhcpc *c, const struct dhcp_repr *m, ust_time_t now, struct dhcpc_out *out);
/* Runs the timer if it is due. */
void dhcpc_timer(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out);
/* ARP says another host uses the address being probed (RFC 5227 2.1.1):
 * DECLINE it and start over after cfg.decline_wait. */
void dhcpc_conflict(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out);
/* Stops: with a lease, sends a RELEASE (when release is set) and reports it
 * LOST. */
void dhcpc_stop(struct dhcpc *c, bool release, ust_time_t now, struct dhcpc_out *out);
/* The address being probed, if any (0 otherwise). */
uint32_t dhcpc_probing(const struct dhcpc *c);

const char *dhcpc_state_name(enum dhcpc_state st);

#endif
