/* The DNS stub resolver: messages (dnsmasq's own replies, every
 * truncation, compression loops, oversized names, answers to other
 * questions), and ust_getaddrinfo over a scripted server behind the
 * resolver's transport seam with a virtual clock: retries across servers,
 * TCP on truncation, CNAME chains, the cache and its expiry, and
 * getaddrinfo's semantics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "runtime/resolver.h"
#include "ustack/dns.h"
#include "wire/bytes.h"
#include "wire/dns.h"

/* Replies of dnsmasq 2.89 (captured on a test namespace), id 0x1234:
 * web.test A 192.0.2.80; web.test AAAA 2001:db8::80; www.test A through
 * CNAME web.test; a.test AAAA through a.test -> www.test -> web.test;
 * nope.test A: NXDOMAIN. TTLs 0 (dnsmasq's default for local names). */
/* clang-format off */
static const uint8_t r_a[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x65, 0x62,
    0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x50};
static const uint8_t r_aaaa[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x65, 0x62,
    0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
static const uint8_t r_cname[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77, 0x77,
    0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x03, 0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
    0xc0, 0x26, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x50};
static const uint8_t r_cname2[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x0a, 0x03, 0x77, 0x77, 0x77, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x24,
    0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x03, 0x77, 0x65, 0x62, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0xc0, 0x3a, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
static const uint8_t r_nx[] = {
    0x12, 0x34, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x6e, 0x6f, 0x70,
    0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01};
/* clang-format on */

static const uint8_t v6_80[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x80};

static void parse_dnsmasq_replies(void **state)
{
    (void)state;
    struct dns_answer a;
    assert_int_equal(dns_parse_reply(r_a, sizeof(r_a), 0x1234, "web.test", DNS_TYPE_A, &a),
                     WIRE_OK);
    assert_int_equal(a.rcode, 0);
    assert_int_equal(a.naddr, 1);
    assert_int_equal(ld32(a.addr[0]), UST_IP4(192, 0, 2, 80));
    assert_int_equal(a.chain, 0);
    /* Case and a final dot do not matter (RFC 4343). */
    assert_int_equal(dns_parse_reply(r_a, sizeof(r_a), 0x1234, "WEB.Test.", DNS_TYPE_A, &a),
                     WIRE_OK);
    assert_int_equal(dns_parse_reply(r_aaaa, sizeof(r_aaaa), 0x1234, "web.test", DNS_TYPE_AAAA, &a),
                     WIRE_OK);
    assert_int_equal(a.naddr, 1);
    assert_memory_equal(a.addr[0], v6_80, 16);
    assert_int_equal(dns_parse_reply(r_cname, sizeof(r_cname), 0x1234, "www.test", DNS_TYPE_A, &a),
                     WIRE_OK);
    assert_int_equal(a.naddr, 1);
    assert_int_equal(a.chain, 1);
    assert_int_equal(ld32(a.addr[0]), UST_IP4(192, 0, 2, 80));
    assert_int_equal(dns_parse_reply(r_cname2, sizeof(r_cname2), 0x1234, "a.test", DNS_TYPE_AAAA,
                                     &a),
                     WIRE_OK);
    assert_int_equal(a.naddr, 1);
    assert_int_equal(a.chain, 2);
    assert_memory_equal(a.addr[0], v6_80, 16);
    assert_int_equal(dns_parse_reply(r_nx, sizeof(r_nx), 0x1234, "nope.test", DNS_TYPE_A, &a),
                     WIRE_OK);
    assert_int_equal(a.rcode, DNS_RCODE_NXDOMAIN);
    assert_int_equal(a.naddr, 0);
}

/* Any cut of a reply is refused, and never read past (each copy is exactly
 * len bytes on the heap, under ASan). */
static void every_truncation(void **state)
{
    (void)state;
    static const struct {
        const uint8_t *m;
        size_t len;
        const char *name;
        uint16_t type;
    } v[] = {
        {r_a, sizeof(r_a), "web.test", DNS_TYPE_A},
        {r_aaaa, sizeof(r_aaaa), "web.test", DNS_TYPE_AAAA},
        {r_cname, sizeof(r_cname), "www.test", DNS_TYPE_A},
        {r_cname2, sizeof(r_cname2), "a.test", DNS_TYPE_AAAA},
        {r_nx, sizeof(r_nx), "nope.test", DNS_TYPE_A},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (size_t len = 0; len < v[i].len; len++) {
            uint8_t *b = malloc(len ? len : 1);
            memcpy(b, v[i].m, len);
            struct dns_answer a;
            int err = dns_parse_reply(b, len, 0x1234, v[i].name, v[i].type, &a);
            assert_int_not_equal(err, WIRE_OK);
            assert_true(err == WIRE_ETRUNC || err == DNS_EMALFORMED);
            free(b);
        }
    }
}

static void not_our_answer(void **state)
{
    (void)state;
    struct dns_answer a;
    uint8_t b[sizeof(r_a)];
    assert_int_equal(dns_parse_reply(r_a, sizeof(r_a), 0x1235, "web.test", DNS_TYPE_A, &a),
                     DNS_EMISMATCH); /* id */
    assert_int_equal(dns_parse_reply(r_a, sizeof(r_a), 0x1234, "www.test", DNS_TYPE_A, &a),
                     DNS_EMISMATCH); /* name */
    assert_int_equal(dns_parse_reply(r_a, sizeof(r_a), 0x1234, "web.test", DNS_TYPE_AAAA, &a),
                     DNS_EMISMATCH); /* type */
    memcpy(b, r_a, sizeof(b));
    b[2] &= 0x7f; /* a query, not a response */
    assert_int_equal(dns_parse_reply(b, sizeof(b), 0x1234, "web.test", DNS_TYPE_A, &a),
                     DNS_EMISMATCH);
    memcpy(b, r_a, sizeof(b));
    b[5] = 2; /* two questions */
    assert_int_equal(dns_parse_reply(b, sizeof(b), 0x1234, "web.test", DNS_TYPE_A, &a),
                     DNS_EMISMATCH);
    memcpy(b, r_a, sizeof(b));
    b[25] = 3; /* class CH */
    assert_int_equal(dns_parse_reply(b, sizeof(b), 0x1234, "web.test", DNS_TYPE_A, &a),
                     DNS_EMISMATCH);
}

/* A reply for web.test A with the answer section given. */
static size_t reply_with(uint8_t *b, const uint8_t *answer, size_t alen, uint16_t ancount)
{
    memcpy(b, r_a, 26); /* header and question */
    st16(b + 6, ancount);
    memcpy(b + 26, answer, alen);
    return 26 + alen;
}

static void hostile_names(void **state)
{
    (void)state;
    uint8_t b[1024];
    struct dns_answer a;
    /* The answer's name points at itself: a loop. */
    static const uint8_t self[] = {0xc0, 26, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    size_t n = reply_with(b, self, sizeof(self), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
    /* A pointer forwards (to a label that points back to it). */
    static const uint8_t fwd[] = {0xc0, 28, 0xc0, 26, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    n = reply_with(b, fwd, sizeof(fwd), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
    /* A label running past the end. */
    static const uint8_t past[] = {40, 'a', 'b'};
    n = reply_with(b, past, sizeof(past), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), WIRE_ETRUNC);
    /* Reserved label types 0x40 and 0x80. */
    static const uint8_t ext[] = {0x41, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    n = reply_with(b, ext, sizeof(ext), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
    /* A name of 5 x 63-byte labels: over 255 bytes. */
    uint8_t big[5 * 64 + 1 + 14];
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        big[o++] = 63;
        memset(big + o, 'x', 63);
        o += 63;
    }
    big[o++] = 0;
    static const uint8_t rest[] = {0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    memcpy(big + o, rest, sizeof(rest));
    o += sizeof(rest);
    n = reply_with(b, big, o, 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
    /* An A record of 5 bytes. */
    static const uint8_t a5[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
    n = reply_with(b, a5, sizeof(a5), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
    /* More records announced than present. */
    static const uint8_t one[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4};
    n = reply_with(b, one, sizeof(one), 2);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), WIRE_ETRUNC);
    /* Records for names outside the chain are not taken. */
    static const uint8_t other[] = {1,    'x', 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 6, 6, 6, 6,
                                    0xc0, 12,  0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4};
    n = reply_with(b, other, sizeof(other), 2);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), WIRE_OK);
    assert_int_equal(a.naddr, 1);
    assert_int_equal(ld32(a.addr[0]), 0x01020304);
    assert_int_equal(a.ttl, 9);
    /* A CNAME loop inside one reply: web.test -> x -> web.test. */
    static const uint8_t loop[] = {0xc0, 12,  0, 5, 0, 1, 0, 0, 0, 9, 0, 3, 1, 'x',  0,
                                   1,    'x', 0, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 0xc0, 12};
    n = reply_with(b, loop, sizeof(loop), 2);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_ELOOP);
    /* A CNAME whose target runs past its rdata. */
    static const uint8_t cn_past[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 1, 'x', 0};
    n = reply_with(b, cn_past, sizeof(cn_past), 1);
    assert_int_equal(dns_parse_reply(b, n, 0x1234, "web.test", DNS_TYPE_A, &a), DNS_EMALFORMED);
}

static void query_bytes_and_names(void **state)
{
    (void)state;
    uint8_t q[DNS_MAX_QUERY];
    /* What dnsmasq was asked in the capture above, byte for byte. */
    static const uint8_t expect[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0, 0, 0, 0, 3,
                                     'w',  'e',  'b',  4,    't', 'e', 's', 't', 0, 0, 1, 0, 1};
    assert_int_equal(dns_emit_query(q, sizeof(q), 0x1234, "web.test", DNS_TYPE_A), sizeof(expect));
    assert_memory_equal(q, expect, sizeof(expect));
    assert_int_equal(dns_emit_query(q, sizeof(q), 0x1234, "web.test.", DNS_TYPE_A), sizeof(expect));
    assert_memory_equal(q, expect, sizeof(expect));
    assert_int_equal(dns_emit_query(q, sizeof(expect) - 1, 0x1234, "web.test", DNS_TYPE_A), 0);
    char name[300];
    memset(name, 'a', 63);
    name[63] = '\0';
    assert_true(dns_name_ok(name));
    memset(name, 'a', 64);
    name[64] = '\0';
    assert_false(dns_name_ok(name)); /* a label over 63 */
    for (int i = 0; i < 253; i++)
        name[i] = (i % 2) ? '.' : 'a';
    name[253] = '\0';
    assert_true(dns_name_ok(name));
    name[253] = 'a';
    name[254] = '\0';
    assert_false(dns_name_ok(name)); /* over 253 characters */
    assert_false(dns_name_ok(""));
    assert_false(dns_name_ok("."));
    assert_false(dns_name_ok("a..b"));
    assert_false(dns_name_ok(".a"));
    assert_true(dns_name_ok("example."));
    assert_int_equal(dns_emit_query(q, sizeof(q), 1, "a..b", DNS_TYPE_A), 0);
}

/* ---- the resolver over a scripted server ---- */

#define NS1 UST_IP4(192, 0, 2, 53)
#define NS2 UST_IP4(192, 0, 2, 54)

struct rec {
    const char *name; /* owner */
    uint16_t type;
    uint32_t ttl;
    const char *target; /* CNAME */
    uint8_t addr[16];
};

/* The scripted server: per call, what it does. */
enum act { ANSWER, TIMEOUT, TRUNCATE, WRONG_QUESTION, GARBAGE, SERVFAIL, NXDOMAIN };

struct fake {
    ust_time_t now;
    enum act script[32]; /* the action of UDP call i; ANSWER past the end */
    unsigned udp_calls, tcp_calls;
    ust_ip4_t server[32];
    ust_time_t timeout[32];
    char asked[32][DNS_NAME_MAX + 1];
    const struct rec *recs;
    size_t nrecs;
    bool cname_forever; /* every name is a CNAME to the next: n.test -> n+1.test */
};

static uint8_t *put_name(uint8_t *p, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        *p++ = (uint8_t)l;
        memcpy(p, name, l);
        p += l;
        name += l + (dot ? 1 : 0);
    }
    *p++ = 0;
    return p;
}

static size_t answer_for(struct fake *f, const uint8_t *q, size_t qlen, uint8_t *r, size_t cap,
                         enum act act, bool tcp)
{
    (void)cap;
    memcpy(r, q, qlen);
    r[2] = 0x81;
    r[3] = 0x80;
    size_t off = DNS_HDR_LEN;
    char qname[DNS_NAME_MAX + 1];
    assert_int_equal(dns_read_name(q, qlen, &off, qname), WIRE_OK);
    uint16_t qtype = ld16(q + off);
    if (act == NXDOMAIN) {
        r[3] = 0x83;
        return qlen;
    }
    if (act == SERVFAIL) {
        r[3] = 0x82;
        return qlen;
    }
    if (act == TRUNCATE && !tcp) {
        r[2] |= 0x02;
        return qlen;
    }
    if (act == WRONG_QUESTION) {
        r[DNS_HDR_LEN + 1] = '#'; /* same id, another name */
        return qlen;
    }
    if (act == GARBAGE) {
        st16(r + 6, 1);
        r[qlen] = 0xc0; /* a pointer to itself */
        r[qlen + 1] = (uint8_t)qlen;
        return qlen + 2;
    }
    uint8_t *p = r + qlen;
    uint16_t an = 0;
    if (f->cname_forever) {
        unsigned n = (unsigned)strtoul(qname, NULL, 10);
        char next[32];
        snprintf(next, sizeof(next), "%u.test", n + 1);
        p = put_name(p, qname);
        st16(p, DNS_TYPE_CNAME);
        st16(p + 2, 1);
        st32(p + 4, 60);
        uint8_t *rd = p + 10;
        uint8_t *end = put_name(rd, next);
        st16(p + 8, (uint16_t)(end - rd));
        p = end;
        an++;
    }
    for (size_t i = 0; i < f->nrecs; i++) {
        const struct rec *e = &f->recs[i];
        if (strcmp(e->name, qname) != 0 || (e->type != qtype && e->type != DNS_TYPE_CNAME))
            continue;
        p = put_name(p, e->name);
        st16(p, e->type);
        st16(p + 2, 1);
        st32(p + 4, e->ttl);
        uint8_t *rd = p + 10;
        uint8_t *end;
        if (e->type == DNS_TYPE_CNAME) {
            end = put_name(rd, e->target);
        } else {
            size_t l = e->type == DNS_TYPE_A ? 4 : 16;
            memcpy(rd, e->addr, l);
            end = rd + l;
        }
        st16(p + 8, (uint16_t)(end - rd));
        p = end;
        an++;
    }
    st16(r + 6, an);
    return (size_t)(p - r);
}

static ssize_t fake_udp(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q,
                        size_t qlen, uint8_t *reply, size_t cap, ust_time_t timeout)
{
    (void)s;
    struct fake *f = ctx;
    unsigned i = f->udp_calls++;
    enum act act = i < 32 ? f->script[i] : ANSWER;
    if (i < 32) {
        f->server[i] = server;
        f->timeout[i] = timeout;
        size_t off = DNS_HDR_LEN;
        char name[DNS_NAME_MAX + 1];
        assert_int_equal(dns_read_name(q, qlen, &off, name), WIRE_OK);
        snprintf(f->asked[i], sizeof(f->asked[i]), "%s", name);
    }
    if (act == TIMEOUT) {
        f->now += timeout;
        return -ETIMEDOUT;
    }
    return (ssize_t)answer_for(f, q, qlen, reply, cap, act, false);
}

static ssize_t fake_tcp(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q,
                        size_t qlen, uint8_t *reply, size_t cap, ust_time_t timeout)
{
    (void)s;
    (void)server;
    (void)timeout;
    struct fake *f = ctx;
    f->tcp_calls++;
    return (ssize_t)answer_for(f, q, qlen, reply, cap, ANSWER, true);
}

static ust_time_t fake_now(void *ctx) { return ((struct fake *)ctx)->now; }

static const struct rec zone[] = {
    {"web.test", DNS_TYPE_A, 30, NULL, {192, 0, 2, 80}},
    {"web.test", DNS_TYPE_AAAA, 30, NULL, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x80}},
    {"www.test", DNS_TYPE_CNAME, 300, "web.test", {0}},
    {"alias.test", DNS_TYPE_CNAME, 300, "www.test", {0}},
    {"v4only.test", DNS_TYPE_A, 30, NULL, {192, 0, 2, 81}},
};

struct rs {
    struct ust_stack *s;
    struct fake f;
};

static int rs_setup(void **state)
{
    struct rs *t = calloc(1, sizeof(*t));
    struct ust_config cfg;
    test_config(&cfg, 7);
    assert_int_equal(ust_stack_create(&cfg, &t->s), 0);
    t->f.now = 1000 * UST_SEC;
    t->f.recs = zone;
    t->f.nrecs = sizeof(zone) / sizeof(zone[0]);
    struct dns_transport tr = {fake_udp, fake_tcp, fake_now, &t->f};
    assert_int_equal(dns_resolver_set_transport(t->s, &tr, 1 * UST_SEC, 2), 0);
    ust_ip4_t ns[2] = {NS1, NS2};
    assert_int_equal(ust_dns_set_servers(t->s, ns, 2), 0);
    *state = t;
    return 0;
}

static int rs_teardown(void **state)
{
    struct rs *t = *state;
    ust_stack_destroy(t->s);
    free(t);
    return 0;
}

static const struct ust_stats *st(struct rs *t) { return ust_stack_stats(t->s); }

static uint32_t v4_of(const struct addrinfo *ai)
{
    struct sockaddr_in sin;
    assert_int_equal(ai->ai_family, AF_INET);
    assert_int_equal(ai->ai_addrlen, sizeof(sin));
    memcpy(&sin, ai->ai_addr, sizeof(sin));
    return ntohl(sin.sin_addr.s_addr);
}

static void a_and_aaaa(void **state)
{
    struct rs *t = *state;
    struct addrinfo *res = NULL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", "80", &hints, &res), 0);
    assert_non_null(res);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    assert_int_equal(res->ai_socktype, SOCK_STREAM);
    assert_int_equal(res->ai_protocol, IPPROTO_TCP);
    struct sockaddr_in sin;
    memcpy(&sin, res->ai_addr, sizeof(sin));
    assert_int_equal(ntohs(sin.sin_port), 80);
    /* The AAAA answer, as a sockaddr_in6. */
    const struct addrinfo *v6 = res->ai_next;
    assert_non_null(v6);
    assert_int_equal(v6->ai_family, AF_INET6);
    assert_int_equal(v6->ai_addrlen, sizeof(struct sockaddr_in6));
    struct sockaddr_in6 sin6;
    memcpy(&sin6, v6->ai_addr, sizeof(sin6));
    assert_memory_equal(&sin6.sin6_addr, v6_80, 16);
    assert_int_equal(ntohs(sin6.sin6_port), 80);
    assert_null(v6->ai_next);
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 2); /* A, then AAAA, from the first server */
    assert_int_equal(t->f.server[0], NS1);
    assert_int_equal(st(t)->dns.queries, 2);
    /* socktype 0: one result for TCP and one for UDP per address. */
    hints.ai_socktype = 0;
    hints.ai_family = AF_INET;
    assert_int_equal(ust_getaddrinfo(t->s, "v4only.test", NULL, &hints, &res), 0);
    assert_int_equal(res->ai_socktype, SOCK_STREAM);
    assert_int_equal(res->ai_next->ai_socktype, SOCK_DGRAM);
    assert_int_equal(res->ai_next->ai_protocol, IPPROTO_UDP);
    assert_null(res->ai_next->ai_next);
    ust_freeaddrinfo(res);
    /* A name with only an A record, asked for AAAA: no data. */
    hints.ai_family = AF_INET6;
    assert_int_equal(ust_getaddrinfo(t->s, "v4only.test", NULL, &hints, &res), EAI_NODATA);
    assert_null(res);
}

static void retries_across_servers(void **state)
{
    struct rs *t = *state;
    t->f.script[0] = TIMEOUT;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", "53", &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 2);
    assert_int_equal(t->f.server[0], NS1);
    assert_int_equal(t->f.server[1], NS2);
    assert_int_equal(st(t)->dns.timeouts, 1);
    assert_int_equal(st(t)->dns.retries, 1);
    /* Nobody answers: two rounds over both servers, the wait doubling. */
    t->f.udp_calls = 0;
    for (int i = 0; i < 8; i++)
        t->f.script[i] = TIMEOUT;
    assert_int_equal(ust_getaddrinfo(t->s, "www.test", NULL, &hints, &res), EAI_AGAIN);
    assert_null(res);
    assert_int_equal(t->f.udp_calls, 4);
    static const ust_ip4_t order[] = {NS1, NS2, NS1, NS2};
    static const ust_time_t waits[] = {1 * UST_SEC, 1 * UST_SEC, 2 * UST_SEC, 2 * UST_SEC};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t->f.server[i], order[i]);
        assert_int_equal(t->f.timeout[i], waits[i]);
    }
}

/* A hostile or broken server's reply moves on to the next server: it is
 * never taken as the answer. */
static void bad_replies_skipped(void **state)
{
    struct rs *t = *state;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    t->f.script[0] = WRONG_QUESTION;
    t->f.script[1] = GARBAGE;
    t->f.script[2] = SERVFAIL;
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 4);
    assert_int_equal(st(t)->dns.drop_mismatch, 1);
    assert_int_equal(st(t)->dns.drop_malformed, 1);
    assert_int_equal(st(t)->dns.servfail, 1);
}

static void truncated_falls_back_to_tcp(void **state)
{
    struct rs *t = *state;
    t->f.script[0] = TRUNCATE;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 1);
    assert_int_equal(t->f.tcp_calls, 1);
    assert_int_equal(st(t)->dns.tcp_fallbacks, 1);
}

static void cname_chains(void **state)
{
    struct rs *t = *state;
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_CANONNAME};
    struct addrinfo *res = NULL;
    /* alias.test -> www.test -> web.test: the fake answers one link per
     * reply, so the resolver asks again for each target. */
    assert_int_equal(ust_getaddrinfo(t->s, "alias.test", NULL, &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    assert_string_equal(res->ai_canonname, "web.test");
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 3);
    assert_string_equal(t->f.asked[0], "alias.test");
    assert_string_equal(t->f.asked[1], "www.test");
    assert_string_equal(t->f.asked[2], "web.test");
    /* A server that answers every name with a CNAME to another: the chain
     * is cut after 8 links, not followed for ever. */
    t->f.udp_calls = 0;
    t->f.cname_forever = true;
    assert_int_equal(ust_getaddrinfo(t->s, "1.test", NULL, &hints, &res), EAI_AGAIN);
    assert_null(res);
    assert_true(t->f.udp_calls <= 9);
    assert_int_equal(st(t)->dns.cname_loops, 1);
}

static void cache_honours_ttl(void **state)
{
    struct rs *t = *state;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), 0);
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 1);
    t->f.now += 29 * UST_SEC; /* the TTL is 30 s */
    assert_int_equal(ust_getaddrinfo(t->s, "WEB.test.", NULL, &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 80));
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 1);
    assert_int_equal(st(t)->dns.cache_hits, 1);
    t->f.now += 2 * UST_SEC;
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), 0);
    ust_freeaddrinfo(res);
    assert_int_equal(t->f.udp_calls, 2);
    /* The chain's least TTL counts: www.test's CNAME lives 300 s, its
     * target 30 s, so the answer is kept 30 s. */
    assert_int_equal(ust_getaddrinfo(t->s, "www.test", NULL, &hints, &res), 0);
    ust_freeaddrinfo(res);
    unsigned calls = t->f.udp_calls;
    t->f.now += 31 * UST_SEC;
    assert_int_equal(ust_getaddrinfo(t->s, "www.test", NULL, &hints, &res), 0);
    ust_freeaddrinfo(res);
    assert_true(t->f.udp_calls > calls);
    /* More names than the cache holds: it stays bounded and still works. */
    for (int i = 0; i < DNS_CACHE_SIZE + 8; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d.test", i);
        assert_int_equal(ust_getaddrinfo(t->s, name, NULL, &hints, &res), EAI_NODATA);
    }
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), 0);
    ust_freeaddrinfo(res);
}

static void nxdomain_and_no_servers(void **state)
{
    struct rs *t = *state;
    struct addrinfo *res = NULL;
    t->f.script[0] = NXDOMAIN;
    assert_int_equal(ust_getaddrinfo(t->s, "nope.test", NULL, NULL, &res), EAI_NONAME);
    assert_null(res);
    assert_int_equal(t->f.udp_calls, 1); /* AAAA is not asked after NXDOMAIN */
    assert_int_equal(st(t)->dns.nxdomain, 1);
    assert_int_equal(ust_dns_set_servers(t->s, NULL, 0), 0);
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, NULL, &res), EAI_AGAIN);
    ust_ip4_t bad = 0xffffffffu;
    assert_int_equal(ust_dns_set_servers(t->s, &bad, 1), -EINVAL);
    ust_ip4_t four[4] = {NS1, NS1, NS1, NS1};
    assert_int_equal(ust_dns_set_servers(t->s, four, 4), -EINVAL);
}

static void getaddrinfo_semantics(void **state)
{
    struct rs *t = *state;
    struct addrinfo *res = NULL;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
    assert_int_equal(ust_getaddrinfo(t->s, "192.0.2.7", "7", &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(192, 0, 2, 7));
    assert_null(res->ai_next);
    ust_freeaddrinfo(res);
    assert_int_equal(ust_getaddrinfo(t->s, "2001:db8::1", NULL, &hints, &res), 0);
    assert_int_equal(res->ai_family, AF_INET6);
    ust_freeaddrinfo(res);
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &hints, &res), EAI_NONAME);
    assert_int_equal(t->f.udp_calls, 0); /* numeric: never asked */
    /* No node: the wildcard with AI_PASSIVE, else the loopback. */
    hints.ai_flags = AI_PASSIVE;
    hints.ai_family = AF_INET;
    assert_int_equal(ust_getaddrinfo(t->s, NULL, "80", &hints, &res), 0);
    assert_int_equal(v4_of(res), 0);
    ust_freeaddrinfo(res);
    hints.ai_flags = 0;
    assert_int_equal(ust_getaddrinfo(t->s, NULL, "80", &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(127, 0, 0, 1));
    ust_freeaddrinfo(res);
    assert_int_equal(ust_getaddrinfo(t->s, "localhost", NULL, &hints, &res), 0);
    assert_int_equal(v4_of(res), UST_IP4(127, 0, 0, 1));
    ust_freeaddrinfo(res);
    /* Bad arguments. */
    assert_int_equal(ust_getaddrinfo(t->s, NULL, NULL, &hints, &res), EAI_NONAME);
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", "http", &hints, &res), EAI_SERVICE);
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", "65536", &hints, &res), EAI_SERVICE);
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", "-1", &hints, &res), EAI_SERVICE);
    assert_int_equal(ust_getaddrinfo(t->s, "::1", NULL, &hints, &res), EAI_ADDRFAMILY);
    struct addrinfo bad = {.ai_family = AF_UNIX};
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &bad, &res), EAI_FAMILY);
    bad = (struct addrinfo){.ai_socktype = SOCK_RAW};
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &bad, &res), EAI_SOCKTYPE);
    bad = (struct addrinfo){.ai_flags = AI_V4MAPPED};
    assert_int_equal(ust_getaddrinfo(t->s, "web.test", NULL, &bad, &res), EAI_BADFLAGS);
    char huge[300];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(ust_getaddrinfo(t->s, huge, NULL, NULL, &res), EAI_NONAME);
    assert_int_equal(t->f.udp_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_dnsmasq_replies),
        cmocka_unit_test(every_truncation),
        cmocka_unit_test(not_our_answer),
        cmocka_unit_test(hostile_names),
        cmocka_unit_test(query_bytes_and_names),
        cmocka_unit_test_setup_teardown(a_and_aaaa, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(retries_across_servers, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(bad_replies_skipped, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(truncated_falls_back_to_tcp, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(cname_chains, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(cache_honours_ttl, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(nxdomain_and_no_servers, rs_setup, rs_teardown),
        cmocka_unit_test_setup_teardown(getaddrinfo_semantics, rs_setup, rs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
