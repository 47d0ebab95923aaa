/* Puts two processes of a test on different CPUs for a phase that must see
 * them run at the same time (a target helping with a transfer while it
 * polls). Unbound, the scheduler may keep both on one CPU's run queue for
 * many seconds when every CPU is busy (ctest -j2 on 2 cores): then the target
 * never polls during a transfer and there is nothing to prove. */
#ifndef RUN_APART_H
#define RUN_APART_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <sys/types.h>

struct run_apart {
    pid_t pid;
    cpu_set_t before;
    int pinned;
};

/* Pins process pid (0: the caller) to the slot-th CPU (0 or 1) of those it
 * may run on, if there are at least two; otherwise leaves it where it is. */
static inline void run_apart_begin(struct run_apart *r, pid_t pid, int slot) {
    r->pid = pid;
    r->pinned = 0;
    if (sched_getaffinity(pid, sizeof(r->before), &r->before) != 0 || CPU_COUNT(&r->before) < 2)
        return;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &r->before) || seen++ != slot)
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        r->pinned = sched_setaffinity(pid, sizeof(one), &one) == 0;
        return;
    }
}

static inline void run_apart_end(struct run_apart *r) {
    if (r->pinned)
        (void)sched_setaffinity(r->pid, sizeof(r->before), &r->before);
}

#endif
