/* The debug log's story of TCP: one line per segment in, with the
 * decision taken on it, and one per segment out, with what it is for and
 * which thread sends it. Callers go through TCP_LOG_IN (tcp.h) and
 * tcp_log_out, which check the level first: with debug off a segment
 * costs one comparison here. */
#include <stdarg.h>
#include <stdio.h>

#include "transport/tcp.h"

/* tcpdump's flag letters: S F R P, and "." for ACK. */
static const char *flag_text(uint8_t flags, char out[8])
{
    char *p = out;
    if (flags & TCP_SYN)
        *p++ = 'S';
    if (flags & TCP_FIN)
        *p++ = 'F';
    if (flags & TCP_RST)
        *p++ = 'R';
    if (flags & TCP_PSH)
        *p++ = 'P';
    if (flags & TCP_ACK)
        *p++ = '.';
    *p = '\0';
    return out;
}

/* An endpoint as "192.0.2.1:40000", or "[2001:db8::1]:40000". */
static const char *endpoint(const struct ipaddr *a, uint16_t port, char out[IPADDR_STRLEN + 8])
{
    char s[IPADDR_STRLEN];
    ipaddr_format(a, s);
    snprintf(out, IPADDR_STRLEN + 8, ipaddr_is_v4(a) ? "%s:%u" : "[%s]:%u", s, port);
    return out;
}

/* "192.0.2.1:40000 > 192.0.2.2:7 [S.] seq=1, ack=2, win=3, len=4" */
static void seg_text(char *buf, size_t size, const struct ipaddr *src, const struct ipaddr *dst,
                     const struct tcp_repr *th, uint32_t len)
{
    char a[IPADDR_STRLEN + 8], b[IPADDR_STRLEN + 8], f[8];
    int n = snprintf(buf, size, "%s > %s [%s] seq=%u", endpoint(src, th->sport, a),
                     endpoint(dst, th->dport, b), flag_text(th->flags, f), th->seq);
    if (n > 0 && (size_t)n < size && (th->flags & TCP_ACK))
        n += snprintf(buf + n, size - (size_t)n, ", ack=%u", th->ack);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ", win=%u, len=%u", th->window, len);
}

void tcp_log_in(struct ust_stack *s, const char *func, const char *file, int line,
                const struct ip_meta *ip, const struct tcp_repr *th, uint32_t len, const char *fmt,
                ...)
{
    char seg[192], why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    seg_text(seg, sizeof(seg), &ip->src, &ip->dst, th, len);
    ust_log_emit(s, UST_LOG_DEBUG, func, file, line, "in %s: %s", seg, why);
}

void tcp_log_out_at(struct ust_stack *s, const char *func, const char *file, int line,
                    const struct ipaddr *src, const struct ipaddr *dst, const struct tcp_repr *th,
                    uint32_t len, const char *why)
{
    char seg[192];
    seg_text(seg, sizeof(seg), src, dst, th, len);
    ust_log_emit(s, UST_LOG_DEBUG, func, file, line, "out [%s] %s: %s",
                 s->in_step ? "stack" : "app", seg, why);
}
