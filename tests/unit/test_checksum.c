/* The Internet checksum (RFC 1071): published examples, odd lengths,
 * degenerate inputs, composition of partial sums, and a comparison with a
 * straightforward reference implementation written from the RFC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/checksum.h"

/* RFC 1071 section 1: add 16-bit big-endian words in one's complement,
 * folding the carry back after every addition; pad an odd byte with zero. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < len; i += 2) {
        uint32_t w = (uint32_t)p[i] << 8;
        if (i + 1 < len)
            w |= p[i + 1];
        s += w;
        if (s > 0xffff)
            s = (s & 0xffff) + 1;
    }
    return (uint16_t)s;
}

/* The folded one's complement sum a running sum stands for. */
static uint16_t folded(uint32_t sum) { return (uint16_t)~cksum_fold(sum); }

/* RFC 1071 section 3, "Numerical Examples": bytes 00 01 f2 03 f4 f5 f6 f7
 * sum to 2ddf0, which folds to ddf2; the checksum is its complement. */
static void rfc1071_example(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(folded(cksum_add(0, b, sizeof(b))), 0xddf2);
    assert_int_equal(cksum(b, sizeof(b)), 0x220d);
}

/* The example's partial sums from RFC 1071 section 3 (byte pairs summed
 * separately, then combined): 0001 + f203 = f204; + f4f5 = 1e6f9; + f6f7 = 2ddf0. */
static void rfc1071_example_pieces(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t s = cksum_add(0, b, 2);
    assert_int_equal(folded(s), 0x0001);
    s = cksum_add(s, b + 2, 2);
    assert_int_equal(folded(s), 0xf204);
    s = cksum_add(s, b + 4, 2);
    assert_int_equal(folded(s), 0xe6fa); /* 1e6f9 folded: e6f9 + 1 */
    s = cksum_add(s, b + 6, 2);
    assert_int_equal(folded(s), 0xddf2);
    assert_int_equal(cksum_fold(s), 0x220d);
}

static void rfc1071_example_with_checksum_verifies(void **state)
{
    (void)state;
    uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x22, 0x0d};
    assert_int_equal(cksum(b, sizeof(b)), 0);
    b[3] ^= 0x10;
    assert_int_not_equal(cksum(b, sizeof(b)), 0);
}

static void empty_input(void **state)
{
    (void)state;
    const uint8_t b[1] = {0};
    assert_int_equal(cksum(b, 0), 0xffff);
    assert_int_equal(folded(cksum_add(0x1234, b, 0)), 0x1234);
}

static void odd_length_single_byte(void **state)
{
    (void)state;
    const uint8_t b[] = {0xab};
    /* ab is padded to the word ab00; ~ab00 = 54ff. */
    assert_int_equal(cksum(b, 1), 0x54ff);
}

static void odd_length_three_bytes(void **state)
{
    (void)state;
    const uint8_t b[] = {0x01, 0x02, 0x03};
    /* 0102 + 0300 = 0402; ~0402 = fbfd. */
    assert_int_equal(cksum(b, 3), 0xfbfd);
}

static void odd_length_with_carry(void **state)
{
    (void)state;
    const uint8_t b[] = {0xff, 0xff, 0xff};
    /* ffff + ff00 = 1feff -> feff + 1 = ff00; ~ff00 = 00ff. */
    assert_int_equal(cksum(b, 3), 0x00ff);
}

static void all_zero(void **state)
{
    (void)state;
    uint8_t b[1501];
    memset(b, 0, sizeof(b));
    for (size_t n = 0; n <= sizeof(b); n += 7)
        assert_int_equal(cksum(b, n), 0xffff);
    assert_int_equal(cksum(b, sizeof(b)), 0xffff);
}

static void all_ones(void **state)
{
    (void)state;
    uint8_t *b = malloc(65536);
    assert_non_null(b);
    memset(b, 0xff, 65536);
    /* Any number of ffff words sums to ffff (negative zero): checksum 0. */
    assert_int_equal(cksum(b, 2), 0x0000);
    assert_int_equal(cksum(b, 20), 0x0000);
    assert_int_equal(cksum(b, 1500), 0x0000);
    assert_int_equal(cksum(b, 65536), 0x0000);
    /* An odd tail ff00 on top of ffff: 00ff. */
    assert_int_equal(cksum(b, 1501), 0x00ff);
    free(b);
}

/* With a starting sum: ref_sum's folded sum added to it, folded again. */
static uint16_t reference(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = (uint64_t)sum + ref_sum(p, len);
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* Every short length, every alignment within a 64-bit word, and sums
 * carried in from a pseudo-header, including ones near overflow. */
static void matches_reference(void **state)
{
    (void)state;
    static uint8_t buf[2100];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    memset(buf + 1000, 0xff, 600); /* long runs of carries */
    const uint32_t sums[] = {0, 1, 0xffff, 0x1fffe, 0xfffffffeu};
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += len < 80 ? 1 : 37)
            for (size_t k = 0; k < sizeof(sums) / sizeof(sums[0]); k++)
                assert_int_equal(cksum_fold(cksum_add(sums[k], buf + off, len)),
                                 reference(sums[k], buf + off, len));
}

/* cksum_add_at: a buffer cut into three pieces anywhere (odd lengths and
 * odd offsets included) sums to what the whole does, from any start. */
static void pieces_at_any_offset(void **state)
{
    (void)state;
    static uint8_t buf[700];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    memset(buf + 300, 0xff, 200); /* carries */
    const uint32_t sums[] = {0, 0xffff, 0xfffffffeu};
    for (size_t a = 0; a <= 41; a++)
        for (size_t b = a; b <= sizeof(buf); b += b < 60 ? 1 : 97)
            for (size_t k = 0; k < sizeof(sums) / sizeof(sums[0]); k++) {
                uint32_t acc = cksum_add_at(sums[k], buf, a, 0);
                acc = cksum_add_at(acc, buf + a, b - a, a);
                acc = cksum_add_at(acc, buf + b, sizeof(buf) - b, b);
                assert_int_equal(cksum_fold(acc), cksum_fold(cksum_add(sums[k], buf, sizeof(buf))));
            }
}

static void fold_values(void **state)
{
    (void)state;
    assert_int_equal(cksum_fold(0), 0xffff);
    assert_int_equal(cksum_fold(0xffff), 0x0000);
    assert_int_equal(cksum_fold(0x1ffff), 0xfffe);     /* ffff + 1 = 10000 -> 0001 */
    assert_int_equal(cksum_fold(0xffffffffu), 0x0000); /* ffff + ffff -> ffff */
    assert_int_equal(cksum_fold(0x00012345u), 0xdcb9); /* 2345 + 1 = 2346 */
    assert_int_equal(cksum_fold(0x8000ffffu), 0x7fff); /* ffff + 8000 -> 8000 */
}

static void large_start_sum_keeps_carries(void **state)
{
    (void)state;
    const uint8_t one[] = {0x00, 0x01};
    /* ffffffff stands for ffff; plus 0001 is 10000, i.e. 0001. */
    assert_int_equal(folded(cksum_add(0xffffffffu, one, 2)), 0x0001);
    /* fffffffe stands for fffe + ffff = fffe; adding ffff words (negative
     * zero) leaves it unchanged. */
    const uint8_t ff[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(folded(cksum_add(0xfffffffeu, ff, 4)), 0xfffe);
}

/* The header from the checksum example that circulates in textbooks and on
 * Wikipedia ("IPv4 header checksum"): 4500 0073 0000 4000 4011 b861 c0a8
 * 0001 c0a8 00c7. */
static void known_ipv4_header(void **state)
{
    (void)state;
    uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(cksum(h, sizeof(h)), 0);
    h[10] = h[11] = 0;
    assert_int_equal(cksum(h, sizeof(h)), 0xb861);
}

static void compose_even_pieces(void **state)
{
    (void)state;
    uint8_t b[300];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 37 + 11);
    uint16_t whole = cksum(b, sizeof(b));
    /* Every split at an even offset, into two pieces. */
    for (size_t k = 0; k <= sizeof(b); k += 2) {
        uint32_t s = cksum_add(0, b, k);
        s = cksum_add(s, b + k, sizeof(b) - k);
        assert_int_equal(cksum_fold(s), whole);
    }
    /* Many pieces of different even sizes, the last one odd. */
    size_t pieces[] = {2, 8, 14, 20, 6, 100, 48, 101};
    uint32_t s = 0;
    size_t off = 0;
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        s = cksum_add(s, b + off, pieces[i]);
        off += pieces[i];
    }
    assert_int_equal(off, 299);
    assert_int_equal(cksum_fold(s), cksum(b, 299));
}

static void compose_is_order_independent(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    for (size_t i = 0; i < 64; i++) {
        a[i] = (uint8_t)(0xf0 + i);
        b[i] = (uint8_t)(0x0f * i);
    }
    uint32_t ab = cksum_add(cksum_add(0, a, 64), b, 64);
    uint32_t ba = cksum_add(cksum_add(0, b, 64), a, 64);
    assert_int_equal(cksum_fold(ab), cksum_fold(ba));
}

static void matches_reference_on_random_data(void **state)
{
    (void)state;
    static uint8_t buf[4100];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 400; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        size_t off = (size_t)(x % 4); /* unaligned starts too */
        size_t len = (size_t)((x >> 8) % 4096);
        uint16_t ref = (uint16_t)~ref_sum(buf + off, len);
        assert_int_equal(cksum(buf + off, len), ref);
    }
}

static void inserting_checksum_verifies(void **state)
{
    (void)state;
    uint8_t b[41];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 91 + 3);
    b[4] = b[5] = 0;
    uint16_t c = cksum(b, 40);
    b[4] = (uint8_t)(c >> 8);
    b[5] = (uint8_t)c;
    assert_int_equal(cksum(b, 40), 0);
    /* And with an odd length the field at an even offset still works. */
    b[4] = b[5] = 0;
    c = cksum(b, 41);
    b[4] = (uint8_t)(c >> 8);
    b[5] = (uint8_t)c;
    assert_int_equal(cksum(b, 41), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc1071_example),
        cmocka_unit_test(rfc1071_example_pieces),
        cmocka_unit_test(rfc1071_example_with_checksum_verifies),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(odd_length_single_byte),
        cmocka_unit_test(odd_length_three_bytes),
        cmocka_unit_test(odd_length_with_carry),
        cmocka_unit_test(all_zero),
        cmocka_unit_test(all_ones),
        cmocka_unit_test(pieces_at_any_offset),
        cmocka_unit_test(fold_values),
        cmocka_unit_test(matches_reference),
        cmocka_unit_test(large_start_sum_keeps_carries),
        cmocka_unit_test(known_ipv4_header),
        cmocka_unit_test(compose_even_pieces),
        cmocka_unit_test(compose_is_order_independent),
        cmocka_unit_test(matches_reference_on_random_data),
        cmocka_unit_test(inserting_checksum_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
