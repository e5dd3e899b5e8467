/* Big-endian loads and stores. Callers check lengths first (see the wire parsers). */
#ifndef USTACK_WIRE_BYTES_H
#define USTACK_WIRE_BYTES_H

#include <stdint.h>

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t ld32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Result codes shared by the wire parsers. */
enum wire_err {
    WIRE_OK = 0,
    WIRE_ETRUNC = -1,   /* fewer bytes than the header or a length field needs */
    WIRE_EVERSION = -2, /* wrong version field */
    WIRE_EHDRLEN = -3,  /* header length field impossible */
    WIRE_ELEN = -4,     /* total length field impossible */
    WIRE_ECSUM = -5,    /* checksum mismatch */
    WIRE_EUNSUPP = -6,  /* well-formed but not something we speak */
};

#endif
