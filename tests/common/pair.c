#include "pair.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

void pair_init(struct pair *p, uint64_t seed, const struct ust_config *ca,
               const struct ust_config *cb, const struct ust_faults *f)
{
    pair_init_offload(p, seed, ca, cb, f, 0, 0);
}

void pair_init_offload(struct pair *p, uint64_t seed, const struct ust_config *ca,
                       const struct ust_config *cb, const struct ust_faults *f, uint32_t offload,
                       uint32_t gso_max)
{
    struct ust_config cfg;
    const uint8_t ma[6] = {2, 0, 0, 0, 0, 0xa}, mb[6] = {2, 0, 0, 0, 0, 0xb};
    struct ust_device *d;
    p->now = 1000 * UST_SEC;
    assert_int_equal(ust_memlink_create(seed, &p->link), 0);
    if (!ca) {
        test_config(&cfg, seed);
        ca = &cfg;
    }
    assert_int_equal(ust_stack_create(ca, &p->a), 0);
    if (!cb) {
        test_config(&cfg, seed + 1);
        cb = &cfg;
    }
    assert_int_equal(ust_stack_create(cb, &p->b), 0);
    ust_memlink_set_offload(p->link, offload, gso_max);
    assert_int_equal(ust_memlink_attach(p->link, "eth0", ma, &d), 0);
    assert_true(ust_stack_add_device(p->a, d) >= 0);
    assert_int_equal(ust_memlink_attach(p->link, "eth0", mb, &d), 0);
    assert_true(ust_stack_add_device(p->b, d) >= 0);
    assert_int_equal(ust_iface_add(p->a, "eth0", PAIR_IP_A, 24, p->now), 0);
    assert_int_equal(ust_iface_add(p->b, "eth0", PAIR_IP_B, 24, p->now), 0);
    if (f)
        ust_memlink_set_faults(p->link, f);
}

void pair_fini(struct pair *p)
{
    ust_stack_destroy(p->a);
    ust_stack_destroy(p->b);
    ust_memlink_release(p->link);
}

bool pair_run(struct pair *p, ust_time_t for_us, bool (*cond)(void *), void *ctx)
{
    struct ust_stack *st[] = {p->a, p->b};
    return sim_run(st, 2, &p->now, p->now + for_us, cond, ctx);
}
