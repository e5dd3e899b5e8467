#include "wire/checksum.h"

#include <string.h>

/* RFC 1071 2(B): the one's complement sum does not depend on byte order.
 * So the data is summed as native 64-bit words, the carries out of the
 * top counted apart (an add and an add-with-carry per word), folded to 16
 * bits, and only then put in network byte order. Loads go through memcpy: any alignment
 * is fine. */
static inline void add64(uint64_t *sum, uint64_t *carries, const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    *sum += w;
    *carries += *sum < w; /* add with carry, counted apart */
}

static uint32_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t sum = 0, carries = 0;
    while (len >= 32) {
        add64(&sum, &carries, p);
        add64(&sum, &carries, p + 8);
        add64(&sum, &carries, p + 16);
        add64(&sum, &carries, p + 24);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        add64(&sum, &carries, p);
        p += 8;
        len -= 8;
    }
    if (len) {
        /* The tail, zero-padded in place: every byte keeps its position
         * in its 16-bit word, so an odd last byte is padded as RFC 1071
         * says. */
        uint8_t t[8] = {0};
        memcpy(t, p, len);
        add64(&sum, &carries, t);
    }
    /* Fold: the carries out of 64 bits are one's complement carries too. */
    uint64_t s = sum + carries;
    s += s < carries; /* end-around carry */
    s = (s & 0xffffffffu) + (s >> 32);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
    uint32_t s = sum_native(data, len);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = ((s & 0xff) << 8) | (s >> 8); /* the native sum, in network byte order */
#endif
    uint64_t acc = (uint64_t)sum + s;
    /* Keep the result in 32 bits without losing carries. */
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

uint32_t cksum_add_at(uint32_t sum, const void *data, size_t len, size_t at)
{
    if (!(at & 1))
        return cksum_add(sum, data, len);
    uint32_t t = cksum_add(0, data, len);
    while (t >> 16)
        t = (t & 0xffff) + (t >> 16);
    t = ((t & 0xff) << 8) | (t >> 8);
    uint64_t acc = (uint64_t)sum + t;
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

uint16_t cksum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t cksum(const void *data, size_t len) { return cksum_fold(cksum_add(0, data, len)); }

uint32_t cksum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t nh)
{
    uint8_t tail[8] = {
        (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 0, nh};
    uint32_t sum = cksum_add(0, src, 16);
    sum = cksum_add(sum, dst, 16);
    return cksum_add(sum, tail, sizeof(tail));
}

uint16_t cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, const void *data,
                size_t len)
{
    return cksum_fold(cksum_add(cksum_pseudo6(src, dst, (uint32_t)len, nh), data, len));
}
