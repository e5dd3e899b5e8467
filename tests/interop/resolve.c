/* For test_dhcp_dns.sh: brings a stack up with the common options
 * (--addr dhcp, --dns ...) and prints what ust_getaddrinfo answers for
 * each NAME given, one line each:
 *   NAME inet 192.0.2.80          (one line per address)
 *   NAME inet6 2001:db8::80
 *   NAME error Name or service not known
 * Exits 0 once every name has been asked. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "ustack/dns.h"

int main(int argc, char **argv)
{
    struct app_opts o;
    int r = app_parse(argc, argv, &o, NULL, NULL, NULL, NULL);
    if (r != 0 || optind >= argc) {
        fprintf(stderr, "usage: resolve [OPTIONS] NAME...\n");
        app_usage_common(stderr);
        return 2;
    }
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (app_stack_up(&o, &s, &rt) != 0)
        return 1;
    for (int i = optind; i < argc; i++) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int err = ust_getaddrinfo(s, argv[i], NULL, &hints, &res);
        if (err) {
            printf("%s error %s\n", argv[i], gai_strerror(err));
            continue;
        }
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            char buf[INET6_ADDRSTRLEN];
            if (ai->ai_family == AF_INET) {
                struct sockaddr_in sin;
                memcpy(&sin, ai->ai_addr, sizeof(sin));
                inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf));
                printf("%s inet %s\n", argv[i], buf);
            } else {
                struct sockaddr_in6 sin6;
                memcpy(&sin6, ai->ai_addr, sizeof(sin6));
                inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof(buf));
                printf("%s inet6 %s\n", argv[i], buf);
            }
        }
        ust_freeaddrinfo(res);
    }
    fflush(stdout);
    app_stack_down(s, rt);
    return 0;
}
