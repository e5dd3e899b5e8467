/* ICMPv6 (RFC 4443), neighbour discovery messages (RFC 4861 4, with the
 * checks of 6.1.1, 6.1.2, 7.1.1, 7.1.2 and 8.1 that the message alone
 * allows) and MLDv2 listener reports (RFC 3810 5.2).
 *
 * Sans-I/O: parsers fill repr structs, emitters write into the caller's
 * buffer with the checksum over the IPv6 pseudo-header. What the checks
 * cannot see (our addresses, the neighbour cache, the current router) is
 * the network layer's. */
#ifndef USTACK_WIRE_ICMPV6_H
#define USTACK_WIRE_ICMPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ipv6.h"

#define ICMPV6_HDR_LEN 8 /* type, code, checksum and the 4 bytes every message has */

/* Errors (RFC 4443 3) */
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PACKET_TOO_BIG 2
#define ICMPV6_TIME_EXCEEDED 3
#define ICMPV6_PARAM_PROBLEM 4
/* Informational (RFC 4443 4, RFC 4861 4, RFC 3810 5) */
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129
#define ICMPV6_MLD_QUERY 130
#define ICMPV6_ROUTER_SOLICIT 133
#define ICMPV6_ROUTER_ADVERT 134
#define ICMPV6_NEIGHBOR_SOLICIT 135
#define ICMPV6_NEIGHBOR_ADVERT 136
#define ICMPV6_REDIRECT 137
#define ICMPV6_MLD2_REPORT 143

/* Destination Unreachable codes */
#define ICMPV6_DU_NO_ROUTE 0
#define ICMPV6_DU_ADMIN 1
#define ICMPV6_DU_BEYOND_SCOPE 2
#define ICMPV6_DU_ADDR 3
#define ICMPV6_DU_PORT 4
#define ICMPV6_DU_POLICY 5
#define ICMPV6_DU_REJECT_ROUTE 6
/* Time Exceeded codes */
#define ICMPV6_TE_HOP_LIMIT 0
#define ICMPV6_TE_REASSEMBLY 1
/* Parameter Problem codes: ICMPV6_PP_* in wire/ipv6.h */

/* RFC 4443 2.4 (c): an error carries as much of the packet it is about as
 * fits without the error exceeding the minimum MTU. */
#define ICMPV6_ERR_QUOTE_MAX (IPV6_MIN_MTU - IPV6_HDR_LEN - ICMPV6_HDR_LEN)

struct icmpv6_repr {
    uint8_t type, code;
    uint32_t rest;          /* bytes 4..7: id<<16|seq for echo; MTU (Packet Too Big);
                    * pointer (Parameter Problem); 0 for the other errors */
    const uint8_t *payload; /* from byte 8: the quote, the echo data, the ND body */
    size_t payload_len;
};

/* WIRE_ETRUNC (fewer than 8 bytes) or WIRE_ECSUM (over the pseudo-header
 * of src and dst); the message is the whole buffer. */
int icmpv6_parse(const uint8_t *buf, size_t len, const struct ipv6_addr *src,
                 const struct ipv6_addr *dst, struct icmpv6_repr *r);
/* Writes 8 + payload_len bytes with the checksum. buf may already hold the
 * payload at buf + 8 (then nothing is copied). */
void icmpv6_emit(const struct icmpv6_repr *r, const struct ipv6_addr *src,
                 const struct ipv6_addr *dst, uint8_t *buf);

static inline bool icmpv6_is_error(uint8_t type) { return type < 128; }

/* Writes an error of type/code (rest: MTU or pointer) quoting the first
 * bytes of the invoking packet pkt, as many as fit in ICMPV6_ERR_QUOTE_MAX
 * and in cap. Returns the message's length; 0 when cap is below 8. */
size_t icmpv6_error_emit(uint8_t type, uint8_t code, uint32_t rest, const struct ipv6_addr *src,
                         const struct ipv6_addr *dst, const uint8_t *pkt, size_t pkt_len,
                         uint8_t *buf, size_t cap);

/* RFC 4443 2.4 (e): whether an error of type/code may be sent about pkt
 * (a whole IPv6 packet, len bytes, as received), which came as link-layer
 * multicast or broadcast when link_mcast. Never about an ICMPv6 error or
 * a Redirect, nor to an unspecified or multicast source; to a packet sent
 * to a multicast address only Packet Too Big, and Parameter Problem code 2
 * for an option whose action is IPV6_OPT_DISCARD_ICMP (opt_action; it is
 * read only then). */
bool icmpv6_error_allowed(uint8_t type, uint8_t code, enum ipv6_opt_action opt_action,
                          const uint8_t *pkt, size_t len, bool link_mcast);

/* ---- neighbour discovery (RFC 4861) ---- */

#define ND_HOP_LIMIT 255
#define ND_RS_LEN 8
#define ND_RA_LEN 16
#define ND_NS_LEN 24
#define ND_NA_LEN 24
#define ND_REDIRECT_LEN 40

/* Options (RFC 4861 4.6) */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_OPT_PREFIX 3
#define ND_OPT_REDIRECTED 4
#define ND_OPT_MTU 5

#define ND_RA_MANAGED 0x80
#define ND_RA_OTHER 0x40
#define ND_NA_ROUTER 0x80 /* the first byte after the checksum */
#define ND_NA_SOLICITED 0x40
#define ND_NA_OVERRIDE 0x20
#define ND_PREFIX_ONLINK 0x80
#define ND_PREFIX_AUTO 0x40

#define ND_PREFIX_MAX 8 /* prefix options kept from one RA; more are counted */

struct nd_prefix {
    uint8_t len;               /* bits */
    uint8_t flags;             /* ND_PREFIX_ONLINK, ND_PREFIX_AUTO */
    uint32_t valid, preferred; /* seconds; 0xffffffff is infinity */
    struct ipv6_addr prefix;
};

/* What the option walker found (and, for nd_emit, what to write). Of each
 * kind but the prefix, the first option counts. */
struct nd_opts {
    bool has_slla, has_tlla, has_mtu;
    uint8_t slla[6], tlla[6]; /* Ethernet addresses (RFC 2464 8) */
    uint32_t mtu;
    unsigned n_prefix;       /* prefix options kept, */
    unsigned prefix_dropped; /* and those beyond ND_PREFIX_MAX */
    struct nd_prefix prefix[ND_PREFIX_MAX];
    const uint8_t *redirected; /* Redirected Header's data (the quote), if any */
    size_t redirected_len;
    unsigned unknown; /* options skipped, as RFC 4861 4.6 says */
};

struct nd_msg {
    uint8_t type; /* ICMPV6_ROUTER_SOLICIT .. ICMPV6_REDIRECT */
    /* RA */
    uint8_t cur_hop_limit;
    uint8_t ra_flags;                       /* ND_RA_MANAGED, ND_RA_OTHER */
    uint16_t router_lifetime;               /* seconds */
    uint32_t reachable_time, retrans_timer; /* milliseconds */
    /* NA */
    uint8_t na_flags; /* ND_NA_ROUTER, ND_NA_SOLICITED, ND_NA_OVERRIDE */
    /* NS, NA, Redirect */
    struct ipv6_addr target;
    struct ipv6_addr dest; /* Redirect: the destination */
    struct nd_opts opts;
};

/* Why a message fails validation; each is a drop counter's name
 * (nd_err_name). */
enum nd_err {
    ND_OK = 0,
    ND_ETYPE,            /* not RS, RA, NS, NA or Redirect */
    ND_EHOPLIMIT,        /* IP hop limit not 255: not from this link */
    ND_ECODE,            /* ICMP code not 0 */
    ND_ELEN,             /* shorter than the message's fixed part */
    ND_EOPTLEN,          /* an option of length 0, or past the end */
    ND_EOPTBAD,          /* a known option of the wrong length */
    ND_ETARGET_MCAST,    /* NS/NA target is multicast */
    ND_ESRC_NOT_LL,      /* RA/Redirect source not link-local */
    ND_EUNSPEC_SLLA,     /* RS/NS from :: with a source link-layer option */
    ND_EUNSPEC_DST,      /* NS from :: not to a solicited-node address */
    ND_ESOLICITED_MCAST, /* NA to multicast with S set */
    ND_EREDIRECT_DEST,   /* Redirect destination is multicast */
    ND_EREDIRECT_TARGET, /* Redirect target neither link-local nor the destination */
    ND_ERRORS
};
const char *nd_err_name(enum nd_err e);

/* Validates and parses the ND message msg (the whole ICMPv6 message, len
 * bytes, its checksum already checked by icmpv6_parse) that came in the
 * packet whose header is ip. */
enum nd_err nd_parse(const struct ipv6_repr *ip, const uint8_t *msg, size_t len, struct nd_msg *m);
/* Walks the options of an ND message (opts, len bytes after the fixed
 * part): ND_OK, ND_EOPTLEN or ND_EOPTBAD. */
enum nd_err nd_opts_parse(const uint8_t *opts, size_t len, struct nd_opts *o);
/* Writes RS, RA, NS or NA m with the options m->opts names (source and
 * target link-layer addresses, MTU, prefixes) and the checksum. Returns
 * the message's length, 0 when it does not fit in cap or m->type is not
 * one of those four (a host never sends a Redirect). */
size_t nd_emit(const struct nd_msg *m, const struct ipv6_addr *src, const struct ipv6_addr *dst,
               uint8_t *buf, size_t cap);

/* ---- MLDv2 listener reports (RFC 3810 5.2) ---- */

#define MLD2_IS_INCLUDE 1
#define MLD2_IS_EXCLUDE 2
#define MLD2_TO_INCLUDE 3  /* with no sources: leave */
#define MLD2_TO_EXCLUDE 4  /* with no sources: join */
#define MLD2_RECORD_LEN 20 /* with no sources */

struct mld2_record {
    uint8_t type; /* MLD2_* */
    struct ipv6_addr group;
};

/* A report (to ff02::16, hop limit 1, with a router alert hop-by-hop
 * header: ipv6_hbh_router_alert_emit) of n records without sources, from
 * src. Returns its length, 0 when it does not fit in cap. */
size_t mld2_report_emit(const struct ipv6_addr *src, const struct mld2_record *recs, size_t n,
                        uint8_t *buf, size_t cap);

#endif
