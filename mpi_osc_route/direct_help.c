/* Large puts and gets of the same-host path, copied by two cores when the
 * target rank is inside MPI (core/wire/copy_help.h): the help slot of each
 * rank is in the window's shared segment, the target helps from
 * opal_progress, between its own window and the origin's buffer. */
#include "direct_win.h"

#include <sched.h>

#include "copy_help.h"

#pragma weak opal_progress_register
extern int opal_progress_register(int (*cb)(void));

void direct_copy(struct direct_win *w, int target, uint8_t *view, uint64_t offset, void *buf,
                 size_t n, int is_get) {
    if (w->t[target].ctl == NULL || target == w->rank) {
        veshm_copy_help_copy(view, buf, 0, n, is_get);
        return;
    }
    int64_t helped = veshm_copy_help_origin(&w->t[target].ctl->help, (uint64_t)w->rank + 1, view,
                                            offset, buf, n, is_get, NULL, NULL);
    __atomic_store_n(&w->stats.helped, w->stats.helped + (uint64_t)helped, __ATOMIC_RELAXED);
}

/* The job's place in this rank's window, if the window holds it whole. */
static uint8_t *own_window(void *arg, uint64_t offset, uint64_t len) {
    struct direct_win *w = arg;
    if (offset > w->t[w->rank].size || len > w->t[w->rank].size - offset)
        return NULL;
    return w->t[w->rank].mem.view[0] + offset;
}

/* This rank's part of a job in its own slot of w. */
static int help(struct direct_win *w) {
    if (w->help_off || w->t[w->rank].mem.view == NULL)
        return 0;
    return veshm_copy_help_serve(&w->t[w->rank].ctl->help, own_window, w, &w->help_off);
}

/* Progress callbacks running now, in any thread (direct_help_quiesce). */
static int helping;

/* Called by every opal_progress: only a rank inside MPI helps. */
static int help_progress(void) {
    int events = 0;
    __atomic_fetch_add(&helping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* before reading the registry */
    unsigned count = direct_win_count();
    for (unsigned i = 0; i < count; ++i) {
        struct direct_win *w = direct_win_at(i);
        if (w != NULL)
            events += help(w);
    }
    __atomic_fetch_sub(&helping, 1, __ATOMIC_SEQ_CST);
    return events;
}

void direct_help_quiesce(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the registry slot cleared first */
    while (__atomic_load_n(&helping, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
}

void direct_help_register(void) {
    static int registered;
    if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL) && opal_progress_register != NULL)
        opal_progress_register(help_progress);
}
