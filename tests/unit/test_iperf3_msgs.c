/* The iperf3 protocol's messages (apps/iperf3_proto.c): parameters and
 * results as stock iperf3 3.12 sends them (captured with iperf3 -d),
 * defaults, every limit and type check with the error number the client
 * is sent, malformed JSON, round trips, stream ids and cookies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iperf3.h"

/* What iperf3 3.12 sent for `iperf3 -c ... -t 1 -R`. */
static const char stock_params[] =
    "{\"tcp\":true,\"omit\":0,\"time\":1,\"num\":0,\"blockcount\":0,\"parallel\":1,"
    "\"reverse\":true,\"len\":131072,\"pacing_timer\":1000,\"client_version\":\"3.12\"}";

/* And its results: it prints its -1s as unsigned 64-bit numbers. */
static const char stock_results[] =
    "{\"cpu_util_total\":45.6914738521174,\"cpu_util_user\":2.1152904272126265,"
    "\"cpu_util_system\":43.576088137259944,\"sender_has_retransmits\":18446744073709551615,"
    "\"congestion_used\":\"bbr\",\"streams\":[{\"id\":1,\"bytes\":253794888,"
    "\"retransmits\":18446744073709551615,\"jitter\":0,\"errors\":0,\"packets\":0,"
    "\"start_time\":0,\"end_time\":1.00011}]}";

static int params(const char *json, struct iperf3_params *p, int *ierr)
{
    char why[160];
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1); /* exactly sized: ASan sees overreads */
    assert_non_null(copy);
    memcpy(copy, json, n);
    *ierr = 0;
    int rc = iperf3_params_parse(copy, n, p, ierr, why, sizeof(why));
    free(copy);
    if (rc != 0)
        assert_true(strlen(why) > 0);
    return rc;
}

static void stock_client_params(void **state)
{
    (void)state;
    struct iperf3_params p;
    int ierr;
    assert_int_equal(params(stock_params, &p, &ierr), 0);
    assert_true(p.reverse);
    assert_false(p.bidirectional);
    assert_int_equal(p.parallel, 1);
    assert_int_equal(p.duration, 1);
    assert_int_equal(p.blksize, 131072);
    assert_int_equal(p.bytes, 0);
    assert_int_equal(p.omit, 0);
}

static void defaults_and_options(void **state)
{
    (void)state;
    struct iperf3_params p;
    int ierr;
    assert_int_equal(params("{}", &p, &ierr), 0);
    assert_int_equal(p.parallel, 1);
    assert_int_equal(p.duration, 10);
    assert_int_equal(p.blksize, IPERF3_DEFAULT_BLKSIZE);
    assert_false(p.reverse);
    assert_int_equal(
        params("{\"tcp\":true,\"udp\":false,\"parallel\":128,\"num\":20971520,\"time\":0,"
               "\"bidirectional\":true,\"nodelay\":true,\"bandwidth\":1000000,"
               "\"congestion\":\"cubic\",\"get_server_output\":1,\"window\":65536,"
               "\"title\":\"ignored\",\"extra_data\":\"x\",\"future\":[1,{}]}",
               &p, &ierr),
        0);
    assert_int_equal(p.parallel, 128);
    assert_int_equal(p.bytes, 20971520);
    assert_int_equal(p.duration, 0);
    assert_true(p.bidirectional && p.nodelay && p.get_server_output);
    assert_int_equal(p.rate, 1000000);
    assert_int_equal(p.window, 65536);
    assert_string_equal(p.congestion, "cubic");
    /* "reverse": false is off (iperf3 itself only ever sends true). */
    assert_int_equal(params("{\"reverse\":false}", &p, &ierr), 0);
    assert_false(p.reverse);
    /* A congestion name too long to be real is left at the default. */
    assert_int_equal(params("{\"congestion\":\"a-very-long-algorithm-name\"}", &p, &ierr), 0);
    assert_string_equal(p.congestion, "");
}

static void refused_params(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int ierr;
    } cases[] = {
        {"{\"udp\":true}", IPERF3_IE_UNIMP},
        {"{\"tcp\":true,\"sctp\":true}", IPERF3_IE_UNIMP},
        {"{\"parallel\":0}", IPERF3_IE_NUMSTREAMS},
        {"{\"parallel\":129}", IPERF3_IE_NUMSTREAMS},
        {"{\"parallel\":1.5}", IPERF3_IE_NUMSTREAMS},
        {"{\"parallel\":\"4\"}", IPERF3_IE_RECVPARAMS},
        {"{\"len\":0}", IPERF3_IE_BLOCKSIZE},
        {"{\"len\":2097152}", IPERF3_IE_BLOCKSIZE},
        {"{\"time\":86401}", IPERF3_IE_DURATION},
        {"{\"time\":-1}", IPERF3_IE_DURATION},
        {"{\"omit\":601}", IPERF3_IE_OMIT},
        {"{\"num\":-5}", IPERF3_IE_RECVPARAMS},
        {"{\"num\":1e300}", IPERF3_IE_RECVPARAMS},
        {"{\"reverse\":true,\"bidirectional\":true}", IPERF3_IE_REVERSEBIDIR},
        {"{\"congestion\":5}", IPERF3_IE_RECVPARAMS},
        {"[]", IPERF3_IE_RECVPARAMS},
        {"\"tcp\"", IPERF3_IE_RECVPARAMS},
        {"{\"tcp\":true,\"parallel\":", IPERF3_IE_RECVPARAMS},
        {"", IPERF3_IE_RECVPARAMS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iperf3_params p;
        int ierr;
        if (params(cases[i].json, &p, &ierr) == 0)
            fail_msg("accepted %s", cases[i].json);
        if (ierr != cases[i].ierr)
            fail_msg("%s: error %d, expected %d", cases[i].json, ierr, cases[i].ierr);
    }
}

static void params_round_trip(void **state)
{
    (void)state;
    struct iperf3_params in = {.reverse = true,
                               .nodelay = true,
                               .parallel = 4,
                               .duration = 0,
                               .bytes = 123456789,
                               .blksize = 65536,
                               .rate = 5000000,
                               .congestion = "newreno"};
    size_t len;
    char *json = iperf3_params_build(&in, &len);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"tcp\":true"));
    struct iperf3_params out;
    int ierr;
    assert_int_equal(params(json, &out, &ierr), 0);
    assert_true(out.reverse && out.nodelay && !out.bidirectional);
    assert_int_equal(out.parallel, 4);
    assert_int_equal(out.duration, 0);
    assert_int_equal(out.bytes, 123456789);
    assert_int_equal(out.blksize, 65536);
    assert_int_equal(out.rate, 5000000);
    assert_string_equal(out.congestion, "newreno");
    free(json);
}

static int results(const char *json, struct iperf3_results *r)
{
    char why[160];
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, json, n);
    int rc = iperf3_results_parse(copy, n, r, why, sizeof(why));
    free(copy);
    return rc;
}

static void stock_client_results(void **state)
{
    (void)state;
    struct iperf3_results *r = malloc(sizeof(*r));
    assert_non_null(r);
    assert_int_equal(results(stock_results, r), 0);
    assert_int_equal(r->sender_has_retransmits, -1);
    assert_string_equal(r->congestion_used, "bbr");
    assert_int_equal(r->nstreams, 1);
    assert_int_equal(r->streams[0].id, 1);
    assert_int_equal(r->streams[0].bytes, 253794888);
    assert_int_equal(r->streams[0].retransmits, -1);
    assert_true(r->streams[0].end_time > 1.0001 && r->streams[0].end_time < 1.0002);
    assert_true(r->cpu_total > 45 && r->cpu_total < 46);
    free(r);
}

static void refused_results(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "[]",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"streams\":[]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0}",
        "{\"cpu_util_total\":\"1\",\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0,"
        "\"streams\":[]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":2,"
        "\"streams\":[]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0,"
        "\"streams\":[{\"id\":1,\"bytes\":1}]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0,"
        "\"streams\":[{\"id\":1,\"bytes\":-1,\"retransmits\":0,\"jitter\":0,\"errors\":0,\"packets\":0}]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0,"
        "\"streams\":[{\"id\":0,\"bytes\":1,\"retransmits\":0,\"jitter\":0,\"errors\":0,\"packets\":0}]}",
        "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,\"sender_has_retransmits\":0,"
        "\"streams\":[7]}",
        "{\"cpu_util_total\":1,",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iperf3_results *r = malloc(sizeof(*r));
        assert_non_null(r);
        if (results(bad[i], r) == 0)
            fail_msg("accepted %s", bad[i]);
        free(r);
    }
}

static void too_many_streams(void **state)
{
    (void)state;
    const char *head = "{\"cpu_util_total\":1,\"cpu_util_user\":1,\"cpu_util_system\":1,"
                       "\"sender_has_retransmits\":0,\"streams\":[";
    const char *one =
        "{\"id\":1,\"bytes\":1,\"retransmits\":0,\"jitter\":0,\"errors\":0,\"packets\":0}";
    size_t max = 2 * IPERF3_MAX_STREAMS;
    char *buf = malloc(strlen(head) + (max + 1) * (strlen(one) + 1) + 3);
    assert_non_null(buf);
    struct iperf3_results *r = malloc(sizeof(*r));
    assert_non_null(r);
    for (size_t n = max; n <= max + 1; n++) {
        strcpy(buf, head);
        for (size_t i = 0; i < n; i++) {
            if (i)
                strcat(buf, ",");
            strcat(buf, one);
        }
        strcat(buf, "]}");
        assert_int_equal(results(buf, r), n == max ? 0 : -1);
    }
    free(r);
    free(buf);
}

static void results_round_trip(void **state)
{
    (void)state;
    struct iperf3_results *in = calloc(1, sizeof(*in)), *out = malloc(sizeof(*out));
    assert_non_null(in);
    assert_non_null(out);
    in->cpu_total = 12.5;
    in->sender_has_retransmits = -1;
    strcpy(in->congestion_used, "cubic");
    in->server_output_text = "line\n";
    in->nstreams = 3;
    for (int i = 0; i < 3; i++)
        in->streams[i] = (struct iperf3_stream_result){.id = iperf3_stream_id((unsigned)i),
                                                       .bytes = (UINT64_C(1) << 40) + (uint64_t)i,
                                                       .retransmits = -1,
                                                       .end_time = 10.000123 + i};
    size_t len;
    char *json = iperf3_results_build(in, &len);
    assert_non_null(json);
    assert_int_equal(results(json, out), 0);
    assert_int_equal(out->nstreams, 3);
    assert_int_equal(out->sender_has_retransmits, -1);
    assert_string_equal(out->congestion_used, "cubic");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out->streams[i].id, iperf3_stream_id((unsigned)i));
        assert_int_equal(out->streams[i].bytes, (UINT64_C(1) << 40) + (uint64_t)i);
        assert_true(out->streams[i].end_time - (10.000123 + i) < 1e-9 &&
                    (10.000123 + i) - out->streams[i].end_time < 1e-9);
    }
    free(json);
    free(in);
    free(out);
}

static void ids_cookies_texts(void **state)
{
    (void)state;
    /* iperf3 numbers its streams 1, 3, 4, 5, ... */
    assert_int_equal(iperf3_stream_id(0), 1);
    assert_int_equal(iperf3_stream_id(1), 3);
    assert_int_equal(iperf3_stream_id(2), 4);
    assert_int_equal(iperf3_stream_id(127), 129);
    char a[IPERF3_COOKIE_SIZE], b[IPERF3_COOKIE_SIZE];
    iperf3_make_cookie(a);
    iperf3_make_cookie(b);
    assert_int_equal(a[IPERF3_COOKIE_SIZE - 1], '\0');
    assert_int_equal(strlen(a), IPERF3_COOKIE_SIZE - 1);
    assert_int_equal(strspn(a, "abcdefghijklmnopqrstuvwxyz234567"), IPERF3_COOKIE_SIZE - 1);
    assert_string_not_equal(a, b);
    assert_non_null(strstr(iperf3_error_text(IPERF3_IE_ACCESSDENIED), "busy"));
    assert_null(iperf3_error_text(9999));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stock_client_params),  cmocka_unit_test(defaults_and_options),
        cmocka_unit_test(refused_params),       cmocka_unit_test(params_round_trip),
        cmocka_unit_test(stock_client_results), cmocka_unit_test(refused_results),
        cmocka_unit_test(too_many_streams),     cmocka_unit_test(results_round_trip),
        cmocka_unit_test(ids_cookies_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
