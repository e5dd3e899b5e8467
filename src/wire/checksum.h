/* The Internet checksum (RFC 1071). */
#ifndef USTACK_WIRE_CHECKSUM_H
#define USTACK_WIRE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes (big-endian 16-bit words, odd tail padded with zero) to a
 * running 32-bit sum. Sums of pieces compose when every piece but the last
 * has even length. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len);
/* Folds the carries and complements: the value to put in a checksum field. */
uint16_t cksum_fold(uint32_t sum);
/* cksum_fold(cksum_add(0, data, len)): 0 when data includes a correct checksum. */
uint16_t cksum(const void *data, size_t len);

#endif
