/* UDP (RFC 768, RFC 1122 4.1): ports, demultiplexing, datagram queues. */
#ifndef USTACK_TRANSPORT_UDP_H
#define USTACK_TRANSPORT_UDP_H

#include <sys/types.h>

#include "transport/socket.h"
#include "wire/icmp_error.h"
#include "net/ip.h"

/* ip: the datagram it came in (its addresses; ip->bcast: sent to a
 * broadcast or multicast address); payload/len: the UDP segment. */
void udp_input(struct ust_stack *s, const struct ip_meta *ip, const uint8_t *payload, size_t len);
/* An ICMP error quoting one of our datagrams (q->proto is UDP): the
 * connected sockets it concerns get e->err as their pending error. */
void udp_icmp_error(struct ust_stack *s, const struct icmp_quote *q,
                    const struct icmp_err_class *e);

int udp_bind(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port);
/* addr NULL: dissolve the association (AF_UNSPEC). */
int udp_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port);
/* to == NULL: the connected peer. to_scope: to_addr's zone (struct
 * ip_tx). Returns bytes sent or -errno. */
ssize_t udp_sendto(struct ust_stack *s, struct sock *sk, const void *data, size_t len,
                   const struct ipaddr *to_addr, uint16_t to_port, uint32_t to_scope);
/* Returns the bytes copied (or the datagram's length with MSG_TRUNC),
 * -EAGAIN when nothing is queued (0 after SHUT_RD), or a pending error. */
ssize_t udp_recvfrom(struct ust_stack *s, struct sock *sk, void *buf, size_t cap, int flags,
                     struct ipaddr *from_addr, uint16_t *from_port, uint32_t *from_scope);
/* shutdown(), as Linux's: SHUT_RD (or SHUT_RDWR) makes recv return 0 once
 * the queue is empty and wakes the threads blocked in it, connected or
 * not; an unconnected socket still answers -ENOTCONN (Linux wakes them
 * all the same: threads are stopped so). */
int udp_shutdown(struct ust_stack *s, struct sock *sk, int how);
/* Frees the socket's queue (close and stack destroy). */
void udp_release(struct ust_stack *s, struct sock *sk);

#endif
