/* The runner's HTTP/1.1 server (GET and HEAD, keep-alive, pipelining):
 * static files under a root directory (--http-root), or a built-in page. */
#ifndef USTACK_HTTP_H
#define USTACK_HTTP_H

struct service;

/* Resolves svc->http_root (NULL: the built-in page). 0, or -1 after logging. */
int http_init(struct service *svc);
/* The service's thread: the listener and every connection, over ust_poll. */
void *http_main(void *arg);
/* Frees what http_init allocated (after the thread is joined). */
void http_fini(struct service *svc);

#endif
