/* DNS messages (RFC 1035 4, AAAA of RFC 3596): queries out, answers in,
 * with every name and record checked against the bytes present. */
#ifndef USTACK_WIRE_DNS_H
#define USTACK_WIRE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/bytes.h" /* enum wire_err */

#define DNS_PORT 53
#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255 /* octets on the wire (RFC 1035 2.3.4); 253 characters as text */
#define DNS_LABEL_MAX 63
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_ANSWER_ADDRS 8    /* addresses taken from one reply */
#define DNS_ANSWER_CHAIN 8    /* CNAME links followed inside one reply */
#define DNS_ANSWER_RECORDS 64 /* answer records looked at in one reply */
#define DNS_MAX_QUERY (DNS_HDR_LEN + DNS_NAME_MAX + 4)

/* Parse results beyond enum wire_err (wire/bytes.h). */
enum {
    DNS_EMALFORMED = -30, /* a name or record runs past the message, a pointer loops or
                             points forward, a label is reserved, a name is too long */
    DNS_EMISMATCH = -31,  /* not a response, other id, or another question */
    DNS_ELOOP = -32,      /* the CNAME chain is longer than DNS_ANSWER_CHAIN */
};

struct dns_answer {
    uint16_t id;
    uint8_t rcode;
    bool truncated; /* TC: ask again over TCP */
    unsigned naddr;
    uint8_t addr[DNS_ANSWER_ADDRS][16]; /* 4 bytes (A) or 16 (AAAA), network order */
    uint32_t ttl;                       /* the least TTL of the records used */
    unsigned chain;                     /* CNAME links followed */
    char cname[DNS_NAME_MAX + 1];       /* where the chain ended without an address ("" if not) */
};

/* Checks a host name as text: 1..253 characters, labels of 1..63, one
 * optional final dot. true if it can be asked. */
bool dns_name_ok(const char *name);
/* Writes a query (RD set, one question, class IN). Returns its length, or
 * 0 if the name is not dns_name_ok or cap is too small. */
size_t dns_emit_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);
/* Reads the reply to the query (id, qname, qtype): checks the header and
 * the question, then follows qname through CNAME records to the records
 * of qtype. WIRE_OK (out filled; an NXDOMAIN or an empty answer is WIRE_OK
 * with rcode or naddr telling), WIRE_ETRUNC, DNS_EMALFORMED, DNS_EMISMATCH,
 * DNS_ELOOP. Records for names outside the chain are ignored. */
int dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, const char *qname, uint16_t qtype,
                    struct dns_answer *out);
/* Reads the name at *off (following compression pointers, only
 * backwards) as lower-case text without a final dot ("" for the root);
 * *off moves past it. WIRE_OK, WIRE_ETRUNC or DNS_EMALFORMED. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char out[DNS_NAME_MAX + 1]);

#endif
