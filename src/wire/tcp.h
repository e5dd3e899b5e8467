/* TCP headers and options (RFC 9293 3.1, RFC 7323, RFC 2018). */
#ifndef USTACK_WIRE_TCP_H
#define USTACK_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_LEN 20
#define TCP_MAX_HDR_LEN 60

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WS 3
#define TCP_OPT_SACK_PERM 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TS 8

/* Largest number of SACK blocks in one segment: 4 fit in the 40 bytes of
 * options, 3 next to a timestamp (RFC 2018 3). */
#define TCP_MAX_SACK 4

struct tcp_sack_block {
    uint32_t start, end; /* [start, end): end is the first byte after */
};

struct tcp_repr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint8_t hdr_len; /* parse: from the data offset; emit: computed */
    uint16_t window;
    uint16_t urgent;
    /* Options. Parse fills them all; emit writes, in this order and padded
     * with NOPs to 32-bit words: MSS (when mss != 0), SACK-permitted (when
     * sack_perm), timestamps (when has_ts), window scale (when emit_ws),
     * SACK blocks (nsack of them). */
    uint16_t mss;  /* 0: absent */
    int8_t wscale; /* -1: absent (parse clamps to 14, RFC 7323 2.3) */
    bool emit_ws;  /* emit: write the window scale option */
    bool sack_perm;
    bool has_ts;
    uint32_t tsval, tsecr;
    uint8_t nsack; /* SACK blocks (RFC 2018 3); parse keeps up to 4 */
    struct tcp_sack_block sack[TCP_MAX_SACK];
};

/* Validates (length, data offset 5..15 within the segment, checksum, option
 * lengths within the header) and parses. ph is the pseudo-header's sum
 * without the length (ipv4_pseudo_sum(src, dst, 6, 0), or IPv6's): the
 * segment's length is added here. WIRE_ETRUNC, WIRE_EHDRLEN (data offset
 * or an option overruns), WIRE_ECSUM, or WIRE_OK. The payload is
 * buf[hdr_len..len). */
int tcp_parse(const uint8_t *buf, size_t len, uint32_t ph, struct tcp_repr *r);
/* tcp_parse that skips the checksum when verify is false (a device
 * verified it: docs/DESIGN.md, "Offloads"); every length is still checked. */
int tcp_parse_csum(const uint8_t *buf, size_t len, uint32_t ph, bool verify, struct tcp_repr *r);
/* Header length emit will write for r: 20 plus the options above. */
size_t tcp_hdr_len(const struct tcp_repr *r);
/* Writes the header (and options) in front of the payload_len bytes at
 * buf + tcp_hdr_len(r), with the checksum. */
/* tcp_emit with the checksum left partial: the field holds the
 * pseudo-header sum only, for the device (or pkb_csum_complete) to finish
 * over the header and payload. */
void tcp_emit_partial(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len);
void tcp_emit(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len);

#endif
