/* libFuzzer target: the resolver's reader of untrusted replies
 * (wire/dns.c). The input is a reply; the question it carries is taken as
 * the one asked, so that the answer section and the CNAME chase are
 * reached. Any input must be refused or read without a read outside it,
 * and what is read must fit its bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/bytes.h"
#include "wire/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < DNS_HDR_LEN)
        return 0;
    size_t off = DNS_HDR_LEN;
    char qname[DNS_NAME_MAX + 1];
    if (dns_read_name(data, size, &off, qname) != WIRE_OK)
        return 0;
    if (strlen(qname) > DNS_NAME_MAX || off > size)
        abort();
    uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    if (off + 2 <= size)
        types[0] = ld16(data + off);
    for (int i = 0; i < 2; i++) {
        struct dns_answer a;
        const char *name = qname[0] ? qname : "x";
        int err = dns_parse_reply(data, size, ld16(data), name, types[i], &a);
        if (err == WIRE_OK && (a.naddr > DNS_ANSWER_ADDRS || a.chain > DNS_ANSWER_CHAIN ||
                               strlen(a.cname) > DNS_NAME_MAX))
            abort();
    }
    /* Every name in the message, wherever it starts, reads or is refused. */
    for (size_t o = DNS_HDR_LEN; o < size && o < 512; o++) {
        size_t p = o;
        if (dns_read_name(data, size, &p, qname) == WIRE_OK && (p > size || p <= o))
            abort();
    }
    return 0;
}
