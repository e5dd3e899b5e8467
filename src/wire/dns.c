/* DNS message parse and emit (RFC 1035 4.1, 4.1.4 compression; RFC 3596). */
#include "wire/dns.h"

#include <string.h>

#include "wire/bytes.h"

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

bool dns_name_ok(const char *name)
{
    if (!name)
        return false;
    size_t n = strnlen(name, DNS_NAME_MAX + 1);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > DNS_LABEL_MAX) {
            return false;
        }
    }
    return label > 0;
}

size_t dns_emit_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
    if (!dns_name_ok(name))
        return 0;
    size_t n = strlen(name);
    if (name[n - 1] == '.')
        n--;
    size_t need = DNS_HDR_LEN + n + 2 + 4;
    if (cap < need)
        return 0;
    memset(buf, 0, DNS_HDR_LEN);
    st16(buf, id);
    buf[2] = 0x01; /* RD: recursion desired */
    st16(buf + 4, 1);
    uint8_t *p = buf + DNS_HDR_LEN;
    const char *lab = name;
    const char *end = name + n;
    while (lab < end) {
        const char *dot = memchr(lab, '.', (size_t)(end - lab));
        size_t l = dot ? (size_t)(dot - lab) : (size_t)(end - lab);
        *p++ = (uint8_t)l;
        memcpy(p, lab, l);
        p += l;
        lab += l + 1;
    }
    *p++ = 0;
    st16(p, qtype);
    st16(p + 2, DNS_CLASS_IN);
    return need;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char out[DNS_NAME_MAX + 1])
{
    size_t pos = *off, text = 0, wire = 0;
    size_t after = 0; /* where the name ends in the message (after the first pointer) */
    bool jumped = false;
    size_t limit = pos; /* a pointer must go before the label that holds it */
    for (;;) {
        if (pos >= len)
            return WIRE_ETRUNC;
        uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return WIRE_ETRUNC;
            size_t to = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
            if (!jumped) {
                after = pos + 2;
                jumped = true;
            }
            /* Strictly backwards from the start of the labels read so
             * far: every jump shrinks limit, so no pointer loop can last. */
            if (to >= limit)
                return DNS_EMALFORMED;
            limit = to;
            pos = to;
            continue;
        }
        if (l & 0xc0)
            return DNS_EMALFORMED; /* 0x40, 0x80: reserved label types */
        if (l == 0) {
            pos++;
            break;
        }
        if (pos + 1 + l > len)
            return WIRE_ETRUNC;
        wire += 1u + l;
        if (wire + 1 > DNS_NAME_MAX)
            return DNS_EMALFORMED;
        if (text)
            out[text++] = '.';
        for (size_t i = 0; i < l; i++) {
            char c = (char)msg[pos + 1 + i];
            if (c == '.' || c == '\0')
                return DNS_EMALFORMED; /* would be ambiguous as text */
            out[text++] = lower(c);
        }
        pos += 1u + l;
    }
    out[text] = '\0';
    *off = jumped ? after : pos;
    return WIRE_OK;
}

/* name as asked (any case, maybe a final dot) equals a parsed name. */
static bool same_name(const char *asked, const char *parsed)
{
    size_t n = strlen(asked);
    if (n > 0 && asked[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        if (parsed[i] == '\0' || lower(asked[i]) != parsed[i])
            return false;
    return parsed[n] == '\0';
}

struct rr {
    char name[DNS_NAME_MAX + 1];
    uint16_t type, class_;
    uint32_t ttl;
    size_t rdoff;
    uint16_t rdlen;
};

int dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, const char *qname, uint16_t qtype,
                    struct dns_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (len < DNS_HDR_LEN)
        return WIRE_ETRUNC;
    out->id = ld16(msg);
    uint8_t f1 = msg[2], f2 = msg[3];
    if (out->id != id || !(f1 & 0x80) || ((f1 >> 3) & 0xf) != 0)
        return DNS_EMISMATCH; /* not our id, not a response, not a standard query */
    out->truncated = (f1 & 0x02) != 0;
    out->rcode = f2 & 0x0f;
    uint16_t qd = ld16(msg + 4), an = ld16(msg + 6);
    if (qd != 1)
        return out->truncated && qd == 0 ? WIRE_OK : DNS_EMISMATCH;
    size_t off = DNS_HDR_LEN;
    char name[DNS_NAME_MAX + 1] = "";
    int err = dns_read_name(msg, len, &off, name);
    if (err != WIRE_OK)
        return err;
    if (off + 4 > len)
        return WIRE_ETRUNC;
    if (!same_name(qname, name) || ld16(msg + off) != qtype || ld16(msg + off + 2) != DNS_CLASS_IN)
        return DNS_EMISMATCH; /* RFC 5452 9.1: the answer must be to our question */
    off += 4;
    if (out->truncated)
        return WIRE_OK; /* the rest may be cut anywhere: TCP will tell */
    /* The answer section, each record checked before its fields are read. */
    static const unsigned max_rr = DNS_ANSWER_RECORDS;
    struct rr rrs[DNS_ANSWER_RECORDS];
    unsigned nrr = 0;
    for (unsigned i = 0; i < an; i++) {
        struct rr r;
        err = dns_read_name(msg, len, &off, r.name);
        if (err != WIRE_OK)
            return err;
        if (off + 10 > len)
            return WIRE_ETRUNC;
        r.type = ld16(msg + off);
        r.class_ = ld16(msg + off + 2);
        r.ttl = ld32(msg + off + 4);
        if (r.ttl > 0x7fffffffu)
            r.ttl = 0; /* RFC 2181 8: the top bit set means zero */
        r.rdlen = ld16(msg + off + 8);
        r.rdoff = off + 10;
        if (r.rdoff + r.rdlen > len)
            return WIRE_ETRUNC;
        off = r.rdoff + r.rdlen;
        if (r.class_ != DNS_CLASS_IN)
            continue;
        if ((r.type == DNS_TYPE_A && r.rdlen != 4) || (r.type == DNS_TYPE_AAAA && r.rdlen != 16))
            return DNS_EMALFORMED;
        if (nrr < max_rr && (r.type == qtype || r.type == DNS_TYPE_CNAME))
            rrs[nrr++] = r;
    }
    /* Follow the chain from the question's name. */
    char cur[DNS_NAME_MAX + 1];
    memcpy(cur, name, sizeof(cur));
    uint32_t ttl = UINT32_MAX;
    for (;;) {
        bool found = false;
        for (unsigned i = 0; i < nrr; i++) {
            if (rrs[i].type != qtype || strcmp(rrs[i].name, cur) != 0)
                continue;
            found = true;
            if (out->naddr < DNS_ANSWER_ADDRS) {
                memcpy(out->addr[out->naddr++], msg + rrs[i].rdoff, rrs[i].rdlen);
                if (rrs[i].ttl < ttl)
                    ttl = rrs[i].ttl;
            }
        }
        if (found)
            break;
        const struct rr *cn = NULL;
        for (unsigned i = 0; i < nrr && !cn; i++)
            if (rrs[i].type == DNS_TYPE_CNAME && strcmp(rrs[i].name, cur) == 0)
                cn = &rrs[i];
        if (!cn)
            break;
        if (out->chain >= DNS_ANSWER_CHAIN)
            return DNS_ELOOP;
        size_t o = cn->rdoff;
        err = dns_read_name(msg, cn->rdoff + cn->rdlen, &o, cur);
        if (err != WIRE_OK || o != cn->rdoff + cn->rdlen)
            return DNS_EMALFORMED;
        out->chain++;
        if (cn->ttl < ttl)
            ttl = cn->ttl;
    }
    out->ttl = ttl == UINT32_MAX ? 0 : ttl;
    if (out->naddr == 0 && out->chain > 0)
        memcpy(out->cname, cur, sizeof(cur));
    return WIRE_OK;
}
