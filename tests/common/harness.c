#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/bytes.h"
#include "wire/checksum.h"

const uint8_t t_mac_us[6] = T_MAC_US;
const uint8_t t_mac_peer[6] = T_MAC_PEER;

struct cap_frame {
    struct cap_frame *next;
    size_t len;
    struct ust_pkt_meta meta;
    uint8_t data[];
};

struct cap {
    struct cap_frame *head, *tail;
    size_t count;
    int fail;
    struct ust_pkt_meta last; /* the metadata of the frame popped last */
    bool iov;                 /* offers transmit_iov (cap_set_iov) */
    size_t iov_frames;        /* frames it was handed in pieces */
};

static int cap_transmit_meta(struct ust_device *dev, const uint8_t *frame, size_t len,
                             const struct ust_pkt_meta *m, ust_time_t now);

static int cap_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)now;
    struct cap *c = dev->priv;
    if (c->fail)
        return c->fail;
    struct cap_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return -ENOMEM;
    f->next = NULL;
    f->len = len;
    memset(&f->meta, 0, sizeof(f->meta));
    memcpy(f->data, frame, len);
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    c->count++;
    return 0;
}

static void cap_destroy(struct ust_device *dev)
{
    struct cap *c = dev->priv;
    cap_clear(c);
    free(c);
    free(dev);
}

/* A frame in pieces, kept whole (iov_frames counts them). */
static int cap_transmit_iov(struct ust_device *dev, const struct ust_iov *v, int n,
                            const struct ust_pkt_meta *m, ust_time_t now)
{
    struct cap *c = dev->priv;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += v[i].len;
    uint8_t *flat = malloc(len ? len : 1);
    if (!flat)
        return -ENOMEM;
    for (int i = 0, at = 0; i < n; at += (int)v[i].len, i++)
        memcpy(flat + at, v[i].base, v[i].len);
    int err = m ? cap_transmit_meta(dev, flat, len, m, now) : cap_transmit(dev, flat, len, now);
    free(flat);
    if (!err)
        c->iov_frames++;
    return err;
}

static const struct ust_device_ops cap_ops = {.transmit = cap_transmit, .destroy = cap_destroy};
static const struct ust_device_ops cap_meta_ops = {
    .transmit = cap_transmit, .destroy = cap_destroy, .transmit_meta = cap_transmit_meta};
static const struct ust_device_ops cap_iov_ops = {
    .transmit = cap_transmit, .destroy = cap_destroy, .transmit_iov = cap_transmit_iov};
static const struct ust_device_ops cap_meta_iov_ops = {.transmit = cap_transmit,
                                                       .destroy = cap_destroy,
                                                       .transmit_meta = cap_transmit_meta,
                                                       .transmit_iov = cap_transmit_iov};

/* As a device with offloads would: the partial checksum is finished (in
 * the copy kept) and the metadata kept beside the frame. */
static int cap_transmit_meta(struct ust_device *dev, const uint8_t *frame, size_t len,
                             const struct ust_pkt_meta *m, ust_time_t now)
{
    struct cap *c = dev->priv;
    int err = cap_transmit(dev, frame, len, now);
    if (err || !m)
        return err;
    struct cap_frame *f = c->tail;
    f->meta = *m;
    if ((m->flags & UST_META_NEEDS_CSUM) && (size_t)m->csum_start + m->csum_offset + 2 <= len) {
        uint16_t sum = cksum_fold(cksum_add(0, f->data + m->csum_start, len - m->csum_start));
        st16(f->data + m->csum_start + m->csum_offset, sum);
    }
    return 0;
}

static void cap_set_ops(struct ust_device *dev)
{
    struct cap *c = dev->priv;
    if (c->iov)
        dev->ops = dev->offload ? &cap_meta_iov_ops : &cap_iov_ops;
    else
        dev->ops = dev->offload ? &cap_meta_ops : &cap_ops;
}

void cap_set_offload(struct ust_device *dev, uint32_t offload, uint32_t gso_max)
{
    dev->offload = offload;
    dev->gso_max = gso_max;
    cap_set_ops(dev);
}

void cap_set_iov(struct ust_device *dev, bool on)
{
    ((struct cap *)dev->priv)->iov = on;
    cap_set_ops(dev);
}

size_t cap_iov_frames(const struct cap *c) { return c->iov_frames; }

const struct ust_pkt_meta *cap_last_meta(const struct cap *c) { return &c->last; }

int cap_create(const char *name, const uint8_t mac[6], struct cap **cap, struct ust_device **dev)
{
    struct ust_device *d = calloc(1, sizeof(*d));
    struct cap *c = calloc(1, sizeof(*c));
    if (!d || !c) {
        free(d);
        free(c);
        return -ENOMEM;
    }
    d->ops = &cap_ops;
    d->priv = c;
    strncpy(d->name, name, UST_DEV_NAME_MAX - 1);
    d->type = UST_DEV_ETHERNET;
    d->mtu = 1500;
    memcpy(d->mac, mac, 6);
    *cap = c;
    *dev = d;
    return 0;
}

size_t cap_count(const struct cap *c) { return c->count; }

size_t cap_pop(struct cap *c, uint8_t *buf, size_t bufcap)
{
    struct cap_frame *f = c->head;
    if (!f)
        return 0;
    c->head = f->next;
    if (!c->head)
        c->tail = NULL;
    c->count--;
    size_t n = f->len < bufcap ? f->len : bufcap;
    memcpy(buf, f->data, n);
    size_t len = f->len;
    c->last = f->meta;
    free(f);
    return len;
}

void cap_clear(struct cap *c)
{
    uint8_t tmp[1];
    while (c->head)
        cap_pop(c, tmp, 0);
}

void cap_fail_with(struct cap *c, int err) { c->fail = err; }

void test_config(struct ust_config *cfg, uint64_t seed)
{
    ust_config_init(cfg);
    cfg->seed = seed;
    cfg->log_level = UST_LOG_NONE;
    const char *env = getenv("USTACK_LOG");
    if (env)
        ust_log_level_parse(env, &cfg->log_level);
}

void fixture_init(struct fixture *f, const struct ust_config *cfg)
{
    struct ust_config c;
    if (cfg) {
        c = *cfg;
    } else {
        test_config(&c, 42);
    }
    memset(f, 0, sizeof(*f));
    f->now = 1000 * UST_SEC; /* arbitrary, far from zero */
    if (ust_stack_create(&c, &f->s) != 0)
        abort();
    struct ust_device *d;
    if (cap_create("eth0", t_mac_us, &f->cap, &d) != 0)
        abort();
    f->dev = ust_stack_add_device(f->s, d);
    if (f->dev < 0 || ust_iface_add(f->s, "eth0", T_IP_US, 24, f->now) != 0 ||
        ust_route_add(f->s, 0, 0, T_IP_PEER, NULL) != 0)
        abort();
    cap_clear(f->cap); /* the gratuitous ARP announcement */
}

void fixture_fini(struct fixture *f)
{
    ust_stack_destroy(f->s);
    f->s = NULL;
}

void fixture_input(struct fixture *f, const uint8_t *frame, size_t len)
{
    ust_stack_input(f->s, f->dev, frame, len, f->now);
    ust_stack_poll(f->s, f->now);
}

void fixture_advance_to(struct fixture *f, ust_time_t t)
{
    /* Step through every deadline on the way, as a real event loop would. */
    for (;;) {
        ust_time_t d = ust_stack_next_deadline(f->s);
        if (d > t)
            break;
        if (d > f->now)
            f->now = d;
        ust_stack_poll(f->s, f->now);
        if (ust_stack_next_deadline(f->s) <= f->now)
            break; /* nothing more will change at this instant */
    }
    f->now = t;
    ust_stack_poll(f->s, f->now);
}

void fixture_learn_peer(struct fixture *f)
{
    uint8_t frame[64];
    size_t n = build_arp(frame, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US);
    fixture_input(f, frame, n);
    cap_clear(f->cap);
}

size_t build_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type,
                 const void *payload, size_t len)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    st16(buf + 12, type);
    if (len)
        memmove(buf + 14, payload, len);
    return 14 + len;
}

size_t build_arp(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
                 ust_ip4_t spa, const uint8_t tha[6], ust_ip4_t tpa)
{
    uint8_t a[28];
    st16(a, 1);
    st16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    st16(a + 6, op);
    memcpy(a + 8, sha, 6);
    st32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    st32(a + 24, tpa);
    return build_eth(buf, eth_dst, sha, 0x0806, a, sizeof(a));
}

size_t build_ipv4(uint8_t *buf, ust_ip4_t src, ust_ip4_t dst, uint8_t proto, uint16_t id,
                  uint16_t frag, uint8_t ttl, const void *payload, size_t len)
{
    if (len)
        memmove(buf + 20, payload, len);
    buf[0] = 0x45;
    buf[1] = 0;
    st16(buf + 2, (uint16_t)(20 + len));
    st16(buf + 4, id);
    st16(buf + 6, frag);
    buf[8] = ttl;
    buf[9] = proto;
    st16(buf + 10, 0);
    st32(buf + 12, src);
    st32(buf + 16, dst);
    st16(buf + 10, cksum(buf, 20));
    return 20 + len;
}

size_t build_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *payload,
                  size_t len)
{
    if (len)
        memmove(buf + 8, payload, len);
    buf[0] = type;
    buf[1] = code;
    st16(buf + 2, 0);
    st32(buf + 4, rest);
    st16(buf + 2, cksum(buf, 8 + len));
    return 8 + len;
}

size_t build_echo_request(uint8_t *buf, ust_ip4_t src, ust_ip4_t dst, uint16_t id, uint16_t seq,
                          const void *data, size_t len)
{
    size_t n = build_icmp(buf + 34, 8, 0, (uint32_t)id << 16 | seq, data, len);
    n = build_ipv4(buf + 14, src, dst, 1, 0x1234, 0, 64, buf + 34, n);
    return build_eth(buf, t_mac_us, t_mac_peer, 0x0800, buf + 14, n);
}

struct sockaddr_in sin_of(ust_ip4_t a, uint16_t port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a);
    sin.sin_port = htons(port);
    return sin;
}

bool sim_run(struct ust_stack **stacks, int n, ust_time_t *now, ust_time_t until,
             bool (*cond)(void *ctx), void *ctx)
{
    for (;;) {
        for (int i = 0; i < n; i++)
            ust_stack_poll(stacks[i], *now);
        if (cond && cond(ctx))
            return true;
        ust_time_t next = UST_TIME_NEVER;
        for (int i = 0; i < n; i++) {
            ust_time_t d = ust_stack_next_deadline(stacks[i]);
            if (d < next)
                next = d;
        }
        if (next <= *now)
            next = *now + 1; /* due work was done above; move on */
        if (next > until) {
            *now = until;
            for (int i = 0; i < n; i++)
                ust_stack_poll(stacks[i], *now);
            return cond ? cond(ctx) : true;
        }
        *now = next;
    }
}

bool await_sem(sem_t *sem)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (sem_timedwait(sem, &ts) != 0) {
        if (errno != EINTR)
            return false;
    }
    return true;
}
