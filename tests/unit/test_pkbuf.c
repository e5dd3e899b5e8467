/* Packet buffers (src/core/pkbuf): the headroom and pkb_push's bound.
 *
 * Compiled as the release build is (NDEBUG), so an assert() cannot stand
 * in for the check: pkb_push must refuse to go below the buffer in every
 * build. */
#ifndef NDEBUG
#define NDEBUG
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "core/pkbuf.h"
#include "harness.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

static struct ust_stack *stack_new(void)
{
    struct ust_config cfg;
    struct ust_stack *s;
    test_config(&cfg, 1);
    assert_int_equal(ust_stack_create(&cfg, &s), 0);
    return s;
}

/* The headroom holds the largest headers the layers below can prepend. */
static void headroom_holds_the_largest_headers(void **state)
{
    (void)state;
    assert_true(PKB_HEADROOM >= ETH_HDR_LEN + IPV4_MAX_HDR_LEN + TCP_MAX_HDR_LEN);
    struct ust_stack *s = stack_new();
    struct pkbuf *p = pkb_alloc(s, 100);
    assert_non_null(p);
    assert_int_equal(p->head, PKB_HEADROOM);
    assert_int_equal(p->len, 100);
    assert_true(p->cap >= PKB_HEADROOM + 100);
    /* TCP with options, IPv4 with options, Ethernet: all fit. */
    uint8_t *payload = pkb_data(p);
    assert_ptr_equal(pkb_push(p, TCP_MAX_HDR_LEN), payload - TCP_MAX_HDR_LEN);
    assert_ptr_equal(pkb_push(p, IPV4_MAX_HDR_LEN), payload - TCP_MAX_HDR_LEN - IPV4_MAX_HDR_LEN);
    uint8_t *frame = pkb_push(p, ETH_HDR_LEN);
    assert_ptr_equal(frame, payload - TCP_MAX_HDR_LEN - IPV4_MAX_HDR_LEN - ETH_HDR_LEN);
    assert_ptr_equal(frame, pkb_data(p));
    assert_true(frame >= p->data);
    assert_int_equal(p->len, 100 + TCP_MAX_HDR_LEN + IPV4_MAX_HDR_LEN + ETH_HDR_LEN);
    pkb_free(s, p);
    assert_int_equal(ust_stack_stats(s)->pkb.live, 0);
    ust_stack_destroy(s);
}

/* Pushing more than the headroom left is refused, the packet unchanged. */
static void push_past_the_headroom_is_refused(void **state)
{
    (void)state;
    struct ust_stack *s = stack_new();
    struct pkbuf *p = pkb_alloc(s, 10);
    assert_non_null(p);
    assert_null(pkb_push(p, PKB_HEADROOM + 1));
    assert_int_equal(p->head, PKB_HEADROOM);
    assert_int_equal(p->len, 10);
    /* Down to the first byte of the buffer, then not one more. */
    assert_non_null(pkb_push(p, PKB_HEADROOM - 1));
    assert_ptr_equal(pkb_push(p, 1), p->data);
    assert_int_equal(p->head, 0);
    assert_int_equal(p->len, PKB_HEADROOM + 10);
    assert_null(pkb_push(p, 1));
    assert_null(pkb_push(p, SIZE_MAX));
    assert_int_equal(p->head, 0);
    assert_int_equal(p->len, PKB_HEADROOM + 10);
    assert_ptr_equal(pkb_push(p, 0), p->data); /* nothing is always room */
    pkb_free(s, p);
    /* A recycled buffer starts with its whole headroom again. */
    p = pkb_alloc(s, 10);
    assert_int_equal(p->head, PKB_HEADROOM);
    assert_int_equal(p->len, 10);
    pkb_free(s, p);
    assert_int_equal(ust_stack_stats(s)->pkb.live, 0);
    ust_stack_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headroom_holds_the_largest_headers),
        cmocka_unit_test(push_past_the_headroom_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
