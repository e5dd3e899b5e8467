/* Addresses as text: dotted quads, CIDR prefixes and MAC addresses, as
 * given on command lines and printed in log lines (public API,
 * ustack/stack.h). No state: these depend on nothing but their arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipaddr.h"
#include "ustack/stack.h"

int ust_ip4_parse(const char *str, ust_ip4_t *out)
{
    if (!str)
        return -EINVAL;
    uint32_t a = 0;
    const char *p = str;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (unsigned)(*p++ - '0');
            if (++digits > 3 || v > 255)
                return -EINVAL;
        }
        a = (a << 8) | v;
        if (i < 3 && *p++ != '.')
            return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    *out = a;
    return 0;
}

int ust_ip4_parse_cidr(const char *str, ust_ip4_t *out, unsigned *prefix_len)
{
    char buf[32];
    if (!str || strlen(str) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, str);
    unsigned len = 32;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        char *end;
        const char *num = slash + 1;
        if (*num < '0' || *num > '9')
            return -EINVAL;
        unsigned long v = strtoul(num, &end, 10);
        if (*end != '\0' || v > 32)
            return -EINVAL;
        len = (unsigned)v;
    }
    ust_ip4_t a;
    if (ust_ip4_parse(buf, &a) != 0)
        return -EINVAL;
    *out = a;
    *prefix_len = len;
    return 0;
}

char *ust_ip4_format(ust_ip4_t a, char buf[UST_IP4_STRLEN])
{
    snprintf(buf, UST_IP4_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ust_mac_parse(const char *str, uint8_t mac[6])
{
    if (!str || strlen(str) != 17)
        return -EINVAL;
    uint8_t m[6];
    for (int i = 0; i < 6; i++) {
        int hi = hexval(str[i * 3]), lo = hexval(str[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && str[i * 3 + 2] != ':'))
            return -EINVAL;
        m[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(mac, m, 6);
    return 0;
}

char *ipaddr_format(const struct ipaddr *a, char buf[IPADDR_STRLEN])
{
    if (ipaddr_is_v4(a))
        return ust_ip4_format(ipaddr_to_v4(a), buf);
    /* RFC 5952 text (lower case, the longest run of zero words as "::");
     * glibc's inet_ntop writes exactly that. */
    if (!inet_ntop(AF_INET6, a->b, buf, IPADDR_STRLEN))
        snprintf(buf, IPADDR_STRLEN, "?");
    return buf;
}
