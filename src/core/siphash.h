/* SipHash-2-4 (Aumasson and Bernstein): a keyed hash, for RFC 6528 initial
 * sequence numbers, SYN cookies, and the tables an outsider's packets
 * choose the keys of (reassembly, ICMP rate limits per destination). */
#ifndef USTACK_CORE_SIPHASH_H
#define USTACK_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
