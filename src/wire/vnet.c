#include "wire/vnet.h"

#include <string.h>

#include "wire/bytes.h"

static uint16_t ld16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static void st16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int vnet_parse(const uint8_t *buf, size_t len, size_t hdr_size, struct ust_pkt_meta *m)
{
    if (hdr_size < VNET_HDR_LEN || len < hdr_size)
        return WIRE_ETRUNC;
    m->flags = buf[0];
    m->gso_type = buf[1];
    m->hdr_len = ld16le(buf + 2);
    m->gso_size = ld16le(buf + 4);
    m->csum_start = ld16le(buf + 6);
    m->csum_offset = ld16le(buf + 8);
    return WIRE_OK;
}

void vnet_emit(const struct ust_pkt_meta *m, uint8_t *buf, size_t hdr_size)
{
    memset(buf, 0, hdr_size);
    buf[0] = m->flags;
    buf[1] = m->gso_type;
    st16le(buf + 2, m->hdr_len);
    st16le(buf + 4, m->gso_size);
    st16le(buf + 6, m->csum_start);
    st16le(buf + 8, m->csum_offset);
}

int vnet_check(const struct ust_pkt_meta *m, size_t frame_len)
{
    if (m->flags & ~VNET_FLAGS_KNOWN)
        return WIRE_EUNSUPP;
    if ((m->flags & UST_META_NEEDS_CSUM) && (size_t)m->csum_start + m->csum_offset + 2 > frame_len)
        return WIRE_ELEN;
    unsigned type = m->gso_type & ~UST_GSO_ECN;
    switch (type) {
    case UST_GSO_NONE: return (m->gso_type & UST_GSO_ECN) ? WIRE_EUNSUPP : WIRE_OK;
    case UST_GSO_TCPV4:
    case UST_GSO_TCPV6:
    case UST_GSO_UDP:
    case UST_GSO_UDP_L4: break;
    default: return WIRE_EUNSUPP;
    }
    if (m->gso_size == 0 || !(m->flags & UST_META_NEEDS_CSUM) || m->hdr_len > frame_len)
        return WIRE_ELEN;
    return WIRE_OK;
}
