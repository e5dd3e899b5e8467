/* A small JSON (RFC 8259) reader and writer, enough for the iperf3
 * protocol's messages.
 *
 * The reader parses a whole document from a buffer that need not be
 * NUL-terminated into a tree it owns. It is strict (no trailing commas,
 * comments, single quotes, leading zeros, control characters in strings,
 * lone surrogates or bytes after the value) and bounded: nesting depth at
 * most JSON_MAX_DEPTH, numbers at most 64 characters. Anything else is an
 * error with a message, never a read outside the buffer.
 *
 * The writer appends to a growing buffer; keys are given with each value
 * inside an object (NULL inside arrays and at the top). */
#ifndef USTACK_JSON_H
#define USTACK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

struct json_value {
    enum json_type type;
    double num;      /* JSON_NUMBER */
    const char *str; /* JSON_STRING: decoded, NUL-terminated ... */
    size_t len;      /* ... and its length (it may contain \u0000) */
    const char *key; /* a member of an object: its name (decoded) */
    size_t key_len;
    size_t count;             /* JSON_ARRAY, JSON_OBJECT: number of children */
    struct json_value *child; /* the first element or member */
    struct json_value *next;  /* the next sibling */
};

struct json_doc;

/* Parses text[0..len). Returns the document (free with json_free), or NULL
 * with a message in err (if given) that names the byte offset. */
struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(struct json_doc *d);
const struct json_value *json_root(const struct json_doc *d);

/* The member named key of an object (the last one if repeated), or NULL
 * (also when obj is not an object). */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* A number that is an integer within [min, max]: true and *out set. */
bool json_int(const struct json_value *v, int64_t min, int64_t max, int64_t *out);

/* ---- writer ---- */
struct json_writer {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory or misuse: json_finish gives NULL */
    bool pretty; /* newlines and two-space indentation */
    unsigned depth;
    uint64_t nonempty; /* bit d: the container at depth d has a value */
};

void json_writer_init(struct json_writer *w, bool pretty);
void json_begin_object(struct json_writer *w, const char *key);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w, const char *key);
void json_end_array(struct json_writer *w);
void json_put_string(struct json_writer *w, const char *key, const char *s);
void json_put_int(struct json_writer *w, const char *key, int64_t v);
void json_put_uint(struct json_writer *w, const char *key, uint64_t v);
/* Finite values only; NaN and infinities are written as 0. */
void json_put_double(struct json_writer *w, const char *key, double v);
void json_put_bool(struct json_writer *w, const char *key, bool v);
/* The text, NUL-terminated (the caller frees it), or NULL if anything
 * failed or a container is still open. Resets the writer. */
char *json_finish(struct json_writer *w, size_t *len);
/* Discards what was written. */
void json_writer_free(struct json_writer *w);

#endif
