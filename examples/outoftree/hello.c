/* hello: a program built outside the ustack tree against the installed
 * library, with pkg-config (see the Makefile beside it):
 *
 *   make PKG_CONFIG_PATH=/usr/local/lib/pkgconfig && ./hello
 *
 * It needs no device and no privileges: one stack on its own loopback,
 * embedded (this thread drives it), sends a UDP datagram to itself and
 * prints what arrived. Exit status 0 if it came back. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ustack/runtime.h>
#include <ustack/socket.h>
#include <ustack/stack.h>

int main(void)
{
    struct ust_stack *s;
    struct ust_device *lo;
    if (ust_stack_create(NULL, &s) != 0 || ust_loopback_create(&lo) != 0 ||
        ust_stack_add_device(s, lo) < 0 ||
        ust_iface_add(s, "lo", UST_IP4(127, 0, 0, 1), 8, ust_clock_now()) != 0) {
        fprintf(stderr, "hello: no stack\n");
        return 1;
    }
    int fd = ust_socket(s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(7)};
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char msg[] = "hello from ustack";
    if (ust_bind(s, fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        ust_sendto(s, fd, msg, sizeof(msg), 0, (struct sockaddr *)&me, sizeof(me)) < 0) {
        perror("hello");
        return 1;
    }
    ust_stack_poll(s, ust_clock_now()); /* the loopback delivers */
    char buf[64];
    ssize_t n = ust_recv(s, fd, buf, sizeof(buf), 0);
    int ok = n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0;
    printf("%s\n", ok ? buf : "hello: nothing came back");
    ust_close(s, fd);
    ust_stack_destroy(s);
    return ok ? 0 : 1;
}
