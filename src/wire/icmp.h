/* ICMP messages (RFC 792). */
#ifndef USTACK_WIRE_ICMP_H
#define USTACK_WIRE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#define ICMP_HDR_LEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12
#define ICMP_TIMESTAMP 13
#define ICMP_TIMESTAMP_REPLY 14

/* Destination unreachable codes */
#define ICMP_NET_UNREACH 0
#define ICMP_HOST_UNREACH 1
#define ICMP_PROTO_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4

struct icmp_repr {
    uint8_t type, code;
    uint32_t rest;          /* bytes 4..7: id<<16|seq for echo, unused/MTU for errors */
    const uint8_t *payload; /* points into the parsed buffer / the data to emit */
    size_t payload_len;
};

/* WIRE_ETRUNC (< 8 bytes) or WIRE_ECSUM; the message is the whole buffer. */
int icmp_parse(const uint8_t *buf, size_t len, struct icmp_repr *r);
/* Writes 8 + payload_len bytes with the checksum. buf may already hold the
 * payload at buf + 8 (then r->payload == buf + 8 and nothing is copied). */
void icmp_emit(const struct icmp_repr *r, uint8_t *buf);

/* Errors, as opposed to queries (RFC 1122 3.2.2). */
static inline int icmp_is_error(uint8_t type)
{
    return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
           type == ICMP_TIME_EXCEEDED || type == ICMP_PARAM_PROBLEM;
}

#endif
