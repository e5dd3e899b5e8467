/* libFuzzer target: the iperf3 service's readers of untrusted input, the
 * JSON parser (apps/json.c) and the parameters and results on top of it
 * (apps/iperf3_proto.c). Any input must be accepted or refused without a
 * crash, a leak or a read outside it; what is accepted must hold up. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iperf3.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[96];
    struct json_doc *d = json_parse(text, size, err, sizeof(err));
    if (d) {
        const struct json_value *r = json_root(d);
        if (!r || (r->type == JSON_OBJECT && r->count > size))
            abort();
        json_free(d);
    }
    struct iperf3_params p;
    int ierr;
    if (iperf3_params_parse(text, size, &p, &ierr, err, sizeof(err)) == 0) {
        if (p.parallel < 1 || p.parallel > IPERF3_MAX_STREAMS || p.blksize < 1 ||
            p.blksize > IPERF3_MAX_BLKSIZE || (p.reverse && p.bidirectional))
            abort();
        /* What we accept, we can say again, and read back the same. */
        size_t len;
        char *again = iperf3_params_build(&p, &len);
        struct iperf3_params q;
        if (!again || iperf3_params_parse(again, len, &q, &ierr, err, sizeof(err)) != 0 ||
            q.parallel != p.parallel || q.bytes != p.bytes || q.reverse != p.reverse)
            abort();
        free(again);
    }
    struct iperf3_results *res = malloc(sizeof(*res));
    if (res && iperf3_results_parse(text, size, res, err, sizeof(err)) == 0 &&
        res->nstreams > 2 * IPERF3_MAX_STREAMS)
        abort();
    free(res);
    return 0;
}
