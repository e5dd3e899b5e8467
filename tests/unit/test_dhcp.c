/* The DHCP client: messages (parse/emit on dnsmasq's own bytes, every
 * truncation, hostile options) and the state machine on a virtual clock
 * (lost offers, probe, renew, rebind, NAK, expiry, conflicts, release). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "net/dhcp_client.h"
#include "wire/bytes.h"
#include "wire/dhcp.h"

/* An OFFER from dnsmasq 2.89 (captured on a test namespace's tap0): the
 * first 44 bytes (op .. chaddr), zeros up to the cookie at 236, then its
 * options: type OFFER, server 192.0.2.1, lease 120 s, T1 4 s, T2 7 s,
 * mask /24, broadcast, router 192.0.2.1, DNS 192.0.2.1, end. */
/* clang-format off */
static const uint8_t offer_head[44] = {
    0x02, 0x01, 0x06, 0x00, 0x99, 0xc5, 0x04, 0xa4, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x58, 0xc0, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x02, 0xd7, 0x72, 0xaf, 0x1f, 0x95, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t offer_opts[56] = {
    0x63, 0x82, 0x53, 0x63, 0x35, 0x01, 0x02, 0x36, 0x04, 0xc0, 0x00, 0x02,
    0x01, 0x33, 0x04, 0x00, 0x00, 0x00, 0x78, 0x3a, 0x04, 0x00, 0x00, 0x00,
    0x04, 0x3b, 0x04, 0x00, 0x00, 0x00, 0x07, 0x01, 0x04, 0xff, 0xff, 0xff,
    0x00, 0x1c, 0x04, 0xc0, 0x00, 0x02, 0xff, 0x03, 0x04, 0xc0, 0x00, 0x02,
    0x01, 0x06, 0x04, 0xc0, 0x00, 0x02, 0x01, 0xff};
/* clang-format on */
static const uint8_t client_mac[6] = {0x02, 0xd7, 0x72, 0xaf, 0x1f, 0x95};

/* The OFFER as dnsmasq sent it: 300 bytes. */
static size_t offer_bytes(uint8_t buf[300])
{
    memset(buf, 0, 300);
    memcpy(buf, offer_head, sizeof(offer_head));
    memcpy(buf + DHCP_FIXED_LEN, offer_opts, sizeof(offer_opts));
    return 300;
}

static void parse_dnsmasq_offer(void **state)
{
    (void)state;
    uint8_t b[300];
    struct dhcp_repr r;
    assert_int_equal(dhcp_parse(b, offer_bytes(b), &r), WIRE_OK);
    assert_int_equal(r.op, DHCP_BOOTREPLY);
    assert_int_equal(r.xid, 0x99c504a4);
    assert_int_equal(r.yiaddr, UST_IP4(192, 0, 2, 88));
    assert_int_equal(r.siaddr, UST_IP4(192, 0, 2, 1));
    assert_memory_equal(r.chaddr, client_mac, 6);
    assert_int_equal(r.type, DHCP_OFFER);
    assert_int_equal(r.server_id, UST_IP4(192, 0, 2, 1));
    assert_true(r.has_lease && r.has_t1 && r.has_t2 && r.has_mask);
    assert_int_equal(r.lease, 120);
    assert_int_equal(r.t1, 4);
    assert_int_equal(r.t2, 7);
    assert_int_equal(r.mask, 0xffffff00u);
    assert_int_equal(r.router, UST_IP4(192, 0, 2, 1));
    assert_int_equal(r.ndns, 1);
    assert_int_equal(r.dns[0], UST_IP4(192, 0, 2, 1));
    assert_false(r.has_mtu);
}

/* Every length short of the whole: below 240 bytes truncated; inside an
 * option, an overrun; at an option's end, the options before it. */
static void every_truncation(void **state)
{
    (void)state;
    uint8_t full[300];
    offer_bytes(full);
    size_t end = DHCP_FIXED_LEN + sizeof(offer_opts); /* after the END option */
    /* Option boundaries: where a cut leaves whole options. */
    bool boundary[300] = {false};
    size_t off = DHCP_MIN_LEN;
    boundary[off] = true;
    while (full[off] != DHCP_OPT_END) {
        off += 2u + full[off + 1];
        boundary[off] = true;
    }
    for (size_t len = 0; len < end; len++) {
        uint8_t *b = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
        memcpy(b, full, len);
        struct dhcp_repr r;
        int err = dhcp_parse(b, len, &r);
        if (len < DHCP_MIN_LEN)
            assert_int_equal(err, WIRE_ETRUNC);
        else if (boundary[len])
            assert_int_equal(err, WIRE_OK);
        else
            assert_int_equal(err, DHCP_EOPTION);
        free(b);
    }
}

static void bad_messages(void **state)
{
    (void)state;
    uint8_t b[400] = {0}; /* room for options past dnsmasq's END */
    struct dhcp_repr r;
    offer_bytes(b);
    b[DHCP_FIXED_LEN] = 0; /* no magic cookie */
    assert_int_equal(dhcp_parse(b, 300, &r), DHCP_EMAGIC);
    offer_bytes(b);
    b[2] = 16; /* hlen: not Ethernet */
    assert_int_equal(dhcp_parse(b, 300, &r), DHCP_EMAGIC);
    offer_bytes(b);
    b[DHCP_MIN_LEN + 1] = 2; /* message type with two bytes */
    assert_int_equal(dhcp_parse(b, 300, &r), DHCP_EOPTION);
    static const uint8_t type2[] = {53, 2, 2, 0, 255}; /* the same, well framed */
    memcpy(b + DHCP_MIN_LEN, type2, sizeof(type2));
    assert_int_equal(dhcp_parse(b, DHCP_MIN_LEN + sizeof(type2), &r), DHCP_EOPTION);
    offer_bytes(b);
    b[DHCP_MIN_LEN + 4] = 3; /* server id with three bytes */
    assert_int_equal(dhcp_parse(b, 300, &r), DHCP_EOPTION);
    offer_bytes(b);
    b[DHCP_MIN_LEN + 1] = 255; /* a length past the message */
    assert_int_equal(dhcp_parse(b, 300, &r), DHCP_EOPTION);
    /* A router option of 6 bytes (not a multiple of 4). */
    offer_bytes(b);
    size_t o = DHCP_FIXED_LEN + sizeof(offer_opts) - 1;
    uint8_t router6[] = {3, 6, 1, 2, 3, 4, 5, 6, 255};
    memcpy(b + o, router6, sizeof(router6));
    assert_int_equal(dhcp_parse(b, o + sizeof(router6), &r), DHCP_EOPTION);
    /* An MTU of 3 bytes. */
    offer_bytes(b);
    uint8_t mtu3[] = {26, 3, 5, 220, 0, 255};
    memcpy(b + o, mtu3, sizeof(mtu3));
    assert_int_equal(dhcp_parse(b, o + sizeof(mtu3), &r), DHCP_EOPTION);
    /* Unknown options are skipped; a message (56) is made printable. */
    offer_bytes(b);
    uint8_t extra[] = {200, 3, 1, 2, 3, 56, 4, 'n', 'o', 0x07, '!', 255};
    memcpy(b + o, extra, sizeof(extra));
    assert_int_equal(dhcp_parse(b, o + sizeof(extra), &r), WIRE_OK);
    assert_string_equal(r.message, "no?!");
    /* More DNS servers than kept (after dnsmasq's one): the first three. */
    offer_bytes(b);
    uint8_t dns5[] = {6, 20, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 255};
    memcpy(b + o, dns5, sizeof(dns5));
    assert_int_equal(dhcp_parse(b, o + sizeof(dns5), &r), WIRE_OK);
    assert_int_equal(r.ndns, 3);
    assert_int_equal(r.dns[0], UST_IP4(192, 0, 2, 1));
    assert_int_equal(r.dns[1], 0x01010101);
    assert_int_equal(r.dns[2], 0x02020202);
}

static void emit_discover_and_request(void **state)
{
    (void)state;
    struct dhcp_repr m = {.op = DHCP_BOOTREQUEST, .type = DHCP_DISCOVER, .xid = 0x01020304};
    memcpy(m.chaddr, client_mac, 6);
    uint8_t b[DHCP_EMIT_LEN];
    assert_int_equal(dhcp_emit(&m, b, sizeof(b) - 1), 0); /* too small */
    assert_int_equal(dhcp_emit(&m, b, sizeof(b)), DHCP_EMIT_LEN);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[1], 1);
    assert_int_equal(b[2], 6);
    assert_int_equal(ld32(b + 4), 0x01020304);
    assert_memory_equal(b + 28, client_mac, 6);
    assert_int_equal(ld32(b + DHCP_FIXED_LEN), DHCP_MAGIC);
    /* 53 = DISCOVER, then the client identifier (type 1 + MAC). */
    static const uint8_t opts[] = {53, 1, 1, 61, 7, 1, 0x02, 0xd7, 0x72, 0xaf, 0x1f, 0x95, 55, 7};
    assert_memory_equal(b + DHCP_MIN_LEN, opts, sizeof(opts));
    struct dhcp_repr r;
    assert_int_equal(dhcp_parse(b, DHCP_EMIT_LEN, &r), WIRE_OK);
    assert_int_equal(r.type, DHCP_DISCOVER);
    assert_int_equal(r.requested_ip, 0);
    m.type = DHCP_REQUEST;
    m.requested_ip = UST_IP4(192, 0, 2, 88);
    m.server_id = UST_IP4(192, 0, 2, 1);
    assert_int_equal(dhcp_emit(&m, b, sizeof(b)), DHCP_EMIT_LEN);
    assert_int_equal(dhcp_parse(b, DHCP_EMIT_LEN, &r), WIRE_OK);
    assert_int_equal(r.type, DHCP_REQUEST);
    assert_int_equal(r.requested_ip, UST_IP4(192, 0, 2, 88));
    assert_int_equal(r.server_id, UST_IP4(192, 0, 2, 1));
}

/* ---- the state machine ---- */

#define SERVER UST_IP4(192, 0, 2, 1)
#define OFFERED UST_IP4(192, 0, 2, 88)
#define S UST_SEC

struct sm {
    struct dhcpc c;
    struct dhcpc_out out;
    ust_time_t now;
};

static void sm_init(struct sm *t, unsigned probes)
{
    struct ust_dhcp_config cfg;
    ust_dhcp_config_init(&cfg);
    cfg.probe_num = probes;
    memset(t, 0, sizeof(*t));
    t->now = 1000 * S;
    dhcpc_init(&t->c, &cfg, client_mac, 1500, 42);
}

/* A reply from the server to the client's current transaction. */
static struct dhcp_repr reply(const struct sm *t, uint8_t type, uint32_t yiaddr, uint32_t lease)
{
    struct dhcp_repr m = {.op = DHCP_BOOTREPLY, .type = type, .xid = t->c.xid, .yiaddr = yiaddr};
    memcpy(m.chaddr, client_mac, 6);
    m.server_id = SERVER;
    m.has_mask = true;
    m.mask = 0xffffff00u;
    m.router = SERVER;
    m.dns[0] = UST_IP4(192, 0, 2, 53);
    m.ndns = 1;
    m.has_lease = lease != 0;
    m.lease = lease;
    return m;
}

static int feed(struct sm *t, const struct dhcp_repr *m)
{
    return dhcpc_input(&t->c, m, t->now, &t->out);
}

/* Runs the clock to the client's next deadline and its timer. */
static void tick(struct sm *t)
{
    assert_true(t->c.deadline != UST_TIME_NEVER);
    if (t->c.deadline > t->now)
        t->now = t->c.deadline;
    dhcpc_timer(&t->c, t->now, &t->out);
}

/* From start to BOUND with a lease of lease_s (probes as configured). */
static void to_bound(struct sm *t, uint32_t lease_s)
{
    dhcpc_start(&t->c, t->now, &t->out);
    assert_true(t->out.send);
    assert_int_equal(t->out.msg.type, DHCP_DISCOVER);
    struct dhcp_repr m = reply(t, DHCP_OFFER, OFFERED, lease_s);
    assert_int_equal(feed(t, &m), DHCPC_OK);
    assert_int_equal(t->out.msg.type, DHCP_REQUEST);
    m = reply(t, DHCP_ACK, OFFERED, lease_s);
    assert_int_equal(feed(t, &m), DHCPC_OK);
    while (t->out.ev != DHCPC_EV_BOUND)
        tick(t);
    assert_int_equal(t->c.state, DHCPC_BOUND);
}

static void discover_offer_request_probe_bound(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 3);
    ust_time_t t0 = t.now;
    dhcpc_start(&t.c, t.now, &t.out);
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_DISCOVER);
    assert_int_equal(t.out.src, 0);
    assert_int_equal(t.out.dst, 0xffffffffu);
    assert_int_equal(t.c.state, DHCPC_SELECTING);
    uint32_t xid = t.out.msg.xid;
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 3600);
    t.now += 100 * UST_MS;
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    /* RFC 2131 4.3.2: REQUEST, broadcast, same xid, server id and address. */
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_REQUEST);
    assert_int_equal(t.out.msg.xid, xid);
    assert_int_equal(t.out.msg.requested_ip, OFFERED);
    assert_int_equal(t.out.msg.server_id, SERVER);
    assert_int_equal(t.out.msg.ciaddr, 0);
    assert_int_equal(t.out.dst, 0xffffffffu);
    /* A second offer (another server) is no longer awaited. */
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
    m = reply(&t, DHCP_ACK, OFFERED, 3600);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    /* RFC 5227: three probes 1-2 s apart, then 2 s, then the address. */
    assert_int_equal(t.c.state, DHCPC_PROBING);
    assert_true(t.out.probe);
    assert_int_equal(t.out.probe_ip, OFFERED);
    assert_int_equal(t.out.ev, DHCPC_EV_NONE);
    assert_int_equal(dhcpc_probing(&t.c), OFFERED);
    ust_time_t acked = t.now;
    for (int i = 0; i < 2; i++) {
        ust_time_t before = t.now;
        tick(&t);
        assert_true(t.out.probe);
        assert_true(t.now - before >= 1 * S && t.now - before <= 2 * S);
    }
    ust_time_t last = t.now;
    tick(&t);
    assert_false(t.out.probe);
    assert_int_equal(t.now - last, 2 * S);
    assert_int_equal(t.out.ev, DHCPC_EV_BOUND);
    assert_int_equal(t.out.lease.addr, OFFERED);
    assert_int_equal(t.out.lease.prefix_len, 24);
    assert_int_equal(t.out.lease.router, SERVER);
    assert_int_equal(t.out.lease.ndns, 1);
    assert_int_equal(t.out.lease.dns[0], UST_IP4(192, 0, 2, 53));
    assert_int_equal(t.out.lease.lease_s, 3600);
    /* Times count from the ACK (RFC 2131 4.4.1): T1 half, T2 7/8. */
    assert_int_equal(t.out.lease.t1, acked + 1800 * S);
    assert_int_equal(t.out.lease.t2, acked + 3150 * S);
    assert_int_equal(t.out.lease.expires, acked + 3600 * S);
    assert_int_equal(t.c.deadline, acked + 1800 * S);
    assert_true(t0 < acked);
}

/* No server answers: DISCOVER again at 4, 8, 16, 32, 64, 64 s, each +/- 1 s. */
static void lost_offers_back_off(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    static const unsigned expect[] = {4, 8, 16, 32, 64, 64, 64};
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        ust_time_t before = t.now;
        tick(&t);
        assert_true(t.out.send);
        assert_int_equal(t.out.msg.type, DHCP_DISCOVER);
        ust_time_t d = t.now - before;
        assert_true(d >= (expect[i] - 1) * S && d <= (expect[i] + 1) * S);
    }
    /* An initial interval that is no power of two still stops at 64 s. */
    struct sm u;
    sm_init(&u, 0);
    u.c.cfg.retrans_initial = 5 * S;
    dhcpc_start(&u.c, u.now, &u.out);
    static const unsigned expect5[] = {5, 10, 20, 40, 64, 64};
    for (size_t i = 0; i < sizeof(expect5) / sizeof(expect5[0]); i++) {
        ust_time_t before = u.now;
        tick(&u);
        ust_time_t d = u.now - before;
        assert_true(d >= (expect5[i] - 1) * S && d <= (expect5[i] + 1) * S);
    }
    /* A late offer still gets its REQUEST. */
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 600);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.out.msg.type, DHCP_REQUEST);
    /* The REQUEST unanswered request_tries times: back to DISCOVER. */
    for (int i = 1; i < 4; i++) {
        tick(&t);
        assert_int_equal(t.out.msg.type, DHCP_REQUEST);
    }
    tick(&t);
    assert_int_equal(t.out.msg.type, DHCP_DISCOVER);
    assert_int_equal(t.c.state, DHCPC_SELECTING);
}

static void renew_at_t1(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    to_bound(&t, 1000);
    ust_time_t bound = t.now;
    uint32_t old_xid = t.c.xid;
    tick(&t); /* T1 */
    assert_int_equal(t.now, bound + 500 * S);
    assert_int_equal(t.c.state, DHCPC_RENEWING);
    /* RFC 2131 4.4.5: unicast to the server, ciaddr ours, no 50/54. */
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_REQUEST);
    assert_int_equal(t.out.msg.ciaddr, OFFERED);
    assert_int_equal(t.out.msg.requested_ip, 0);
    assert_int_equal(t.out.msg.server_id, 0);
    assert_int_equal(t.out.src, OFFERED);
    assert_int_equal(t.out.dst, SERVER);
    assert_int_not_equal(t.c.xid, old_xid);
    t.now += 10 * UST_MS;
    struct dhcp_repr m = reply(&t, DHCP_ACK, OFFERED, 1000);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.out.ev, DHCPC_EV_RENEWED);
    assert_int_equal(t.c.state, DHCPC_BOUND);
    assert_int_equal(t.c.lease.t1, t.now + 500 * S);
    assert_int_equal(t.c.lease.expires, t.now + 1000 * S);
}

/* The server is gone: renew until T2, rebind (broadcast) until expiry,
 * then the address is lost and DISCOVER starts over. */
static void rebind_then_expire(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    to_bound(&t, 1000);
    ust_time_t bound = t.now;
    tick(&t);
    assert_int_equal(t.c.state, DHCPC_RENEWING);
    /* Half the time to T2 (375 s / 2), at least 60 s. */
    assert_int_equal(t.c.deadline, t.now + 187500 * UST_MS);
    int renews = 1;
    while (t.c.state == DHCPC_RENEWING) {
        tick(&t);
        assert_true(t.out.send);
        if (t.c.state == DHCPC_RENEWING) {
            renews++;
            assert_int_equal(t.out.dst, SERVER);
        }
    }
    assert_true(renews >= 2 && renews <= 4);
    assert_int_equal(t.c.state, DHCPC_REBINDING);
    assert_int_equal(t.now, bound + 875 * S); /* T2 */
    assert_int_equal(t.out.dst, 0xffffffffu);
    assert_int_equal(t.out.src, OFFERED);
    assert_int_equal(t.out.msg.ciaddr, OFFERED);
    int rebinds = 1;
    while (t.c.state == DHCPC_REBINDING) {
        tick(&t);
        if (t.c.state == DHCPC_REBINDING)
            rebinds++;
    }
    assert_true(rebinds >= 2);
    assert_int_equal(t.now, bound + 1000 * S);
    assert_int_equal(t.out.ev, DHCPC_EV_LOST);
    assert_int_equal(t.out.lease.addr, OFFERED);
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_DISCOVER);
    assert_int_equal(t.out.src, 0);
    assert_int_equal(t.c.state, DHCPC_SELECTING);
}

static void rebind_answered_by_another_server(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    to_bound(&t, 1000);
    while (t.c.state != DHCPC_REBINDING)
        tick(&t);
    struct dhcp_repr m = reply(&t, DHCP_ACK, OFFERED, 2000);
    m.server_id = UST_IP4(192, 0, 2, 9);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.out.ev, DHCPC_EV_RENEWED);
    assert_int_equal(t.c.lease.server, UST_IP4(192, 0, 2, 9));
    assert_int_equal(t.c.lease.expires, t.now + 2000 * S);
}

static void nak_while_requesting_and_renewing(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 600);
    feed(&t, &m);
    m = reply(&t, DHCP_NAK, 0, 0);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.c.state, DHCPC_INIT);
    assert_false(t.out.send);
    assert_int_equal(t.out.ev, DHCPC_EV_NONE);
    /* Not at once: a server that NAKs everything cannot make us spin. */
    assert_true(t.c.deadline >= t.now + 3 * S);
    tick(&t);
    assert_int_equal(t.out.msg.type, DHCP_DISCOVER);

    sm_init(&t, 0);
    to_bound(&t, 600);
    tick(&t);
    assert_int_equal(t.c.state, DHCPC_RENEWING);
    m = reply(&t, DHCP_NAK, 0, 0);
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.out.ev, DHCPC_EV_LOST);
    assert_int_equal(t.out.lease.addr, OFFERED);
    assert_int_equal(t.c.state, DHCPC_INIT);
}

static void conflict_declines(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 3);
    dhcpc_start(&t.c, t.now, &t.out);
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 600);
    feed(&t, &m);
    m = reply(&t, DHCP_ACK, OFFERED, 600);
    feed(&t, &m);
    assert_int_equal(t.c.state, DHCPC_PROBING);
    tick(&t); /* the second probe */
    dhcpc_conflict(&t.c, t.now, &t.out);
    /* RFC 2131 3.1.5: DECLINE with the address and the server. */
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_DECLINE);
    assert_int_equal(t.out.msg.requested_ip, OFFERED);
    assert_int_equal(t.out.msg.server_id, SERVER);
    assert_int_equal(t.out.ev, DHCPC_EV_NONE);
    assert_int_equal(dhcpc_probing(&t.c), 0);
    /* Ten seconds before the next DISCOVER. */
    ust_time_t declined = t.now;
    dhcpc_timer(&t.c, declined + 9 * S, &t.out);
    assert_false(t.out.send);
    tick(&t);
    assert_int_equal(t.now, declined + 10 * S);
    assert_int_equal(t.out.msg.type, DHCP_DISCOVER);
    /* A conflict outside probing is not the client's business. */
    dhcpc_conflict(&t.c, t.now, &t.out);
    assert_false(t.out.send);
}

/* A hostile or broken server: nothing it offers that cannot be a host's
 * address here is taken, and the client stays where it was. */
static void hostile_offers_refused(void **state)
{
    (void)state;
    static const uint32_t bad_addr[] = {
        0,
        0xffffffffu,
        UST_IP4(127, 0, 0, 1),
        UST_IP4(224, 0, 0, 1),
        UST_IP4(240, 0, 0, 1),
        UST_IP4(0, 1, 2, 3),
        UST_IP4(192, 0, 2, 0),   /* the subnet's own address */
        UST_IP4(192, 0, 2, 255), /* its broadcast */
    };
    struct sm t;
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
        struct dhcp_repr m = reply(&t, DHCP_OFFER, bad_addr[i], 600);
        assert_int_equal(feed(&t, &m), DHCPC_REJ_BAD_LEASE);
        assert_false(t.out.send);
        assert_int_equal(t.c.state, DHCPC_SELECTING);
    }
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 600);
    m.mask = 0xff00ff00u; /* not a prefix */
    assert_int_equal(feed(&t, &m), DHCPC_REJ_BAD_LEASE);
    m.mask = 0xfffffffeu; /* /31: no room for a router and broadcast */
    assert_int_equal(feed(&t, &m), DHCPC_REJ_BAD_LEASE);
    m = reply(&t, DHCP_OFFER, OFFERED, 600);
    m.server_id = 0;
    assert_int_equal(feed(&t, &m), DHCPC_REJ_BAD_LEASE);
    m = reply(&t, DHCP_OFFER, OFFERED, 600);
    m.xid ^= 1;
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
    m = reply(&t, DHCP_OFFER, OFFERED, 600);
    m.chaddr[5] ^= 1;
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
    m = reply(&t, DHCP_OFFER, OFFERED, 600);
    m.op = DHCP_BOOTREQUEST;
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
    m = reply(&t, DHCP_ACK, OFFERED, 600); /* an ACK before any REQUEST */
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
    assert_int_equal(t.c.state, DHCPC_SELECTING);
    /* Usable, but with parts to leave out: a router off the subnet, a
     * multicast DNS server, an MTU below 576, a zero lease. */
    m = reply(&t, DHCP_OFFER, OFFERED, 0);
    m.has_lease = true;
    m.router = UST_IP4(198, 51, 100, 1);
    m.dns[0] = UST_IP4(224, 0, 0, 251);
    m.has_mtu = true;
    m.mtu = 100;
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.c.offer.router, 0);
    assert_int_equal(t.c.offer.ndns, 0);
    assert_int_equal(t.c.offer.mtu, 0);
    assert_int_equal(t.c.offer.lease_s, 10); /* min_lease: no renewal storm */
    /* An ACK for another address than the one requested. */
    m = reply(&t, DHCP_ACK, UST_IP4(192, 0, 2, 99), 600);
    assert_int_equal(feed(&t, &m), DHCPC_REJ_BAD_LEASE);
    assert_int_equal(t.c.state, DHCPC_REQUESTING);
    /* An ACK from another server than the one asked. */
    m = reply(&t, DHCP_ACK, OFFERED, 600);
    m.server_id = UST_IP4(192, 0, 2, 9);
    assert_int_equal(feed(&t, &m), DHCPC_REJ_NOT_OURS);
}

static void options_and_times(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    struct dhcp_repr m = reply(&t, DHCP_OFFER, OFFERED, 600);
    feed(&t, &m);
    m = reply(&t, DHCP_ACK, OFFERED, 600);
    m.has_t1 = m.has_t2 = true;
    m.t1 = 100;
    m.t2 = 200;
    m.has_mtu = true;
    m.mtu = 1400;
    m.has_mask = false; /* 192/8: class C, /24 */
    assert_int_equal(feed(&t, &m), DHCPC_OK);
    assert_int_equal(t.out.ev, DHCPC_EV_BOUND);
    assert_int_equal(t.out.lease.prefix_len, 24);
    assert_int_equal(t.out.lease.mtu, 1400);
    assert_int_equal(t.out.lease.t1, t.now + 100 * S);
    assert_int_equal(t.out.lease.t2, t.now + 200 * S);
    /* T1 and T2 out of order: the defaults instead. */
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    m = reply(&t, DHCP_OFFER, OFFERED, 600);
    feed(&t, &m);
    m = reply(&t, DHCP_ACK, OFFERED, 600);
    m.has_t1 = m.has_t2 = true;
    m.t1 = 700;
    m.t2 = 650;
    feed(&t, &m);
    assert_int_equal(t.out.lease.t1, t.now + 300 * S);
    assert_int_equal(t.out.lease.t2, t.now + 525 * S);
    /* Infinite: no timer at all. */
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    m = reply(&t, DHCP_OFFER, OFFERED, 0xffffffffu);
    feed(&t, &m);
    m = reply(&t, DHCP_ACK, OFFERED, 0xffffffffu);
    feed(&t, &m);
    assert_int_equal(t.out.ev, DHCPC_EV_BOUND);
    assert_true(t.c.deadline == UST_TIME_NEVER);
}

static void stop_releases(void **state)
{
    (void)state;
    struct sm t;
    sm_init(&t, 0);
    to_bound(&t, 600);
    dhcpc_stop(&t.c, true, t.now, &t.out);
    assert_true(t.out.send);
    assert_int_equal(t.out.msg.type, DHCP_RELEASE);
    assert_int_equal(t.out.msg.ciaddr, OFFERED);
    assert_int_equal(t.out.msg.server_id, SERVER);
    assert_int_equal(t.out.src, OFFERED);
    assert_int_equal(t.out.dst, SERVER);
    assert_int_equal(t.out.ev, DHCPC_EV_LOST);
    assert_int_equal(t.c.state, DHCPC_STOPPED);
    assert_true(t.c.deadline == UST_TIME_NEVER);
    /* Without a lease, nothing to release. */
    sm_init(&t, 0);
    dhcpc_start(&t.c, t.now, &t.out);
    dhcpc_stop(&t.c, true, t.now, &t.out);
    assert_false(t.out.send);
    assert_int_equal(t.out.ev, DHCPC_EV_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_dnsmasq_offer),
        cmocka_unit_test(every_truncation),
        cmocka_unit_test(bad_messages),
        cmocka_unit_test(emit_discover_and_request),
        cmocka_unit_test(discover_offer_request_probe_bound),
        cmocka_unit_test(lost_offers_back_off),
        cmocka_unit_test(renew_at_t1),
        cmocka_unit_test(rebind_then_expire),
        cmocka_unit_test(rebind_answered_by_another_server),
        cmocka_unit_test(nak_while_requesting_and_renewing),
        cmocka_unit_test(conflict_declines),
        cmocka_unit_test(hostile_offers_refused),
        cmocka_unit_test(options_and_times),
        cmocka_unit_test(stop_releases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
