/* The runner's JSON reader and writer (apps/json.c): values of every type,
 * escapes and UTF-16 surrogates, limits, a catalogue of malformed input,
 * every truncation of a valid document, and the writer read back. Inputs
 * are copied into buffers of exactly their length (no NUL after them), so
 * AddressSanitizer catches any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Parses text[0..len) from an exactly sized heap copy. */
static struct json_doc *parse_n(const char *text, size_t len, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    struct json_doc *d = json_parse(copy, len, err, errlen);
    free(copy);
    return d;
}

static struct json_doc *parse(const char *text) { return parse_n(text, strlen(text), NULL, 0); }

static void all_types(void **state)
{
    (void)state;
    struct json_doc *d =
        parse(" {\"n\": null, \"t\": true, \"f\": false, \"i\": -42, \"x\": 1.5e3,"
              " \"s\": \"hi\", \"a\": [1, [2, {}], []], \"o\": {\"k\": \"v\"}} \n");
    assert_non_null(d);
    const struct json_value *r = json_root(d);
    assert_int_equal(r->type, JSON_OBJECT);
    assert_int_equal(r->count, 8);
    assert_int_equal(json_get(r, "n")->type, JSON_NULL);
    assert_int_equal(json_get(r, "t")->type, JSON_TRUE);
    assert_int_equal(json_get(r, "f")->type, JSON_FALSE);
    assert_true(json_get(r, "i")->num == -42);
    assert_true(json_get(r, "x")->num == 1500);
    assert_string_equal(json_get(r, "s")->str, "hi");
    assert_int_equal(json_get(r, "s")->len, 2);
    const struct json_value *a = json_get(r, "a");
    assert_int_equal(a->type, JSON_ARRAY);
    assert_int_equal(a->count, 3);
    assert_true(a->child->num == 1);
    assert_int_equal(a->child->next->type, JSON_ARRAY);
    assert_int_equal(a->child->next->child->next->type, JSON_OBJECT);
    assert_int_equal(a->child->next->child->next->count, 0);
    assert_null(a->child->next->child->next->child);
    assert_int_equal(a->child->next->next->count, 0);
    assert_null(a->child->next->next->next);
    assert_string_equal(json_get(json_get(r, "o"), "k")->str, "v");
    assert_null(json_get(r, "missing"));
    assert_null(json_get(a, "n")); /* not an object */
    json_free(d);
}

static void scalars_at_the_top(void **state)
{
    (void)state;
    const char *ok[] = {"0", "-0", "7", "\"\"", "true", "false", "null", "[]", "{}", " 1 "};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct json_doc *d = parse(ok[i]);
        if (!d)
            fail_msg("rejected: %s", ok[i]);
        json_free(d);
    }
}

static void duplicate_keys_last_wins(void **state)
{
    (void)state;
    struct json_doc *d = parse("{\"a\": 1, \"a\": 2}");
    assert_non_null(d);
    assert_true(json_get(json_root(d), "a")->num == 2);
    json_free(d);
}

static void escapes(void **state)
{
    (void)state;
    struct json_doc *d = parse("[\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\", \"\\u00e9\\u20ac\", "
                               "\"\\ud83d\\ude00\", \"a\\u0000b\", {\"k\\u0041\": 1}]");
    assert_non_null(d);
    const struct json_value *v = json_root(d)->child;
    assert_string_equal(v->str, "q\"b\\s/b\bf\fn\nr\rt\t");
    v = v->next;
    assert_string_equal(v->str, "\xc3\xa9\xe2\x82\xac"); /* é € */
    v = v->next;
    assert_string_equal(v->str, "\xf0\x9f\x98\x80"); /* U+1F600 from a surrogate pair */
    v = v->next;
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->str, "a\0b", 3);
    v = v->next;
    assert_non_null(json_get(v, "kA"));
    json_free(d);
}

static void numbers(void **state)
{
    (void)state;
    struct json_doc *d =
        parse("[0, -0, 12.25, -1E-2, 1e+2, 18446744073709551615, 9007199254740993]");
    assert_non_null(d);
    const struct json_value *v = json_root(d)->child;
    int64_t i;
    assert_true(json_int(v, 0, 0, &i) && i == 0);
    v = v->next;
    assert_true(json_int(v, 0, 0, &i) && i == 0);
    v = v->next;
    assert_true(v->num == 12.25);
    assert_false(json_int(v, INT64_MIN, INT64_MAX, &i)); /* not an integer */
    v = v->next;
    assert_true(fabs(v->num + 0.01) < 1e-12);
    v = v->next;
    assert_true(json_int(v, 0, 100, &i) && i == 100);
    assert_false(json_int(v, 0, 99, &i)); /* out of range */
    v = v->next;
    assert_false(json_int(v, INT64_MIN, INT64_MAX, &i)); /* 2^64: beyond int64 */
    v = v->next;
    assert_true(json_int(v, 0, INT64_MAX, &i)); /* beyond 2^53: rounded, but an integer */
    assert_false(json_int(NULL, 0, 1, &i));
    json_free(d);
}

static void depth_limit(void **state)
{
    (void)state;
    char buf[2 * (JSON_MAX_DEPTH + 1)];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        char err[96];
        struct json_doc *d = parse_n(buf, 2 * (size_t)depth, err, sizeof(err));
        if (depth == JSON_MAX_DEPTH) {
            assert_non_null(d);
        } else {
            assert_null(d);
            assert_non_null(strstr(err, "nested too deeply"));
        }
        json_free(d);
    }
}

static void malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[",
        "]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":}",
        "{1:2}",
        "{\"a\":1 \"b\":2}",
        "'x'",
        "01",
        "-01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "tru",
        "nul",
        "falsey",
        "True",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud800x\"",
        "\"a\nb\"",
        "\"tab\there\"",
        "[1] 2",
        "1 2",
        "{}{}",
        "\"\\",
        "[\"a\",",
        "{\"a\"",
        "{\"a\":",
        "/* c */ 1",
        "[1,2,]",
        "12345678901234567890123456789012345678901234567890123456789012345", /* 65 digits */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[96] = "";
        struct json_doc *d = parse_n(bad[i], strlen(bad[i]), err, sizeof(err));
        if (d)
            fail_msg("accepted malformed input #%zu: %s", i, bad[i]);
        if (!strstr(err, "offset "))
            fail_msg("no message for #%zu (%s): '%s'", i, bad[i], err);
    }
    /* Bytes that are not text at all, including NULs. */
    const char bin[] = {'[', '1', ',', '\0', ']', '\xff'};
    assert_null(parse_n(bin, sizeof(bin), NULL, 0));
    assert_null(json_parse(NULL, 0, NULL, 0));
}

/* Every proper prefix of a document that is an object is malformed. */
static void every_truncation(void **state)
{
    (void)state;
    const char *doc = "{\"cpu_util_total\":12.5,\"streams\":[{\"id\":1,\"bytes\":123456,"
                      "\"name\":\"\\u00e9\\ud83d\\ude00\\n\"},{\"id\":3,\"ok\":true,\"no\":null}],"
                      "\"x\":[[],{},-1e-3]}";
    size_t n = strlen(doc);
    struct json_doc *d = parse_n(doc, n, NULL, 0);
    assert_non_null(d);
    json_free(d);
    for (size_t len = 0; len < n; len++) {
        d = parse_n(doc, len, NULL, 0);
        if (d)
            fail_msg("accepted a truncation to %zu bytes", len);
    }
}

/* Bytes flipped one at a time: whatever the parser decides, it decides
 * safely (ASan watches), and a document it accepts is well formed. */
static void every_corruption(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,-2.5e1,\"s\\\"\\u0041\"],\"b\":{\"c\":true,\"d\":null}}";
    size_t n = strlen(doc);
    char *buf = malloc(n);
    assert_non_null(buf);
    const char repl[] = {'"', '\\', '{', '}', '[',  ']', ',', ':',
                         '0', 'e',  '-', ' ', '\0', 'u', 'x', '\x80'};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(repl); k++) {
            memcpy(buf, doc, n);
            buf[i] = repl[k];
            struct json_doc *d = json_parse(buf, n, NULL, 0);
            if (d)
                assert_non_null(json_root(d));
            json_free(d);
        }
    }
    free(buf);
}

static void writer_round_trip(void **state)
{
    (void)state;
    for (int pretty = 0; pretty <= 1; pretty++) {
        struct json_writer w;
        json_writer_init(&w, pretty);
        json_begin_object(&w, NULL);
        json_put_string(&w, "s", "quote\" backslash\\ nl\n tab\t ctl\x01 é");
        json_put_int(&w, "neg", -5);
        json_put_uint(&w, "big", UINT64_C(9007199254740992));
        json_put_double(&w, "d", 10.000123);
        json_put_double(&w, "nan", NAN);
        json_put_bool(&w, "yes", true);
        json_begin_array(&w, "arr");
        json_put_int(&w, NULL, 1);
        json_begin_object(&w, NULL);
        json_end_object(&w);
        json_begin_array(&w, NULL);
        json_end_array(&w);
        json_end_array(&w);
        json_begin_object(&w, "empty");
        json_end_object(&w);
        json_end_object(&w);
        size_t len;
        char *text = json_finish(&w, &len);
        assert_non_null(text);
        assert_int_equal(strlen(text), len);
        char err[96];
        struct json_doc *d = json_parse(text, len, err, sizeof(err));
        if (!d)
            fail_msg("writer output does not parse (%s): %s", err, text);
        const struct json_value *r = json_root(d);
        assert_string_equal(json_get(r, "s")->str, "quote\" backslash\\ nl\n tab\t ctl\x01 é");
        assert_true(json_get(r, "neg")->num == -5);
        assert_true(json_get(r, "big")->num == 9007199254740992.0);
        assert_true(fabs(json_get(r, "d")->num - 10.000123) < 1e-9);
        assert_true(json_get(r, "nan")->num == 0);
        assert_int_equal(json_get(r, "yes")->type, JSON_TRUE);
        assert_int_equal(json_get(r, "arr")->count, 3);
        assert_int_equal(json_get(r, "empty")->count, 0);
        json_free(d);
        free(text);
    }
}

static void writer_misuse(void **state)
{
    (void)state;
    struct json_writer w;
    json_writer_init(&w, false);
    json_begin_object(&w, NULL);
    assert_null(json_finish(&w, NULL)); /* still open */
    json_end_array(&w);
    assert_null(json_finish(&w, NULL)); /* closed what was never opened */
    json_put_int(&w, NULL, 3);
    char *t = json_finish(&w, NULL); /* the writer was reset: a fresh document */
    assert_non_null(t);
    assert_string_equal(t, "3");
    free(t);
    json_begin_array(&w, NULL);
    json_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_types),
        cmocka_unit_test(scalars_at_the_top),
        cmocka_unit_test(duplicate_keys_last_wins),
        cmocka_unit_test(escapes),
        cmocka_unit_test(numbers),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(malformed),
        cmocka_unit_test(every_truncation),
        cmocka_unit_test(every_corruption),
        cmocka_unit_test(writer_round_trip),
        cmocka_unit_test(writer_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
