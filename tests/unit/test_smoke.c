/* Smoke test of the fixture: an echo request gets an echo reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "harness.h"

static void echo_request_is_answered(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t frame[1600], out[1600];
    const char data[] = "hello, ustack";
    size_t n = build_echo_request(frame, T_IP_PEER, T_IP_US, 7, 1, data, sizeof(data));
    fixture_input(&f, frame, n);
    assert_int_equal(cap_count(f.cap), 1);
    size_t m = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(m, 60);      /* padded to the Ethernet minimum */
    assert_int_equal(out[34], 0); /* echo reply */
    assert_memory_equal(out + 42, data, sizeof(data));
    assert_int_equal(ust_stack_stats(f.s)->icmp.tx_echo_reply, 1);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(echo_request_is_answered)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
