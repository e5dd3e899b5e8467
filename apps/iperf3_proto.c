/* The iperf3 protocol's messages: parameters and results as JSON, their
 * length-prefixed framing on the control connection, the cookie, stream
 * ids, error texts. Shared by the runner's service and the iperf3c
 * client; written from iperf3's documented and observed behaviour (see
 * iperf3.h for the exchange). */
#include "iperf3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include "json.h"

/* The JSON numbers iperf3 sends are integers below 2^53 where exact. */
#define JSON_INT_MAX ((int64_t)1 << 53)

/* iperf3 treats a flag's presence as "on" and sends true; we also take
 * false, null and 0 as "off". */
static bool flag(const struct json_value *v)
{
    return v && v->type != JSON_FALSE && v->type != JSON_NULL &&
           !(v->type == JSON_NUMBER && v->num == 0);
}

struct checker {
    int *ierr;
    char *why;
    size_t whylen;
};

static int reject(struct checker *ck, int ierr, const char *fmt, const char *key)
{
    *ck->ierr = ierr;
    if (ck->why && ck->whylen)
        snprintf(ck->why, ck->whylen, fmt, key);
    return -1;
}

/* An optional integer member within [min, max]. A wrong type is a
 * malformed message; a number out of range is range_err (iperf3's own error
 * for that limit, where it has one). */
static int get_int(struct checker *ck, const struct json_value *obj, const char *key, int64_t min,
                   int64_t max, int range_err, int64_t *out)
{
    const struct json_value *v = json_get(obj, key);
    if (!v)
        return 0;
    if (v->type != JSON_NUMBER)
        return reject(ck, IPERF3_IE_RECVPARAMS, "\"%s\" is not a number", key);
    if (!json_int(v, min, max, out))
        return reject(ck, range_err, "\"%s\" is out of range", key);
    return 0;
}

int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *p, int *ierr, char *why,
                        size_t whylen)
{
    struct checker ck = {ierr, why, whylen};
    memset(p, 0, sizeof(*p));
    p->parallel = 1;
    p->duration = 10;
    p->blksize = IPERF3_DEFAULT_BLKSIZE;
    char err[96];
    struct json_doc *d = json_parse(json, len, err, sizeof(err));
    if (!d) {
        *ierr = IPERF3_IE_RECVPARAMS;
        if (why && whylen)
            snprintf(why, whylen, "malformed JSON (%s)", err);
        return -1;
    }
    const struct json_value *o = json_root(d);
    int rc = -1;
    int64_t v;
    if (o->type != JSON_OBJECT) {
        reject(&ck, IPERF3_IE_RECVPARAMS, "%s", "the parameters are not a JSON object");
        goto out;
    }
    if (flag(json_get(o, "udp")) || flag(json_get(o, "sctp"))) {
        reject(&ck, IPERF3_IE_UNIMP, "%s", "only TCP tests are supported");
        goto out;
    }
    p->reverse = flag(json_get(o, "reverse"));
    p->bidirectional = flag(json_get(o, "bidirectional"));
    p->nodelay = flag(json_get(o, "nodelay"));
    p->get_server_output = flag(json_get(o, "get_server_output"));
    if (p->reverse && p->bidirectional) {
        reject(&ck, IPERF3_IE_REVERSEBIDIR, "%s", "both reverse and bidirectional");
        goto out;
    }
    v = p->parallel;
    if (get_int(&ck, o, "parallel", 1, IPERF3_MAX_STREAMS, IPERF3_IE_NUMSTREAMS, &v) != 0)
        goto out;
    p->parallel = (unsigned)v;
    v = p->duration;
    if (get_int(&ck, o, "time", 0, IPERF3_MAX_TIME, IPERF3_IE_DURATION, &v) != 0)
        goto out;
    p->duration = (unsigned)v;
    v = 0;
    if (get_int(&ck, o, "omit", 0, IPERF3_MAX_OMIT, IPERF3_IE_OMIT, &v) != 0)
        goto out;
    p->omit = (unsigned)v;
    v = 0;
    if (get_int(&ck, o, "num", 0, JSON_INT_MAX, IPERF3_IE_RECVPARAMS, &v) != 0)
        goto out;
    p->bytes = (uint64_t)v;
    v = 0;
    if (get_int(&ck, o, "blockcount", 0, JSON_INT_MAX, IPERF3_IE_RECVPARAMS, &v) != 0)
        goto out;
    p->blocks = (uint64_t)v;
    v = p->blksize;
    if (get_int(&ck, o, "len", 1, IPERF3_MAX_BLKSIZE, IPERF3_IE_BLOCKSIZE, &v) != 0)
        goto out;
    p->blksize = (uint32_t)v;
    v = 0;
    if (get_int(&ck, o, "bandwidth", 0, JSON_INT_MAX, IPERF3_IE_RECVPARAMS, &v) != 0)
        goto out;
    p->rate = (uint64_t)v;
    v = 0;
    if (get_int(&ck, o, "window", 0, INT32_MAX, IPERF3_IE_RECVPARAMS, &v) != 0)
        goto out;
    p->window = (uint32_t)v;
    const struct json_value *cc = json_get(o, "congestion");
    if (cc) {
        if (cc->type != JSON_STRING) {
            reject(&ck, IPERF3_IE_RECVPARAMS, "\"%s\" is not a string", "congestion");
            goto out;
        }
        /* A name we cannot hold cannot be one we know: left at the default. */
        if (cc->len < sizeof(p->congestion) && !memchr(cc->str, '\0', cc->len))
            memcpy(p->congestion, cc->str, cc->len + 1);
    }
    rc = 0;
out:
    json_free(d);
    return rc;
}

char *iperf3_params_build(const struct iperf3_params *p, size_t *len)
{
    struct json_writer w;
    json_writer_init(&w, false);
    json_begin_object(&w, NULL);
    json_put_bool(&w, "tcp", true);
    json_put_uint(&w, "omit", p->omit);
    json_put_uint(&w, "time", p->duration);
    if (p->bytes)
        json_put_uint(&w, "num", p->bytes);
    if (p->blocks)
        json_put_uint(&w, "blockcount", p->blocks);
    if (p->nodelay)
        json_put_bool(&w, "nodelay", true);
    json_put_uint(&w, "parallel", p->parallel);
    if (p->reverse)
        json_put_bool(&w, "reverse", true);
    if (p->bidirectional)
        json_put_bool(&w, "bidirectional", true);
    if (p->window)
        json_put_uint(&w, "window", p->window);
    json_put_uint(&w, "len", p->blksize);
    if (p->rate)
        json_put_uint(&w, "bandwidth", p->rate);
    if (p->congestion[0])
        json_put_string(&w, "congestion", p->congestion);
    if (p->get_server_output)
        json_put_uint(&w, "get_server_output", 1);
    json_end_object(&w);
    return json_finish(&w, len);
}

/* An integer that may be negative. iperf3 3.12 prints its -1s (in
 * "sender_has_retransmits" and a receiver's "retransmits") as the unsigned
 * 64-bit 18446744073709551615, which a double holds as 2^64: numbers from
 * 2^63 to 2^64 are taken as -1, the only negative value iperf3 sends. */
static bool signed_int(const struct json_value *v, int64_t min, int64_t max, int64_t *out)
{
    if (v && v->type == JSON_NUMBER && v->num >= 9223372036854775808.0 &&
        v->num <= 18446744073709551616.0) {
        if (min > -1 || max < -1)
            return false;
        *out = -1;
        return true;
    }
    return json_int(v, min, max, out);
}

static int bad_results(char *why, size_t whylen, const char *what)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", what);
    return -1;
}

static bool get_number(const struct json_value *o, const char *key, double *out)
{
    const struct json_value *v = json_get(o, key);
    if (!v || v->type != JSON_NUMBER)
        return false;
    *out = v->num;
    return true;
}

int iperf3_results_parse(const char *json, size_t len, struct iperf3_results *r, char *why,
                         size_t whylen)
{
    memset(r, 0, sizeof(*r));
    char err[96];
    struct json_doc *d = json_parse(json, len, err, sizeof(err));
    if (!d) {
        if (why && whylen)
            snprintf(why, whylen, "malformed JSON (%s)", err);
        return -1;
    }
    int rc = -1;
    const struct json_value *o = json_root(d), *streams;
    int64_t v;
    if (o->type != JSON_OBJECT) {
        bad_results(why, whylen, "the results are not a JSON object");
        goto out;
    }
    /* Required, as iperf3 requires them. */
    if (!get_number(o, "cpu_util_total", &r->cpu_total) ||
        !get_number(o, "cpu_util_user", &r->cpu_user) ||
        !get_number(o, "cpu_util_system", &r->cpu_system)) {
        bad_results(why, whylen, "missing or non-numeric cpu_util_*");
        goto out;
    }
    if (!signed_int(json_get(o, "sender_has_retransmits"), -1, 1, &v)) {
        bad_results(why, whylen, "missing or bad sender_has_retransmits");
        goto out;
    }
    r->sender_has_retransmits = (int)v;
    const struct json_value *cc = json_get(o, "congestion_used");
    if (cc && cc->type == JSON_STRING && cc->len < sizeof(r->congestion_used) &&
        !memchr(cc->str, '\0', cc->len))
        memcpy(r->congestion_used, cc->str, cc->len + 1);
    streams = json_get(o, "streams");
    if (!streams || streams->type != JSON_ARRAY) {
        bad_results(why, whylen, "missing streams array");
        goto out;
    }
    if (streams->count > sizeof(r->streams) / sizeof(r->streams[0])) {
        bad_results(why, whylen, "too many streams");
        goto out;
    }
    for (const struct json_value *s = streams->child; s; s = s->next) {
        struct iperf3_stream_result *sr = &r->streams[r->nstreams];
        double ignored;
        int64_t id, bytes, retr, n;
        if (s->type != JSON_OBJECT || !json_int(json_get(s, "id"), 1, INT32_MAX, &id) ||
            !json_int(json_get(s, "bytes"), 0, JSON_INT_MAX, &bytes) ||
            !signed_int(json_get(s, "retransmits"), -1, JSON_INT_MAX, &retr) ||
            !get_number(s, "jitter", &ignored) ||
            !signed_int(json_get(s, "errors"), INT64_MIN, INT64_MAX, &n) ||
            !signed_int(json_get(s, "packets"), INT64_MIN, INT64_MAX, &n)) {
            bad_results(why, whylen,
                        "a stream lacks id, bytes, retransmits, jitter, errors or packets");
            goto out;
        }
        sr->id = (int)id;
        sr->bytes = (uint64_t)bytes;
        sr->retransmits = retr;
        /* Optional (iperf3 before 3.2 did not send them). */
        get_number(s, "start_time", &sr->start_time);
        get_number(s, "end_time", &sr->end_time);
        r->nstreams++;
    }
    rc = 0;
out:
    json_free(d);
    return rc;
}

char *iperf3_results_build(const struct iperf3_results *r, size_t *len)
{
    struct json_writer w;
    json_writer_init(&w, false);
    json_begin_object(&w, NULL);
    json_put_double(&w, "cpu_util_total", r->cpu_total);
    json_put_double(&w, "cpu_util_user", r->cpu_user);
    json_put_double(&w, "cpu_util_system", r->cpu_system);
    json_put_int(&w, "sender_has_retransmits", r->sender_has_retransmits);
    if (r->congestion_used[0])
        json_put_string(&w, "congestion_used", r->congestion_used);
    if (r->server_output_text)
        json_put_string(&w, "server_output_text", r->server_output_text);
    json_begin_array(&w, "streams");
    for (size_t i = 0; i < r->nstreams; i++) {
        const struct iperf3_stream_result *s = &r->streams[i];
        json_begin_object(&w, NULL);
        json_put_int(&w, "id", s->id);
        json_put_uint(&w, "bytes", s->bytes);
        json_put_int(&w, "retransmits", s->retransmits);
        json_put_double(&w, "jitter", 0); /* UDP only */
        json_put_int(&w, "errors", 0);
        json_put_int(&w, "packets", 0);
        json_put_double(&w, "start_time", s->start_time);
        json_put_double(&w, "end_time", s->end_time);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    return json_finish(&w, len);
}

int iperf3_stream_id(unsigned index) { return index == 0 ? 1 : (int)index + 2; }

void iperf3_make_cookie(char cookie[IPERF3_COOKIE_SIZE])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char rnd[IPERF3_COOKIE_SIZE - 1];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* No kernel randomness: a cookie need only differ from the others
         * on this server, so a clock-seeded sequence will do. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                     (uint64_t)(uintptr_t)cookie;
        for (size_t i = 0; i < sizeof(rnd); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rnd[i] = (unsigned char)x;
        }
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        cookie[i] = alphabet[rnd[i] % 32];
    cookie[IPERF3_COOKIE_SIZE - 1] = '\0';
}

const char *iperf3_error_text(int ierr)
{
    switch (ierr) {
    case IPERF3_IE_DURATION: return "test duration too long";
    case IPERF3_IE_NUMSTREAMS: return "too many parallel streams";
    case IPERF3_IE_BLOCKSIZE: return "block size too large";
    case IPERF3_IE_OMIT: return "bogus value for --omit";
    case IPERF3_IE_UNIMP: return "an option is not implemented (by this server)";
    case IPERF3_IE_REVERSEBIDIR: return "cannot be both reverse and bidirectional";
    case IPERF3_IE_RECVPARAMS: return "unable to receive parameters from client";
    case IPERF3_IE_RECVRESULTS: return "unable to receive results";
    case IPERF3_IE_ACCESSDENIED: return "the server is busy running a test";
    case IPERF3_IE_STREAMREAD: return "unable to read from stream socket";
    case IPERF3_IE_STREAMID: return "stream has an invalid id";
    default: return NULL;
    }
}

void iperf3_put32(uint8_t b[IPERF3_INT_SIZE], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

uint32_t iperf3_get32(const uint8_t b[IPERF3_INT_SIZE])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int iperf3_json_send(iperf3_send_fn send, void *ctx, const char *json, size_t len)
{
    uint8_t hdr[IPERF3_INT_SIZE];
    iperf3_put32(hdr, (uint32_t)len);
    return send(ctx, hdr, sizeof(hdr)) == 0 && send(ctx, json, len) == 0 ? 0 : -1;
}

int iperf3_json_recv(struct iperf3_json_rx *rx, iperf3_recv_fn recv, void *ctx)
{
    for (;;) {
        void *to;
        size_t want;
        if (rx->hdr_len < IPERF3_INT_SIZE) {
            to = rx->hdr + rx->hdr_len;
            want = IPERF3_INT_SIZE - rx->hdr_len;
        } else {
            if (!rx->msg) {
                rx->len = iperf3_get32(rx->hdr);
                if (rx->len == 0 || rx->len > IPERF3_MAX_JSON) {
                    errno = EMSGSIZE;
                    return -1;
                }
                rx->msg = malloc(rx->len);
                rx->got = 0;
                if (!rx->msg) {
                    errno = ENOMEM;
                    return -1;
                }
            }
            if (rx->got == rx->len)
                return 1;
            to = rx->msg + rx->got;
            want = rx->len - rx->got;
        }
        ssize_t n = recv(ctx, to, want);
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (rx->hdr_len < IPERF3_INT_SIZE)
            rx->hdr_len += (size_t)n;
        else
            rx->got += (size_t)n;
    }
}

void iperf3_json_rx_reset(struct iperf3_json_rx *rx)
{
    free(rx->msg);
    *rx = (struct iperf3_json_rx){0};
}

static uint64_t tv_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void cpu_now(struct iperf3_cpu *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->wall_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c->user_us = tv_us(ru.ru_utime);
        c->sys_us = tv_us(ru.ru_stime);
    } else {
        c->user_us = c->sys_us = 0;
    }
}

void iperf3_cpu_start(struct iperf3_cpu *c) { cpu_now(c); }

void iperf3_cpu_read(const struct iperf3_cpu *c, double *total, double *user, double *sys)
{
    struct iperf3_cpu now;
    cpu_now(&now);
    double wall = (double)(now.wall_us - c->wall_us);
    double u = now.user_us >= c->user_us ? (double)(now.user_us - c->user_us) : 0;
    double s = now.sys_us >= c->sys_us ? (double)(now.sys_us - c->sys_us) : 0;
    *user = wall > 0 ? 100.0 * u / wall : 0;
    *sys = wall > 0 ? 100.0 * s / wall : 0;
    *total = *user + *sys;
}
