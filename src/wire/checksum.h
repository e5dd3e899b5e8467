/* The Internet checksum (RFC 1071). */
#ifndef USTACK_WIRE_CHECKSUM_H
#define USTACK_WIRE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes (big-endian 16-bit words, odd tail padded with zero) to a
 * running 32-bit sum. Sums of pieces compose when every piece but the last
 * has even length. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len);
/* cksum_add for a piece that starts `at` bytes into what is being summed:
 * at an odd offset its bytes fall in the other halves of the 16-bit words,
 * so its sum is byte-swapped into place (RFC 1071 2(B)). Pieces of any
 * length then compose. */
uint32_t cksum_add_at(uint32_t sum, const void *data, size_t len, size_t at);
/* Folds the carries and complements: the value to put in a checksum field. */
uint16_t cksum_fold(uint32_t sum);
/* cksum_fold(cksum_add(0, data, len)): 0 when data includes a correct checksum. */
uint16_t cksum(const void *data, size_t len);

/* The sum of the IPv6 pseudo-header (RFC 8200 8.1): source and destination
 * addresses (16 bytes each, network order), the upper-layer packet length
 * (32 bits) and the next header value (the upper-layer protocol, not that
 * of an extension header in between). Compose it with cksum_add() over the
 * upper-layer packet, then cksum_fold(). */
uint32_t cksum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t nh);
/* The checksum of an upper-layer packet over IPv6: 0 when data holds a
 * correct one, else the value to put in its checksum field (zero for UDP is
 * sent as 0xffff, RFC 8200 8.1; that is UDP's business). */
uint16_t cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, const void *data,
                size_t len);

#endif
