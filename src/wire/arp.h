/* ARP packets for IPv4 over Ethernet (RFC 826). */
#ifndef USTACK_WIRE_ARP_H
#define USTACK_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#define ARP_LEN 28 /* Ethernet/IPv4 ARP body */
#define ARP_HRD_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_repr {
    uint16_t op;
    uint8_t sha[6];
    uint32_t spa; /* host order */
    uint8_t tha[6];
    uint32_t tpa;
};

/* WIRE_OK; WIRE_ETRUNC when shorter than ARP_LEN; WIRE_EUNSUPP when the
 * hardware/protocol types or sizes are not Ethernet/IPv4 or the opcode is
 * neither request nor reply. Trailing bytes (Ethernet padding) are ignored. */
int arp_parse(const uint8_t *buf, size_t len, struct arp_repr *r);
/* Writes ARP_LEN bytes. */
void arp_emit(const struct arp_repr *r, uint8_t *buf);

#endif
