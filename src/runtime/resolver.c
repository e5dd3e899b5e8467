/* The DNS stub resolver: getaddrinfo(3) over the stack's sockets.
 *
 * It lives at the edge: it blocks the calling thread and uses the public
 * socket API, like any application would. The wire work (queries, reply
 * checks, CNAME chains) is in wire/dns.c; the query loop, the cache and
 * the getaddrinfo semantics are here. The transport is a seam
 * (struct dns_transport) so that tests can put a scripted server behind
 * it and a virtual clock in front of the cache. */
#include "runtime/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/runtime_priv.h"
#include "ustack/dns.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/dns.h"

#define DNS_TTL_MAX 3600u /* cache an answer at most this long (s) */

/* Counters live in the stack; the runtime's lock guards them. */
#define DNS_COUNT(s, field)                                                                        \
    do {                                                                                           \
        struct ust_runtime *rt_ = rt_enter(s);                                                     \
        (s)->stats.dns.field++;                                                                    \
        rt_leave((s), rt_);                                                                        \
    } while (0)

/* ---- the default transport: the socket API ---- */

static ust_time_t clock_now(void *ctx)
{
    (void)ctx;
    return ust_clock_now();
}

/* Without a runtime nobody else drives the stack: poll it while waiting. */
static void drive(struct ust_stack *s)
{
    if (s->runtime)
        return;
    ust_stack_poll(s, ust_clock_now());
    struct timespec ts = {0, 1000000}; /* 1 ms */
    nanosleep(&ts, NULL);
}

static ssize_t sock_udp(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q,
                        size_t qlen, uint8_t *reply, size_t cap, ust_time_t timeout)
{
    (void)ctx;
    int fd = ust_socket(s, AF_INET, SOCK_DGRAM | (s->runtime ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(DNS_PORT)};
    to.sin_addr.s_addr = htonl(server);
    ssize_t r;
    if (ust_sendto(s, fd, q, qlen, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
        r = -errno;
        ust_close(s, fd);
        return r;
    }
    ust_time_t deadline = ust_clock_now() + timeout;
    for (;;) {
        ust_time_t now = ust_clock_now();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        struct timeval tv = {.tv_sec = (time_t)((deadline - now) / UST_SEC),
                             .tv_usec = (suseconds_t)((deadline - now) % UST_SEC)};
        ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        r = ust_recvfrom(s, fd, reply, cap, 0, (struct sockaddr *)&from, &flen);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                drive(s);
                continue;
            }
            r = -errno;
            break;
        }
        /* RFC 5452 9.1: from the server we asked, port 53, with our id. */
        if (from.sin_addr.s_addr != to.sin_addr.s_addr || from.sin_port != to.sin_port || r < 2 ||
            ld16(reply) != ld16(q)) {
            DNS_COUNT(s, drop_mismatch);
            continue;
        }
        break;
    }
    ust_close(s, fd);
    return r;
}

static ssize_t read_full(struct ust_stack *s, int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = ust_recv(s, fd, buf + got, n - got, 0);
        if (r == 0)
            return -ECONNRESET;
        if (r < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* RFC 1035 4.2.2 (RFC 7766): over TCP, each message has a two-byte length
 * in front. Needs a runtime (blocking connect and reads). */
static ssize_t sock_tcp(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q,
                        size_t qlen, uint8_t *reply, size_t cap, ust_time_t timeout)
{
    (void)ctx;
    if (!s->runtime)
        return -EOPNOTSUPP;
    int fd = ust_socket(s, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = (time_t)(timeout / UST_SEC),
                         .tv_usec = (suseconds_t)(timeout % UST_SEC)};
    ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ust_setsockopt(s, fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(DNS_PORT)};
    to.sin_addr.s_addr = htonl(server);
    ssize_t r = 0;
    uint8_t buf[2 + DNS_MAX_QUERY];
    uint8_t lenb[2];
    if (qlen > DNS_MAX_QUERY) {
        r = -EINVAL;
        goto out;
    }
    st16(buf, (uint16_t)qlen);
    memcpy(buf + 2, q, qlen);
    if (ust_connect(s, fd, (struct sockaddr *)&to, sizeof(to)) < 0 ||
        ust_send(s, fd, buf, qlen + 2, MSG_NOSIGNAL) != (ssize_t)(qlen + 2)) {
        r = -errno;
        goto out;
    }
    r = read_full(s, fd, lenb, 2);
    if (r < 0)
        goto out;
    size_t n = ld16(lenb);
    if (n > cap) {
        r = -EMSGSIZE;
        goto out;
    }
    r = read_full(s, fd, reply, n);
out:
    ust_close(s, fd);
    return r;
}

static const struct dns_transport sock_transport = {sock_udp, sock_tcp, clock_now, NULL};

/* ---- the resolver object ---- */

static struct dns_resolver *resolver_get(struct ust_stack *s)
{
    struct ust_runtime *rt = rt_enter(s);
    struct dns_resolver *r = s->resolver;
    if (!r && (r = calloc(1, sizeof(*r))) != NULL) {
        pthread_mutex_init(&r->mu, NULL);
        rng_seed(&r->rng, rng_next(&s->rng));
        r->tr = sock_transport;
        r->timeout = 1 * UST_SEC;
        r->attempts = 3;
        s->resolver = r;
    }
    rt_leave(s, rt);
    return r;
}

void dns_resolver_fini(struct ust_stack *s)
{
    if (!s->resolver)
        return;
    pthread_mutex_destroy(&s->resolver->mu);
    free(s->resolver);
    s->resolver = NULL;
}

int dns_resolver_set_transport(struct ust_stack *s, const struct dns_transport *tr,
                               ust_time_t timeout, unsigned attempts)
{
    struct dns_resolver *r = resolver_get(s);
    if (!r)
        return -ENOMEM;
    pthread_mutex_lock(&r->mu);
    r->tr = tr ? *tr : sock_transport;
    if (timeout)
        r->timeout = timeout;
    if (attempts)
        r->attempts = attempts;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

int ust_dns_set_servers(struct ust_stack *s, const ust_ip4_t *servers, unsigned n)
{
    if (!s || n > 3 || (n && !servers))
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        if (servers[i] == 0 || servers[i] == 0xffffffffu || (servers[i] >> 28) >= 0xe)
            return -EINVAL;
    struct ust_runtime *rt = rt_enter(s);
    for (unsigned i = 0; i < n; i++)
        s->dns_servers[i] = servers[i];
    s->ndns = n;
    s->dns_static = n > 0;
    rt_leave(s, rt);
    return 0;
}

unsigned ust_dns_servers(struct ust_stack *s, ust_ip4_t *out, unsigned cap)
{
    struct ust_runtime *rt = rt_enter(s);
    unsigned n = s->ndns;
    for (unsigned i = 0; i < n && i < cap; i++)
        out[i] = s->dns_servers[i];
    rt_leave(s, rt);
    return n;
}

/* ---- the cache ---- */

static void lower_copy(char *dst, const char *src)
{
    size_t i = 0;
    for (; src[i] && i < DNS_NAME_MAX; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    if (i > 0 && dst[i - 1] == '.')
        i--;
    dst[i] = '\0';
}

/* Under r->mu. */
static const struct dns_cache_entry *cache_find(struct dns_resolver *r, const char *key,
                                                uint16_t type, ust_time_t now)
{
    for (unsigned i = 0; i < DNS_CACHE_SIZE; i++) {
        struct dns_cache_entry *e = &r->cache[i];
        if (e->type == type && e->expires > now && strcmp(e->name, key) == 0) {
            e->used = now;
            return e;
        }
    }
    return NULL;
}

/* Under r->mu: the expired entry, else the least recently used, makes room. */
static void cache_put(struct dns_resolver *r, const char *key, uint16_t type,
                      const struct dns_answer *a, ust_time_t now)
{
    uint32_t ttl = a->ttl < DNS_TTL_MAX ? a->ttl : DNS_TTL_MAX;
    if (ttl == 0 || a->naddr == 0)
        return;
    struct dns_cache_entry *victim = &r->cache[0];
    for (unsigned i = 0; i < DNS_CACHE_SIZE; i++) {
        struct dns_cache_entry *e = &r->cache[i];
        if (e->type == type && strcmp(e->name, key) == 0) {
            victim = e;
            break;
        }
        if (e->expires <= now) {
            victim = e;
            break;
        }
        if (e->used < victim->used)
            victim = e;
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->name, key, strlen(key) + 1);
    victim->type = type;
    victim->expires = now + (ust_time_t)ttl * UST_SEC;
    victim->used = now;
    victim->naddr = a->naddr < DNS_CACHE_ADDRS ? a->naddr : DNS_CACHE_ADDRS;
    memcpy(victim->addr, a->addr, sizeof(victim->addr[0]) * victim->naddr);
}

/* ---- asking ---- */

enum ask_result { ASK_OK, ASK_NXDOMAIN, ASK_NODATA, ASK_FAIL };

/* One question to the servers in turn, for attempts rounds, each round's
 * wait twice the last. A truncated reply is asked again over TCP of the
 * same server. A reply that does not parse, or SERVFAIL/REFUSED, moves on
 * to the next server. */
static enum ask_result ask(struct ust_stack *s, struct dns_resolver *r, const char *name,
                           uint16_t type, struct dns_answer *ans)
{
    ust_ip4_t servers[3];
    unsigned ns = ust_dns_servers(s, servers, 3);
    if (ns > 3)
        ns = 3;
    if (ns == 0) {
        debugf(s, "no DNS server configured (--dns, or a DHCP lease brings them)");
        return ASK_FAIL;
    }
    pthread_mutex_lock(&r->mu);
    struct dns_transport tr = r->tr;
    ust_time_t timeout = r->timeout;
    unsigned attempts = r->attempts;
    pthread_mutex_unlock(&r->mu);
    uint8_t q[DNS_MAX_QUERY];
    uint8_t *reply = malloc(DNS_MAX_REPLY);
    if (!reply)
        return ASK_FAIL;
    enum ask_result res = ASK_FAIL;
    bool first = true;
    for (unsigned round = 0; round < attempts; round++, timeout *= 2) {
        for (unsigned i = 0; i < ns; i++) {
            pthread_mutex_lock(&r->mu);
            uint16_t id = (uint16_t)rng_next(&r->rng);
            pthread_mutex_unlock(&r->mu);
            size_t qlen = dns_emit_query(q, sizeof(q), id, name, type);
            if (qlen == 0)
                goto out;
            if (!first)
                DNS_COUNT(s, retries);
            first = false;
            DNS_COUNT(s, queries);
            char sv[UST_IP4_STRLEN];
            ust_ip4_format(servers[i], sv);
            debugf(s, "DNS: asking %s for %s %s, id=%u", sv, name,
                   type == DNS_TYPE_A ? "A" : "AAAA", id);
            ssize_t n = tr.udp(tr.ctx, s, servers[i], q, qlen, reply, DNS_MAX_REPLY, timeout);
            if (n == -ETIMEDOUT) {
                DNS_COUNT(s, timeouts);
                debugf(s, "DNS: %s did not answer within %llu ms", sv,
                       (unsigned long long)(timeout / UST_MS));
                continue;
            }
            if (n < 0)
                continue;
            int err = dns_parse_reply(reply, (size_t)n, id, name, type, ans);
            if (err == WIRE_OK && ans->truncated) {
                DNS_COUNT(s, tcp_fallbacks);
                debugf(s, "DNS: %s truncated its answer, asking over TCP", sv);
                n = tr.tcp(tr.ctx, s, servers[i], q, qlen, reply, DNS_MAX_REPLY, timeout);
                if (n < 0) {
                    debugf(s, "DNS: TCP to %s failed: %s", sv, strerror((int)-n));
                    continue;
                }
                err = dns_parse_reply(reply, (size_t)n, id, name, type, ans);
                if (err == WIRE_OK && ans->truncated)
                    err = DNS_EMALFORMED;
            }
            if (err == DNS_EMISMATCH) {
                DNS_COUNT(s, drop_mismatch);
                continue;
            }
            if (err == DNS_ELOOP) {
                DNS_COUNT(s, cname_loops);
                continue;
            }
            if (err != WIRE_OK) {
                DNS_COUNT(s, drop_malformed);
                debugf(s, "DNS: malformed reply from %s (%d), dropped", sv, err);
                continue;
            }
            if (ans->rcode == DNS_RCODE_NXDOMAIN) {
                DNS_COUNT(s, nxdomain);
                res = ASK_NXDOMAIN;
                goto out;
            }
            if (ans->rcode != 0) {
                DNS_COUNT(s, servfail);
                debugf(s, "DNS: %s answered rcode %u, trying the next server", sv, ans->rcode);
                continue;
            }
            res = ans->naddr || ans->cname[0] ? ASK_OK : ASK_NODATA;
            goto out;
        }
    }
out:
    free(reply);
    return res;
}

/* Resolves name to addresses of type, from the cache or the servers,
 * following CNAMEs across replies too. Fills addr/naddr. */
static enum ask_result lookup(struct ust_stack *s, struct dns_resolver *r, const char *name,
                              uint16_t type, uint8_t addr[][16], unsigned *naddr, char *canon)
{
    char key[DNS_NAME_MAX + 1];
    lower_copy(key, name);
    pthread_mutex_lock(&r->mu);
    ust_time_t now = r->tr.now(r->tr.ctx);
    const struct dns_cache_entry *e = cache_find(r, key, type, now);
    if (e) {
        *naddr = e->naddr;
        memcpy(addr, e->addr, sizeof(e->addr[0]) * e->naddr);
        pthread_mutex_unlock(&r->mu);
        DNS_COUNT(s, cache_hits);
        return ASK_OK;
    }
    pthread_mutex_unlock(&r->mu);
    char cur[DNS_NAME_MAX + 1];
    memcpy(cur, key, sizeof(cur));
    struct dns_answer ans;
    unsigned links = 0;
    for (;;) {
        enum ask_result res = ask(s, r, cur, type, &ans);
        if (res != ASK_OK)
            return res;
        links += ans.chain;
        if (ans.naddr)
            break;
        if (links > DNS_MAX_CNAMES) {
            DNS_COUNT(s, cname_loops);
            infof(s, "DNS: %s: CNAME chain longer than %u links, given up", name, DNS_MAX_CNAMES);
            return ASK_FAIL;
        }
        memcpy(cur, ans.cname, sizeof(cur)); /* ask for the end of the chain */
    }
    if (canon)
        memcpy(canon, cur, DNS_NAME_MAX + 1);
    *naddr = ans.naddr;
    memcpy(addr, ans.addr, sizeof(ans.addr[0]) * ans.naddr);
    pthread_mutex_lock(&r->mu);
    cache_put(r, key, type, &ans, r->tr.now(r->tr.ctx));
    pthread_mutex_unlock(&r->mu);
    return ASK_OK;
}

/* ---- getaddrinfo ---- */

struct gai_ctx {
    int socktype, protocol, flags;
    uint16_t port;
    struct addrinfo *head, **tail;
    const char *canon;
};

static int add_result(struct gai_ctx *g, int family, const uint8_t *addr)
{
    static const int both[] = {SOCK_STREAM, SOCK_DGRAM};
    for (int k = 0; k < 2; k++) {
        int st = g->socktype ? g->socktype : both[k];
        if (g->socktype && k == 1)
            break;
        struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
        if (!ai)
            return EAI_MEMORY;
        ai->ai_family = family;
        ai->ai_socktype = st;
        ai->ai_protocol = g->protocol ? g->protocol : st == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
        ai->ai_addr = (struct sockaddr *)(ai + 1);
        if (family == AF_INET) {
            struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(g->port)};
            memcpy(&sin.sin_addr, addr, 4);
            memcpy(ai->ai_addr, &sin, sizeof(sin));
            ai->ai_addrlen = sizeof(sin);
        } else {
            struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(g->port)};
            memcpy(&sin6.sin6_addr, addr, 16);
            memcpy(ai->ai_addr, &sin6, sizeof(sin6));
            ai->ai_addrlen = sizeof(sin6);
        }
        if (!g->head && (g->flags & AI_CANONNAME) && g->canon) {
            ai->ai_canonname = strdup(g->canon);
            if (!ai->ai_canonname) {
                free(ai);
                return EAI_MEMORY;
            }
        }
        if (!g->head)
            g->head = ai;
        *g->tail = ai;
        g->tail = &ai->ai_next;
    }
    return 0;
}

void ust_freeaddrinfo(struct addrinfo *res)
{
    while (res) {
        struct addrinfo *next = res->ai_next;
        free(res->ai_canonname);
        free(res);
        res = next;
    }
}

static int parse_port(const char *service, uint16_t *port)
{
    if (!service) {
        *port = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(service, &end, 10);
    if (service[0] < '0' || service[0] > '9' || *end || errno || v > 65535)
        return EAI_SERVICE; /* ports by number only: no services database */
    *port = (uint16_t)v;
    return 0;
}

int ust_getaddrinfo(struct ust_stack *s, const char *node, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res)
{
    if (!s || !res)
        return EAI_FAIL;
    *res = NULL;
    int family = hints ? hints->ai_family : AF_UNSPEC;
    int socktype = hints ? hints->ai_socktype : 0;
    int flags = hints ? hints->ai_flags : 0;
    if (flags & ~(AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV | AI_CANONNAME))
        return EAI_BADFLAGS;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return EAI_FAMILY;
    if (socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
        return EAI_SOCKTYPE;
    if (!node && !service)
        return EAI_NONAME;
    if ((flags & AI_CANONNAME) && !node)
        return EAI_BADFLAGS;
    struct gai_ctx g = {.socktype = socktype,
                        .protocol = hints ? hints->ai_protocol : 0,
                        .flags = flags,
                        .canon = node};
    g.tail = &g.head;
    int err = parse_port(service, &g.port);
    if (err)
        return err;
    uint8_t a[16];
    bool want4 = family != AF_INET6, want6 = family != AF_INET;
    if (!node || strcmp(node, "localhost") == 0) {
        /* No node: the wildcard (AI_PASSIVE) or the loopback address;
         * "localhost" is always the loopback (RFC 6761 6.3). */
        bool passive = !node && (flags & AI_PASSIVE);
        if (want4) {
            uint32_t v = htonl(passive ? INADDR_ANY : INADDR_LOOPBACK);
            memcpy(a, &v, 4);
            if ((err = add_result(&g, AF_INET, a)) != 0)
                goto fail;
        }
        if (want6) {
            memcpy(a, passive ? &in6addr_any : &in6addr_loopback, 16);
            if ((err = add_result(&g, AF_INET6, a)) != 0)
                goto fail;
        }
        *res = g.head;
        return 0;
    }
    if (inet_pton(AF_INET, node, a) == 1) {
        if (!want4)
            return EAI_ADDRFAMILY;
        err = add_result(&g, AF_INET, a);
        goto done;
    }
    if (inet_pton(AF_INET6, node, a) == 1) {
        if (!want6)
            return EAI_ADDRFAMILY;
        err = add_result(&g, AF_INET6, a);
        goto done;
    }
    if (flags & AI_NUMERICHOST)
        return EAI_NONAME;
    if (!dns_name_ok(node))
        return EAI_NONAME;
    struct dns_resolver *r = resolver_get(s);
    if (!r)
        return EAI_MEMORY;
    uint8_t addrs[DNS_ANSWER_ADDRS][16];
    unsigned n = 0;
    char canon[DNS_NAME_MAX + 1] = "";
    enum ask_result r4 = ASK_NODATA, r6 = ASK_NODATA;
    if (want4) {
        r4 = lookup(s, r, node, DNS_TYPE_A, addrs, &n, canon);
        for (unsigned i = 0; r4 == ASK_OK && i < n && !err; i++)
            err = add_result(&g, AF_INET, addrs[i]);
    }
    if (want6 && !err && r4 != ASK_NXDOMAIN) {
        r6 = lookup(s, r, node, DNS_TYPE_AAAA, addrs, &n, canon[0] ? NULL : canon);
        for (unsigned i = 0; r6 == ASK_OK && i < n && !err; i++)
            err = add_result(&g, AF_INET6, addrs[i]);
    }
    if (err)
        goto fail;
    if (!g.head) {
        if (r4 == ASK_NXDOMAIN || r6 == ASK_NXDOMAIN)
            return EAI_NONAME;
        if (r4 == ASK_FAIL || r6 == ASK_FAIL)
            return EAI_AGAIN;
        return EAI_NODATA;
    }
    if (canon[0] && g.head->ai_canonname) {
        free(g.head->ai_canonname);
        g.head->ai_canonname = strdup(canon);
    }
done:
    if (err)
        goto fail;
    *res = g.head;
    return 0;
fail:
    ust_freeaddrinfo(g.head);
    return err;
}
