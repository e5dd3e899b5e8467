/* JSON reader and writer (RFC 8259); see json.h.
 *
 * The reader runs the same recursive-descent parser twice: the first pass
 * only validates and counts the values and the bytes of decoded strings,
 * the second fills one array of nodes and one string buffer of exactly
 * that size. So the tree's pointers never move, memory is bounded by the
 * input, and a malformed document fails before anything is allocated. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_doc {
    struct json_value *nodes;
    char *strings;
};

struct parser {
    const char *start, *p, *end;
    bool build;          /* second pass: fill nodes[] and strings[] */
    size_t nnodes, nstr; /* counted (first pass) or used (second) */
    struct json_value *nodes;
    char *strings;
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *what)
{
    if (ps->err && ps->errlen)
        snprintf(ps->err, ps->errlen, "offset %zu: %s", (size_t)(ps->p - ps->start), what);
    return -1;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static struct json_value *new_node(struct parser *ps, enum json_type t)
{
    struct json_value *v = NULL;
    if (ps->build) {
        v = &ps->nodes[ps->nnodes];
        memset(v, 0, sizeof(*v));
        v->type = t;
    }
    ps->nnodes++;
    return v;
}

static int hex4(struct parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return fail(ps, "bad hex digit in \\u escape");
        v = v << 4 | d;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

/* Appends one decoded byte (second pass) and counts it. */
static void out_byte(struct parser *ps, char c)
{
    if (ps->build)
        ps->strings[ps->nstr] = c;
    ps->nstr++;
}

static void out_utf8(struct parser *ps, unsigned cp)
{
    if (cp < 0x80) {
        out_byte(ps, (char)cp);
    } else if (cp < 0x800) {
        out_byte(ps, (char)(0xc0 | cp >> 6));
        out_byte(ps, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out_byte(ps, (char)(0xe0 | cp >> 12));
        out_byte(ps, (char)(0x80 | ((cp >> 6) & 0x3f)));
        out_byte(ps, (char)(0x80 | (cp & 0x3f)));
    } else {
        out_byte(ps, (char)(0xf0 | cp >> 18));
        out_byte(ps, (char)(0x80 | ((cp >> 12) & 0x3f)));
        out_byte(ps, (char)(0x80 | ((cp >> 6) & 0x3f)));
        out_byte(ps, (char)(0x80 | (cp & 0x3f)));
    }
}

/* A string starting at the opening quote; decoded into the string buffer,
 * NUL-terminated. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
    ps->p++; /* the opening quote */
    size_t first = ps->nstr;
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20)
            return fail(ps, "control character in string");
        if (c != '\\') {
            out_byte(ps, (char)c);
            ps->p++;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end)
            return fail(ps, "unterminated escape");
        char e = *ps->p++;
        switch (e) {
        case '"': out_byte(ps, '"'); break;
        case '\\': out_byte(ps, '\\'); break;
        case '/': out_byte(ps, '/'); break;
        case 'b': out_byte(ps, '\b'); break;
        case 'f': out_byte(ps, '\f'); break;
        case 'n': out_byte(ps, '\n'); break;
        case 'r': out_byte(ps, '\r'); break;
        case 't': out_byte(ps, '\t'); break;
        case 'u': {
            unsigned cp;
            if (hex4(ps, &cp) != 0)
                return -1;
            /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): hex4 returned 0 */
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(ps, "lone low surrogate");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* UTF-16 pair: a low surrogate must follow. */
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                    return fail(ps, "lone high surrogate");
                ps->p += 2;
                if (hex4(ps, &lo) != 0)
                    return -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(ps, "high surrogate without a low one");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            out_utf8(ps, cp);
            break;
        }
        default: ps->p--; return fail(ps, "unknown escape");
        }
    }
    *outlen = ps->nstr - first;
    out_byte(ps, '\0');
    *out = ps->build ? ps->strings + first : NULL;
    return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(struct parser *ps, struct json_value *v)
{
    const char *s = ps->p;
    const char *q = s;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || !is_digit(*q))
        return fail(ps, "bad number");
    if (*q == '0') {
        q++;
        if (q < ps->end && is_digit(*q))
            return fail(ps, "leading zero in number");
    } else {
        while (q < ps->end && is_digit(*q))
            q++;
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || !is_digit(*q))
            return fail(ps, "bad fraction in number");
        while (q < ps->end && is_digit(*q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !is_digit(*q))
            return fail(ps, "bad exponent in number");
        while (q < ps->end && is_digit(*q))
            q++;
    }
    char tmp[65];
    size_t n = (size_t)(q - s);
    if (n >= sizeof(tmp))
        return fail(ps, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return fail(ps, "number out of range");
    if (v)
        v->num = d;
    ps->p = q;
    return 0;
}

static bool literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static int parse_value(struct parser *ps, unsigned depth, struct json_value **out);

/* An array or object, at its opening bracket. */
static int parse_container(struct parser *ps, unsigned depth, struct json_value *v, bool object)
{
    if (depth >= JSON_MAX_DEPTH)
        return fail(ps, "nested too deeply");
    char close = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    struct json_value *last = NULL;
    size_t count = 0;
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        if (object) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a member name");
            if (parse_string(ps, &key, &key_len) != 0)
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "expected ':'");
            ps->p++;
        }
        struct json_value *child;
        if (parse_value(ps, depth + 1, &child) != 0)
            return -1;
        count++;
        if (v) {
            child->key = key;
            child->key_len = key_len;
            if (last)
                last->next = child;
            else
                v->child = child;
            last = child;
            v->count = count;
        }
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, object ? "unterminated object" : "unterminated array");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(struct parser *ps, unsigned depth, struct json_value **out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "expected a value");
    struct json_value *v;
    switch (*ps->p) {
    case '{':
        v = new_node(ps, JSON_OBJECT);
        if (parse_container(ps, depth, v, true) != 0)
            return -1;
        break;
    case '[':
        v = new_node(ps, JSON_ARRAY);
        if (parse_container(ps, depth, v, false) != 0)
            return -1;
        break;
    case '"': {
        v = new_node(ps, JSON_STRING);
        const char *str;
        size_t len;
        if (parse_string(ps, &str, &len) != 0)
            return -1;
        if (v) {
            v->str = str;
            v->len = len;
        }
        break;
    }
    case 't':
        if (!literal(ps, "true"))
            return fail(ps, "bad literal");
        v = new_node(ps, JSON_TRUE);
        break;
    case 'f':
        if (!literal(ps, "false"))
            return fail(ps, "bad literal");
        v = new_node(ps, JSON_FALSE);
        break;
    case 'n':
        if (!literal(ps, "null"))
            return fail(ps, "bad literal");
        v = new_node(ps, JSON_NULL);
        break;
    default:
        v = new_node(ps, JSON_NUMBER);
        if (parse_number(ps, v) != 0)
            return -1;
        break;
    }
    *out = v;
    return 0;
}

static int parse_document(struct parser *ps)
{
    struct json_value *root;
    if (parse_value(ps, 0, &root) != 0)
        return -1;
    skip_ws(ps);
    if (ps->p != ps->end)
        return fail(ps, "unexpected bytes after the value");
    return 0;
}

struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        return NULL;
    struct parser ps = {.start = text, .p = text, .end = text + len, .err = err, .errlen = errlen};
    if (parse_document(&ps) != 0)
        return NULL;
    struct json_doc *d = calloc(1, sizeof(*d));
    if (d) {
        d->nodes = calloc(ps.nnodes, sizeof(*d->nodes));
        d->strings = malloc(ps.nstr ? ps.nstr : 1);
    }
    if (!d || !d->nodes || !d->strings) {
        json_free(d);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct parser build = {.start = text,
                           .p = text,
                           .end = text + len,
                           .build = true,
                           .nodes = d->nodes,
                           .strings = d->strings};
    if (parse_document(&build) != 0) { /* cannot happen: the first pass accepted it */
        json_free(d);
        return NULL;
    }
    return d;
}

void json_free(struct json_doc *d)
{
    if (!d)
        return;
    free(d->nodes);
    free(d->strings);
    free(d);
}

const struct json_value *json_root(const struct json_doc *d) { return d ? &d->nodes[0] : NULL; }

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    const struct json_value *found = NULL;
    for (const struct json_value *m = obj->child; m; m = m->next)
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0)
            found = m;
    return found;
}

bool json_int(const struct json_value *v, int64_t min, int64_t max, int64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->num != floor(v->num))
        return false;
    /* Compare as doubles first: converting an out-of-range double to an
     * integer is undefined. 2^63 is exactly representable. */
    if (v->num < -9223372036854775808.0 || v->num >= 9223372036854775808.0)
        return false;
    int64_t i = (int64_t)v->num;
    if (i < min || i > max)
        return false;
    *out = i;
    return true;
}

/* ---- writer ---- */

void json_writer_init(struct json_writer *w, bool pretty)
{
    memset(w, 0, sizeof(*w));
    w->pretty = pretty;
}

static void put_raw(struct json_writer *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put_fmt(struct json_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put_fmt(struct json_writer *w, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        w->failed = true;
        return;
    }
    put_raw(w, tmp, (size_t)n);
}

static void put_escaped(struct json_writer *w, const char *s)
{
    put_raw(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': put_raw(w, "\\\"", 2); break;
        case '\\': put_raw(w, "\\\\", 2); break;
        case '\n': put_raw(w, "\\n", 2); break;
        case '\r': put_raw(w, "\\r", 2); break;
        case '\t': put_raw(w, "\\t", 2); break;
        default:
            if (*p < 0x20)
                put_fmt(w, "\\u%04x", *p);
            else
                put_raw(w, (const char *)p, 1);
        }
    }
    put_raw(w, "\"", 1);
}

static void newline(struct json_writer *w)
{
    if (!w->pretty)
        return;
    put_raw(w, "\n", 1);
    for (unsigned i = 0; i < w->depth; i++)
        put_raw(w, "  ", 2);
}

/* Before a value: the comma, the indentation and the key. */
static void value_start(struct json_writer *w, const char *key)
{
    if (w->depth > 0) {
        uint64_t bit = 1ull << (w->depth - 1);
        if (w->nonempty & bit)
            put_raw(w, ",", 1);
        w->nonempty |= bit;
        newline(w);
    }
    if (key) {
        put_escaped(w, key);
        put_raw(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    }
}

static void begin(struct json_writer *w, const char *key, const char *open)
{
    value_start(w, key);
    put_raw(w, open, 1);
    if (w->depth >= 63) {
        w->failed = true;
        return;
    }
    w->depth++;
    w->nonempty &= ~(1ull << (w->depth - 1));
}

static void end(struct json_writer *w, const char *close)
{
    if (w->depth == 0) {
        w->failed = true;
        return;
    }
    uint64_t bit = 1ull << (w->depth - 1);
    w->depth--;
    if (w->nonempty & bit)
        newline(w);
    w->nonempty &= ~bit;
    put_raw(w, close, 1);
}

void json_begin_object(struct json_writer *w, const char *key) { begin(w, key, "{"); }
void json_end_object(struct json_writer *w) { end(w, "}"); }
void json_begin_array(struct json_writer *w, const char *key) { begin(w, key, "["); }
void json_end_array(struct json_writer *w) { end(w, "]"); }

void json_put_string(struct json_writer *w, const char *key, const char *s)
{
    value_start(w, key);
    put_escaped(w, s ? s : "");
}

void json_put_int(struct json_writer *w, const char *key, int64_t v)
{
    value_start(w, key);
    put_fmt(w, "%lld", (long long)v);
}

void json_put_uint(struct json_writer *w, const char *key, uint64_t v)
{
    value_start(w, key);
    put_fmt(w, "%llu", (unsigned long long)v);
}

void json_put_double(struct json_writer *w, const char *key, double v)
{
    value_start(w, key);
    /* %.15g: integers print without a fraction, seconds keep microseconds;
     * both forms (and the exponent form) are valid JSON numbers. */
    put_fmt(w, "%.15g", isfinite(v) ? v : 0.0);
}

void json_put_bool(struct json_writer *w, const char *key, bool v)
{
    value_start(w, key);
    put_raw(w, v ? "true" : "false", v ? 4 : 5);
}

char *json_finish(struct json_writer *w, size_t *len)
{
    char *out = NULL;
    if (!w->failed && w->depth == 0 && w->buf) {
        out = w->buf;
        if (len)
            *len = w->len;
    } else {
        free(w->buf);
    }
    bool pretty = w->pretty;
    json_writer_init(w, pretty);
    return out;
}

void json_writer_free(struct json_writer *w)
{
    free(w->buf);
    json_writer_init(w, w->pretty);
}
