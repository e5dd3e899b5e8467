/* Ethernet II frames (IEEE 802.3 with an ethertype). */
#ifndef USTACK_WIRE_ETHERNET_H
#define USTACK_WIRE_ETHERNET_H

#include <stddef.h>
#include <stdint.h>

#define ETH_ADDR_LEN 6
#define ETH_HDR_LEN 14
#define ETH_MIN_FRAME 60 /* without the FCS; shorter frames are padded */
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_QINQ 0x88a8

struct eth_repr {
    uint8_t dst[ETH_ADDR_LEN];
    uint8_t src[ETH_ADDR_LEN];
    uint16_t type;
};

/* WIRE_OK or WIRE_ETRUNC. The payload starts at ETH_HDR_LEN. */
int eth_parse(const uint8_t *buf, size_t len, struct eth_repr *r);
/* Writes ETH_HDR_LEN bytes. */
void eth_emit(const struct eth_repr *r, uint8_t *buf);

extern const uint8_t eth_broadcast[ETH_ADDR_LEN];
static inline int eth_is_multicast(const uint8_t *a) { return a[0] & 1; }
int eth_is_broadcast(const uint8_t *a);
int eth_is_zero(const uint8_t *a);
/* "02:00:00:00:00:01"; buf holds 18 bytes. */
char *eth_format(const uint8_t *a, char *buf);

#endif
