/* wake_rtt: what this machine charges for waking a sleeping thread.
 *
 *   wake_rtt CPU_A CPU_B COUNT GAP_US
 *
 * Two processes pass one byte back and forth over a pair of pipes, COUNT
 * times, GAP_US microseconds apart (ping -i 0.002 is 2000), the first
 * pinned to CPU_A, the second to CPU_B. Each round trip wakes the second
 * process and then the first, so it is the floor of any request/response
 * design in which another thread answers: a ping to ustack wakes the
 * stack thread, then the kernel's ping. On a VM whose idle vCPUs halt
 * (cpuidle haltpoll with guest_halt_poll_ns=0), a wake-up on another CPU
 * costs a trip through the hypervisor; on the same CPU it does not.
 * Prints the average round trip in microseconds. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        perror("wake_rtt: sched_setaffinity");
        exit(1);
    }
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: wake_rtt CPU_A CPU_B COUNT GAP_US\n");
        return 2;
    }
    int a = atoi(argv[1]), b = atoi(argv[2]), count = atoi(argv[3]), gap = atoi(argv[4]);
    int there[2], back[2];
    if (count <= 0 || gap < 0 || pipe(there) != 0 || pipe(back) != 0) {
        fprintf(stderr, "wake_rtt: bad arguments, or no pipes\n");
        return 2;
    }
    char c = 'x';
    pid_t child = fork();
    if (child < 0) {
        perror("wake_rtt: fork");
        return 1;
    }
    if (child == 0) {
        pin(b);
        for (int i = 0; i < count; i++) {
            if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    pin(a);
    double total = 0;
    for (int i = 0; i < count; i++) {
        usleep((useconds_t)gap);
        double t0 = now_us();
        if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1) {
            fprintf(stderr, "wake_rtt: the other process went away\n");
            return 1;
        }
        total += now_us() - t0;
    }
    int st;
    waitpid(child, &st, 0);
    printf("%.1f\n", total / count);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
