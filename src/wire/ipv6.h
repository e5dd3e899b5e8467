/* IPv6 headers (RFC 8200), extension headers, and addresses (RFC 4291,
 * RFC 5952 text, RFC 6724 scopes).
 *
 * Sans-I/O like the other wire modules: parsers check lengths and fill
 * repr structs that point into the caller's buffer; emitters write into a
 * buffer the caller sized. What to do about a verdict (count it, send an
 * ICMPv6 Parameter Problem) is the network layer's business: the walker
 * only says what RFC 8200 requires and where (the pointer). */
#ifndef USTACK_WIRE_IPV6_H
#define USTACK_WIRE_IPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPV6_HDR_LEN 40
#define IPV6_MIN_MTU 1280 /* RFC 8200 5: every link carries this much */
#define IPV6_MAX_PAYLOAD 65535
#define IPV6_FRAG_HDR_LEN 8

/* Next Header values (IANA "Assigned Internet Protocol Numbers"). */
#define IPV6_NH_HOPOPTS 0
#define IPV6_NH_TCP 6
#define IPV6_NH_UDP 17
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_ESP 50
#define IPV6_NH_AH 51
#define IPV6_NH_ICMPV6 58
#define IPV6_NH_NONE 59
#define IPV6_NH_DSTOPTS 60

/* Options of the hop-by-hop and destination options headers (RFC 8200 4.2). */
#define IPV6_OPT_PAD1 0
#define IPV6_OPT_PADN 1
#define IPV6_OPT_ROUTER_ALERT 5 /* RFC 2711; value 0: MLD (RFC 3810 5) */

/* Where the fields are, for Parameter Problem pointers. */
#define IPV6_OFF_PAYLOAD_LEN 4
#define IPV6_OFF_NEXT_HDR 6

struct ipv6_addr {
    uint8_t a[16]; /* network order, as on the wire */
};

struct ipv6_repr {
    uint8_t tclass;
    uint32_t flow; /* 20 bits */
    uint16_t payload_len;
    uint8_t next_hdr;
    uint8_t hop_limit;
    struct ipv6_addr src, dst;
};

/* WIRE_ETRUNC (fewer than 40 bytes), WIRE_EVERSION (not 6), WIRE_ELEN
 * (payload length beyond the bytes present). Bytes past 40 + payload_len
 * (link padding) are not part of the packet. A payload length of 0 is
 * taken as it is: jumbograms (RFC 2675) are not spoken, and the walker
 * finds a hop-by-hop header that does not fit. */
int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_repr *r);
/* Writes the 40-byte header. */
void ipv6_emit(const struct ipv6_repr *r, uint8_t *buf);

/* ---- extension headers (RFC 8200 4) ---- */

/* What an unrecognised option asks for: the two high-order bits of its
 * type (RFC 8200 4.2). */
enum ipv6_opt_action {
    IPV6_OPT_SKIP = 0,                 /* 00: skip over it */
    IPV6_OPT_DISCARD = 1,              /* 01: discard the packet silently */
    IPV6_OPT_DISCARD_ICMP = 2,         /* 10: discard, Parameter Problem code 2 */
    IPV6_OPT_DISCARD_ICMP_UNICAST = 3, /* 11: the same, unless the destination is multicast */
};
static inline enum ipv6_opt_action ipv6_opt_action_of(uint8_t type)
{
    return (enum ipv6_opt_action)(type >> 6);
}

/* The walker's verdicts. IPV6_EXT_OK and IPV6_EXT_FRAGMENT go on; every
 * other one drops the packet, and the name table (ipv6_ext_verdict_name)
 * gives each its drop counter's name. */
enum ipv6_ext_verdict {
    IPV6_EXT_OK = 0,        /* reached the upper layer (proto, proto_off) */
    IPV6_EXT_FRAGMENT,      /* stopped at a fragment header: reassemble, then walk again */
    IPV6_EXT_TRUNC,         /* a header runs past the payload */
    IPV6_EXT_OPT_BAD,       /* an option runs past its header, or a known one is malformed */
    IPV6_EXT_HBH_NOT_FIRST, /* hop-by-hop anywhere but right after the IPv6 header */
    IPV6_EXT_ROUTING,       /* routing header with segments left (no type is processed) */
    IPV6_EXT_OPT_UNKNOWN,   /* an unrecognised option whose action discards */
    IPV6_EXT_TOO_MANY,      /* more than IPV6_EXT_MAX extension headers */
    IPV6_EXT_VERDICTS
};
#define IPV6_EXT_MAX 8 /* extension headers walked before the packet is dropped */

/* ICMPv6 Parameter Problem codes (RFC 4443 3.4, RFC 7112). */
#define ICMPV6_PP_HEADER 0     /* erroneous header field */
#define ICMPV6_PP_NEXT_HDR 1   /* unrecognised Next Header */
#define ICMPV6_PP_OPTION 2     /* unrecognised IPv6 option */
#define ICMPV6_PP_FIRST_FRAG 3 /* first fragment lacks the header chain */

struct ipv6_frag_info {
    uint16_t offset; /* bytes: the field times 8 */
    bool more;       /* M */
    uint32_t id;
    uint8_t next_hdr; /* of the fragmentable part */
    size_t hdr_off;   /* of the fragment header, from the IPv6 header's start */
    size_t nh_off;    /* of the Next Header byte that named it (6: the IPv6 header) */
};

struct ipv6_ext {
    enum ipv6_ext_verdict verdict;
    /* IPV6_EXT_OK: the upper-layer protocol (or an extension header this
     * walker does not take apart: ESP, AH, ...; IPV6_NH_NONE: nothing
     * follows), where its bytes start, and where the byte that named it
     * is (the pointer of a Parameter Problem code 1, when the caller does
     * not speak proto). Offsets count from the IPv6 header's first byte. */
    uint8_t proto;
    size_t proto_off;
    size_t nh_off;
    /* IPV6_EXT_FRAGMENT: the fragment header. */
    struct ipv6_frag_info frag;
    /* A routing header seen (with IPV6_EXT_ROUTING: the one refused). */
    bool has_routing;
    uint8_t rt_type, rt_segleft;
    /* A router alert option seen in the hop-by-hop header, and its value. */
    bool router_alert;
    uint16_t router_alert_value;
    /* When the verdict asks for it (RFC 8200 4.2, 4.4, 4.0 and RFC 4443
     * 3.4): a Parameter Problem with this code and pointer is due. */
    bool icmp;
    uint8_t icmp_code;
    uint32_t pointer;
    enum ipv6_opt_action action; /* IPV6_EXT_OPT_UNKNOWN: what the option asked */
};

/* Walks the extension headers of the packet in buf (its IPv6 header
 * parsed into ip; len covers at least 40 + payload_len, and only those
 * bytes are read). Hop-by-hop and destination options have their options
 * walked; Pad1, PadN and (in hop-by-hop) Router Alert are recognised,
 * every other option's type says what to do. A routing header with
 * segments left 0 is skipped; with segments left, whatever its type
 * (type 0 is never processed, RFC 5095), the packet is refused with a
 * Parameter Problem code 0 pointing at the routing type. A fragment
 * header stops the walk. Hop-by-hop after the first header gets code 1
 * pointing at the Next Header byte that named it. Returns e->verdict. */
enum ipv6_ext_verdict ipv6_ext_walk(const uint8_t *buf, const struct ipv6_repr *ip,
                                    struct ipv6_ext *e);
const char *ipv6_ext_verdict_name(enum ipv6_ext_verdict v);

/* Whether the headers that follow a fragment header whose fragment starts
 * at offset 0 (next header nh, the fragment's data frag/len) reach the
 * upper-layer header, and that header's first bytes (20 of TCP, 8 of UDP,
 * 4 of ICMPv6) fit: RFC 8200 4.5 and RFC 7112 want such a first fragment
 * discarded with a Parameter Problem code 3. */
bool ipv6_first_frag_complete(uint8_t nh, const uint8_t *frag, size_t len);

/* The length of the per-fragment headers of a packet to be fragmented
 * (RFC 8200 4.5: the IPv6 header and the extension headers up to and
 * including a routing header, else a hop-by-hop header) and the offset
 * of the Next Header byte that names the first fragmentable header.
 * -1 when the headers run past len. */
int ipv6_unfragmentable_len(const uint8_t *pkt, size_t len, size_t *nh_off);

/* Writes an 8-byte hop-by-hop header carrying a router alert with value
 * (0: MLD), followed by next_hdr: what MLD messages need (RFC 3810 5). */
void ipv6_hbh_router_alert_emit(uint8_t *buf, uint8_t next_hdr, uint16_t value);

/* ---- addresses (RFC 4291) ---- */

#define IPV6_ADDR_STRLEN 46 /* "ffff:...:255.255.255.255" and its NUL */

extern const struct ipv6_addr ipv6_addr_any;           /* :: */
extern const struct ipv6_addr ipv6_addr_all_nodes;     /* ff02::1 */
extern const struct ipv6_addr ipv6_addr_all_routers;   /* ff02::2 */
extern const struct ipv6_addr ipv6_addr_mldv2_routers; /* ff02::16 */

bool ipv6_addr_eq(const struct ipv6_addr *a, const struct ipv6_addr *b);
bool ipv6_addr_is_unspecified(const struct ipv6_addr *a);
bool ipv6_addr_is_loopback(const struct ipv6_addr *a);
static inline bool ipv6_addr_is_multicast(const struct ipv6_addr *a) { return a->a[0] == 0xff; }
/* fe80::/10 */
static inline bool ipv6_addr_is_link_local(const struct ipv6_addr *a)
{
    return a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}
/* ::ffff:0:0/96 (RFC 4291 2.5.5.2) */
bool ipv6_addr_is_v4_mapped(const struct ipv6_addr *a);
/* ff02::1:ff00:0/104 */
bool ipv6_addr_is_solicited_node(const struct ipv6_addr *a);
/* The solicited-node multicast address of a (RFC 4291 2.7.1). */
void ipv6_solicited_node(const struct ipv6_addr *a, struct ipv6_addr *out);
/* The Ethernet multicast MAC of a multicast address (RFC 2464 7): 33:33
 * and its last 32 bits. */
void ipv6_mcast_mac(const struct ipv6_addr *a, uint8_t mac[6]);

/* Scopes (RFC 4291 2.7, RFC 6724 3.1). */
enum ipv6_scope {
    IPV6_SCOPE_INTERFACE = 0x1,
    IPV6_SCOPE_LINK = 0x2,
    IPV6_SCOPE_ADMIN = 0x4,
    IPV6_SCOPE_SITE = 0x5,
    IPV6_SCOPE_ORG = 0x8,
    IPV6_SCOPE_GLOBAL = 0xe,
};
/* A multicast address's scope field; for unicast, RFC 6724 3.1: link-local
 * and loopback are link scope, fec0::/10 site, IPv4-mapped 127/8 and
 * 169.254/16 link, everything else global. */
unsigned ipv6_addr_scope(const struct ipv6_addr *a);

/* How many leading bits a and b share (0..128): RFC 6724 rule 8 and
 * routing's longest match. */
unsigned ipv6_prefix_match_len(const struct ipv6_addr *a, const struct ipv6_addr *b);
/* Whether a is inside prefix/len. */
bool ipv6_addr_in_prefix(const struct ipv6_addr *a, const struct ipv6_addr *prefix, unsigned len);

/* Text (RFC 4291 2.2 in, RFC 5952 out). Parse takes the full, the
 * compressed ("::") and the IPv4-suffixed forms, hex digits in either
 * case; no zone ("%eth0"), which the caller splits off. 0 or -EINVAL. */
int ipv6_addr_parse(const char *str, struct ipv6_addr *out);
/* "2001:db8::/32": 0 or -EINVAL; without "/len", len is 128. */
int ipv6_prefix_parse(const char *str, struct ipv6_addr *out, unsigned *len);
/* RFC 5952 4: lower case, no leading zeros, the longest run of two or more
 * zero fields as "::" (the first of equal runs); ::ffff:a.b.c.d for
 * IPv4-mapped addresses (RFC 5952 5). Returns buf. */
char *ipv6_addr_format(const struct ipv6_addr *a, char buf[IPV6_ADDR_STRLEN]);

#endif
