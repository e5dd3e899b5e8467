/* DHCP messages (RFC 2131) and the options the client speaks (RFC 2132). */
#ifndef USTACK_WIRE_DHCP_H
#define USTACK_WIRE_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/bytes.h" /* enum wire_err */

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_FIXED_LEN 236 /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN 240   /* the fixed part and the magic cookie */
#define DHCP_EMIT_LEN 300  /* RFC 1542 3.1: BOOTP messages of at least 300 bytes */
#define DHCP_MAGIC 0x63825363u
#define DHCP_MAX_DNS 3
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_op { DHCP_BOOTREQUEST = 1, DHCP_BOOTREPLY = 2 };

/* Option 53 (RFC 2132 9.6). */
enum dhcp_type {
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    DHCP_REQUEST = 3,
    DHCP_DECLINE = 4,
    DHCP_ACK = 5,
    DHCP_NAK = 6,
    DHCP_RELEASE = 7,
    DHCP_INFORM = 8,
};

/* Option codes used here (RFC 2132). */
enum {
    DHCP_OPT_PAD = 0,
    DHCP_OPT_SUBNET_MASK = 1,
    DHCP_OPT_ROUTER = 3,
    DHCP_OPT_DNS = 6,
    DHCP_OPT_MTU = 26,
    DHCP_OPT_REQUESTED_IP = 50,
    DHCP_OPT_LEASE_TIME = 51,
    DHCP_OPT_OVERLOAD = 52,
    DHCP_OPT_MSG_TYPE = 53,
    DHCP_OPT_SERVER_ID = 54,
    DHCP_OPT_PARAM_LIST = 55,
    DHCP_OPT_MESSAGE = 56,
    DHCP_OPT_MAX_SIZE = 57,
    DHCP_OPT_T1 = 58,
    DHCP_OPT_T2 = 59,
    DHCP_OPT_CLIENT_ID = 61,
    DHCP_OPT_END = 255,
};

/* A message in host order. has_* say which options were present; a value
 * whose option was absent is 0. */
struct dhcp_repr {
    uint8_t op;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr;
    uint8_t chaddr[6];
    uint8_t type; /* option 53; 0 when absent */
    bool has_mask, has_lease, has_t1, has_t2, has_mtu;
    uint32_t server_id, requested_ip; /* 0: absent */
    uint32_t mask, lease, t1, t2;     /* lease, t1, t2 in seconds */
    uint32_t router;                  /* the first router; 0: none */
    uint32_t dns[DHCP_MAX_DNS];
    unsigned ndns;
    uint16_t mtu;
    char message[64]; /* option 56, NUL-terminated, non-printables as '?' */
};

/* Parse results beyond enum wire_err (wire/bytes.h). */
enum {
    DHCP_EOPTION = -20, /* an option runs past the message or has an impossible length */
    DHCP_EMAGIC = -21,  /* no magic cookie, or not Ethernet (htype 1, hlen 6) */
};

/* Parses a message (the UDP payload). WIRE_OK, WIRE_ETRUNC (shorter than
 * 240 bytes), DHCP_EMAGIC, DHCP_EOPTION. Options in sname/file (option 52)
 * are not read. Unknown options are skipped; known ones must have the
 * length RFC 2132 gives them. */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_repr *r);

/* Writes a client message: the fixed part from r, then options 53, 61
 * (client id: type 1 + chaddr), 50 and 54 when non-zero, and for DISCOVER
 * and REQUEST 55 (mask, router, DNS, MTU, lease, T1, T2) and 57 (1500);
 * padded to DHCP_EMIT_LEN. Returns the length, or 0 if cap is too small
 * (DHCP_EMIT_LEN always suffices). */
size_t dhcp_emit(const struct dhcp_repr *r, uint8_t *buf, size_t cap);

const char *dhcp_type_name(uint8_t type);

#endif
