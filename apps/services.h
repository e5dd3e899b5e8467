/* The runner's services, written on the public socket API: echo (RFC 862),
 * discard (RFC 863) and chargen (RFC 864) over UDP and TCP, HTTP/1.1
 * (apps/http.c) and iperf3 (apps/iperf3.c) over TCP. */
#ifndef USTACK_SERVICES_H
#define USTACK_SERVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ustack/socket.h"

enum service_kind { SVC_ECHO, SVC_DISCARD, SVC_CHARGEN, SVC_HTTP, SVC_IPERF3 };

struct service {
    const char *name;
    int type;               /* SOCK_DGRAM or SOCK_STREAM */
    enum service_kind kind;
    uint16_t port;
    struct ust_stack *s;
    int fd;                 /* the bound (and, for TCP, listening) socket */
    pthread_t thread;
    bool running;
    const char *http_root;  /* SVC_HTTP: the directory served; NULL: built-in page */
    char *http_root_real;   /* SVC_HTTP: its realpath (set by http_init) */
};

/* Binds, listens and starts the service's thread. 0, or -1 after logging. */
int service_start(struct service *svc, struct ust_stack *s);
/* Closes the socket (which ends the thread) and joins it. */
void service_stop(struct service *svc);

#endif
