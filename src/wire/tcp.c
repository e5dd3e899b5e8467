#include "wire/tcp.h"

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

static int parse_options(const uint8_t *o, size_t len, struct tcp_repr *r)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = o[i];
        if (kind == TCP_OPT_EOL)
            break;
        if (kind == TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
            return WIRE_EHDRLEN; /* an option running past the header */
        uint8_t olen = o[i + 1];
        const uint8_t *v = o + i + 2;
        switch (kind) {
        case TCP_OPT_MSS:
            if (olen == 4)
                r->mss = ld16(v);
            break;
        case TCP_OPT_WS:
            if (olen == 3)
                r->wscale = (int8_t)(v[0] > 14 ? 14 : v[0]); /* RFC 7323 2.3 */
            break;
        case TCP_OPT_SACK_PERM:
            if (olen == 2)
                r->sack_perm = true;
            break;
        case TCP_OPT_SACK:
            /* 2 + 8n bytes; a length that is not is ignored like an
             * unknown option. Blocks beyond 4 cannot fit in 40 bytes. */
            if (olen >= 10 && (olen - 2) % 8 == 0) {
                unsigned n = (unsigned)(olen - 2) / 8;
                if (n > TCP_MAX_SACK)
                    n = TCP_MAX_SACK;
                for (unsigned k = 0; k < n; k++) {
                    r->sack[k].start = ld32(v + 8 * k);
                    r->sack[k].end = ld32(v + 8 * k + 4);
                }
                r->nsack = (uint8_t)n;
            }
            break;
        case TCP_OPT_TS:
            if (olen == 10) {
                r->has_ts = true;
                r->tsval = ld32(v);
                r->tsecr = ld32(v + 4);
            }
            break;
        default: break; /* unknown options are skipped (RFC 9293 3.2) */
        }
        i += olen;
    }
    return WIRE_OK;
}

int tcp_parse(const uint8_t *buf, size_t len, uint32_t ph, struct tcp_repr *r)
{
    return tcp_parse_csum(buf, len, ph, true, r);
}

int tcp_parse_csum(const uint8_t *buf, size_t len, uint32_t ph, bool verify, struct tcp_repr *r)
{
    if (len < TCP_HDR_LEN)
        return WIRE_ETRUNC;
    size_t hl = (size_t)(buf[12] >> 4) * 4;
    if (hl < TCP_HDR_LEN || hl > len)
        return WIRE_EHDRLEN;
    if (len > 0xffff)
        return WIRE_ECSUM;
    if (verify && cksum_fold(cksum_add(ph + (uint32_t)len, buf, len)) != 0)
        return WIRE_ECSUM;
    r->sport = ld16(buf);
    r->dport = ld16(buf + 2);
    r->seq = ld32(buf + 4);
    r->ack = ld32(buf + 8);
    r->hdr_len = (uint8_t)hl;
    r->flags = buf[13];
    r->window = ld16(buf + 14);
    r->urgent = ld16(buf + 18);
    r->mss = 0;
    r->wscale = -1;
    r->emit_ws = false;
    r->sack_perm = false;
    r->has_ts = false;
    r->tsval = r->tsecr = 0;
    r->nsack = 0;
    return parse_options(buf + TCP_HDR_LEN, hl - TCP_HDR_LEN, r);
}

/* The options' length: see struct tcp_repr for the layout. */
static size_t opt_len(const struct tcp_repr *r)
{
    size_t n = 0;
    if (r->mss)
        n += 4;
    if (r->sack_perm && r->has_ts)
        n += 12; /* SACK-permitted (2) + timestamps (10), as Linux lays them out */
    else if (r->sack_perm)
        n += 4; /* NOP NOP SACK-permitted */
    else if (r->has_ts)
        n += 12; /* NOP NOP timestamps */
    if (r->emit_ws)
        n += 4; /* NOP window scale */
    if (r->nsack)
        n += 4 + 8 * (size_t)(r->nsack > TCP_MAX_SACK ? TCP_MAX_SACK : r->nsack); /* NOP NOP SACK */
    return n;
}

size_t tcp_hdr_len(const struct tcp_repr *r) { return TCP_HDR_LEN + opt_len(r); }

static uint8_t *put_ts(uint8_t *o, const struct tcp_repr *r)
{
    o[0] = TCP_OPT_TS;
    o[1] = 10;
    st32(o + 2, r->tsval);
    st32(o + 6, r->tsecr);
    return o + 10;
}

static size_t emit_header(const struct tcp_repr *r, uint8_t *buf)
{
    size_t hl = tcp_hdr_len(r);
    st16(buf, r->sport);
    st16(buf + 2, r->dport);
    st32(buf + 4, r->seq);
    st32(buf + 8, r->ack);
    buf[12] = (uint8_t)((hl / 4) << 4);
    buf[13] = r->flags;
    st16(buf + 14, r->window);
    st16(buf + 16, 0);
    st16(buf + 18, r->urgent);
    uint8_t *o = buf + TCP_HDR_LEN;
    if (r->mss) {
        o[0] = TCP_OPT_MSS;
        o[1] = 4;
        st16(o + 2, r->mss);
        o += 4;
    }
    if (r->sack_perm) {
        if (!r->has_ts) {
            *o++ = TCP_OPT_NOP;
            *o++ = TCP_OPT_NOP;
        }
        *o++ = TCP_OPT_SACK_PERM;
        *o++ = 2;
        if (r->has_ts)
            o = put_ts(o, r);
    } else if (r->has_ts) {
        *o++ = TCP_OPT_NOP;
        *o++ = TCP_OPT_NOP;
        o = put_ts(o, r);
    }
    if (r->emit_ws) {
        o[0] = TCP_OPT_NOP;
        o[1] = TCP_OPT_WS;
        o[2] = 3;
        o[3] = (uint8_t)(r->wscale < 0 ? 0 : r->wscale > 14 ? 14 : r->wscale);
        o += 4;
    }
    if (r->nsack) {
        unsigned n = r->nsack > TCP_MAX_SACK ? TCP_MAX_SACK : r->nsack;
        *o++ = TCP_OPT_NOP;
        *o++ = TCP_OPT_NOP;
        *o++ = TCP_OPT_SACK;
        *o++ = (uint8_t)(2 + 8 * n);
        for (unsigned k = 0; k < n; k++, o += 8) {
            st32(o, r->sack[k].start);
            st32(o + 4, r->sack[k].end);
        }
    }
    return hl;
}

void tcp_emit(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len)
{
    size_t len = emit_header(r, buf) + payload_len;
    st16(buf + 16, cksum_fold(cksum_add(ph + (uint32_t)len, buf, len)));
}

void tcp_emit_partial(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len)
{
    size_t len = emit_header(r, buf) + payload_len;
    /* The pseudo-header sum, folded and not complemented: what a device
     * (or pkb_csum_complete) adds the segment to (Linux's CHECKSUM_PARTIAL). */
    st16(buf + 16, (uint16_t)~cksum_fold(ph + (uint32_t)len));
}
