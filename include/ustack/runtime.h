/* The edge: what a program driving a stack needs from the operating system. */
#ifndef USTACK_RUNTIME_H
#define USTACK_RUNTIME_H

#include "ustack/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic time in microseconds (CLOCK_MONOTONIC): the `now` to give a
 * stack in a real program. */
ust_time_t ust_clock_now(void);

/* A seed for ust_config.seed from the kernel's random source. 0 or -errno. */
int ust_random_seed(uint64_t *seed);

/* ---- run-to-completion: handlers on the stack thread ----
 * With a runtime (ust_runtime_start), a program can have its code run on
 * the stack thread itself, so that a request is read, answered and
 * transmitted without waking another thread. The stack thread reads a
 * batch of frames, lets the core process all of them and run its timers,
 * and only then runs the handlers of the sockets that changed, with the
 * runtime's lock held (never during packet processing: the core makes no
 * callbacks). Then it transmits what they sent and sleeps.
 *
 * Inside a handler (and a timer's function) every ustack call works as in
 * embedded mode: nothing blocks (a call that would wait fails with EAGAIN,
 * ust_poll does not wait), and ust_runtime_lock/unlock do nothing, so the
 * program may call into the stack freely. It must not sleep or block on
 * anything else (ust_getaddrinfo included): every other socket waits for
 * it. ust_runtime_stop must not be called from one. */

struct ust_stack;

/* fd's readiness (revents as ust_poll reports them, for the events asked,
 * plus POLLERR and POLLHUP), and the arg given to ust_on_ready. */
typedef void (*ust_ready_fn)(struct ust_stack *s, int fd, short revents, void *arg);

/* Runs fn(s, fd, revents, arg) on the stack thread when socket fd becomes
 * ready for events (POLLIN, POLLOUT or both; POLLERR and POLLHUP are
 * always reported). Edge-triggered, as EPOLLET: fn runs after a batch in
 * which something happened to the socket (data, a connection to accept,
 * room to send, an error, the peer's FIN), once however many frames
 * did it, and only if the socket is then ready for what was asked; it
 * does not run again while the socket merely stays ready. So fn reads,
 * accepts or writes until EAGAIN, or calls ust_on_ready again (re-arms):
 * setting a handler, or setting it again, checks readiness at once and,
 * if the socket is ready, runs fn after the current round (a handler that
 * stops early to let others run re-arms itself that way). One handler per
 * socket: setting another replaces it; fn NULL removes it (ENOENT if
 * there was none). Closing the socket removes its handler. May be called
 * from any thread, and from a handler (for its own socket, or another:
 * an accepted one). 0, or -1 with errno: EINVAL (no stack, no runtime,
 * events other than POLLIN/POLLOUT), EBADF (fd is not an open socket),
 * ENOMEM. */
int ust_on_ready(struct ust_stack *s, int fd, short events, ust_ready_fn fn, void *arg);

/* Timers for handlers: fn(s, timer, arg) runs on the stack thread, like a
 * handler, once the time given to ust_timer_arm has come (one-shot: arm it
 * again from fn for another). Meant for a few per program (a service arms
 * one at the nearest of its connections' deadlines): each round looks at
 * every armed timer. Timers are stack-thread time: they fire to the
 * stack's clock (ust_clock_now), after the batch in which it passed. */
typedef void (*ust_timer_fn)(struct ust_stack *s, int timer, void *arg);
/* A new timer, not armed: its id (> 0), or -1 with errno: EINVAL (no
 * stack, no runtime, fn NULL), ENOSPC (4,096 timers), ENOMEM. */
int ust_timer_add(struct ust_stack *s, ust_timer_fn fn, void *arg);
/* Arms the timer for when (monotonic us, as ust_clock_now), replacing any
 * earlier arming; when 0 disarms it. 0, or -1/EINVAL (not a timer). */
int ust_timer_arm(struct ust_stack *s, int timer, ust_time_t when);
/* Deletes the timer (its id may be given to a later one). 0, or -1/EINVAL. */
int ust_timer_del(struct ust_stack *s, int timer);
/* Is the calling thread running a handler or timer of s (the stack
 * thread)? */
int ust_in_handler(struct ust_stack *s);

#ifdef __cplusplus
}
#endif
#endif
