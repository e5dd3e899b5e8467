/* DHCP message parse and emit (RFC 2131 2, RFC 2132). */
#include "wire/dhcp.h"

#include <string.h>

#include "wire/bytes.h"

const char *dhcp_type_name(uint8_t type)
{
    static const char *const names[] = {"?",   "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                        "ACK", "NAK",      "RELEASE", "INFORM"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* One option's value: checks its length against RFC 2132's, stores it.
 * Returns false for an impossible length. */
static bool take_option(struct dhcp_repr *r, uint8_t code, const uint8_t *v, uint8_t len)
{
    switch (code) {
    case DHCP_OPT_MSG_TYPE:
        if (len != 1)
            return false;
        r->type = v[0];
        return true;
    case DHCP_OPT_SUBNET_MASK:
    case DHCP_OPT_SERVER_ID:
    case DHCP_OPT_REQUESTED_IP:
    case DHCP_OPT_LEASE_TIME:
    case DHCP_OPT_T1:
    case DHCP_OPT_T2: {
        if (len != 4)
            return false;
        uint32_t x = ld32(v);
        if (code == DHCP_OPT_SUBNET_MASK) {
            r->mask = x;
            r->has_mask = true;
        } else if (code == DHCP_OPT_SERVER_ID) {
            r->server_id = x;
        } else if (code == DHCP_OPT_REQUESTED_IP) {
            r->requested_ip = x;
        } else if (code == DHCP_OPT_LEASE_TIME) {
            r->lease = x;
            r->has_lease = true;
        } else if (code == DHCP_OPT_T1) {
            r->t1 = x;
            r->has_t1 = true;
        } else {
            r->t2 = x;
            r->has_t2 = true;
        }
        return true;
    }
    case DHCP_OPT_ROUTER:
        if (len < 4 || len % 4)
            return false;
        r->router = ld32(v);
        return true;
    case DHCP_OPT_DNS:
        if (len < 4 || len % 4)
            return false;
        for (unsigned i = 0; i < len / 4u && r->ndns < DHCP_MAX_DNS; i++)
            r->dns[r->ndns++] = ld32(v + 4 * i);
        return true;
    case DHCP_OPT_MTU:
        if (len != 2)
            return false;
        r->mtu = ld16(v);
        r->has_mtu = true;
        return true;
    case DHCP_OPT_MESSAGE: {
        size_t n = len < sizeof(r->message) - 1 ? len : sizeof(r->message) - 1;
        for (size_t i = 0; i < n; i++)
            r->message[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? (char)v[i] : '?';
        r->message[n] = '\0';
        return true;
    }
    default: return true; /* skipped */
    }
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_repr *r)
{
    memset(r, 0, sizeof(*r));
    if (len < DHCP_MIN_LEN)
        return WIRE_ETRUNC;
    if (buf[1] != 1 || buf[2] != 6 || ld32(buf + DHCP_FIXED_LEN) != DHCP_MAGIC)
        return DHCP_EMAGIC;
    r->op = buf[0];
    r->xid = ld32(buf + 4);
    r->secs = ld16(buf + 8);
    r->flags = ld16(buf + 10);
    r->ciaddr = ld32(buf + 12);
    r->yiaddr = ld32(buf + 16);
    r->siaddr = ld32(buf + 20);
    r->giaddr = ld32(buf + 24);
    memcpy(r->chaddr, buf + 28, 6);
    /* Options: code, length, value; 0 is one byte of padding, 255 ends
     * them. Every length is checked against the bytes left before the
     * value is read; a missing END is tolerated at the message's end. */
    size_t off = DHCP_MIN_LEN;
    while (off < len) {
        uint8_t code = buf[off++];
        if (code == DHCP_OPT_PAD)
            continue;
        if (code == DHCP_OPT_END)
            return WIRE_OK;
        if (off >= len)
            return DHCP_EOPTION;
        uint8_t olen = buf[off++];
        if (olen > len - off)
            return DHCP_EOPTION;
        if (!take_option(r, code, buf + off, olen))
            return DHCP_EOPTION;
        off += olen;
    }
    return WIRE_OK;
}

static uint8_t *put_opt(uint8_t *p, uint8_t code, uint8_t len, const void *v)
{
    p[0] = code;
    p[1] = len;
    memcpy(p + 2, v, len);
    return p + 2 + len;
}

static uint8_t *put_opt32(uint8_t *p, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    st32(b, v);
    return put_opt(p, code, 4, b);
}

size_t dhcp_emit(const struct dhcp_repr *r, uint8_t *buf, size_t cap)
{
    if (cap < DHCP_EMIT_LEN)
        return 0;
    memset(buf, 0, DHCP_EMIT_LEN);
    buf[0] = r->op;
    buf[1] = 1; /* htype: Ethernet */
    buf[2] = 6; /* hlen */
    st32(buf + 4, r->xid);
    st16(buf + 8, r->secs);
    st16(buf + 10, r->flags);
    st32(buf + 12, r->ciaddr);
    st32(buf + 16, r->yiaddr);
    st32(buf + 20, r->siaddr);
    st32(buf + 24, r->giaddr);
    memcpy(buf + 28, r->chaddr, 6);
    st32(buf + DHCP_FIXED_LEN, DHCP_MAGIC);
    /* At most 3+9+6+6+9+4+1 = 38 bytes of options: well inside 300. */
    uint8_t *p = buf + DHCP_MIN_LEN;
    p = put_opt(p, DHCP_OPT_MSG_TYPE, 1, &r->type);
    uint8_t cid[7] = {1};
    memcpy(cid + 1, r->chaddr, 6);
    p = put_opt(p, DHCP_OPT_CLIENT_ID, sizeof(cid), cid);
    if (r->requested_ip)
        p = put_opt32(p, DHCP_OPT_REQUESTED_IP, r->requested_ip);
    if (r->server_id)
        p = put_opt32(p, DHCP_OPT_SERVER_ID, r->server_id);
    if (r->type == DHCP_DISCOVER || r->type == DHCP_REQUEST) {
        static const uint8_t params[] = {DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER,     DHCP_OPT_DNS,
                                         DHCP_OPT_MTU,         DHCP_OPT_LEASE_TIME, DHCP_OPT_T1,
                                         DHCP_OPT_T2};
        p = put_opt(p, DHCP_OPT_PARAM_LIST, sizeof(params), params);
        uint8_t mx[2];
        st16(mx, 1500);
        p = put_opt(p, DHCP_OPT_MAX_SIZE, 2, mx);
    }
    *p = DHCP_OPT_END;
    return DHCP_EMIT_LEN;
}
