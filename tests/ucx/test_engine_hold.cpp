// The engine's one-word test of the fast paths (ucx_tl_veshm/veshm_op_int.h):
// hold may be 0 only when the exact test lets a new operation copy at once,
// and is 0 again once nothing is pending, queued or fenced. In process, on an
// engine with nothing behind it (no VE process, no descriptors).
#include <gtest/gtest.h>

#include <cstring>

#include "veo_veshm_defs.h" // C++ operators: not inside extern "C" below

extern "C" {
#include "veshm_op_int.h"

// Defined by veshm_op.c in the transport, which this test does not link.
int uct_veshm_engines_holding;
}

namespace {

struct Engine {
    uct_veshm_engine_t e;
    Engine() {
        memset(&e, 0, sizeof(e));
        ucs_queue_head_init(&e.post_queue);
        ucs_queue_head_init(&e.pending);
        ucs_queue_head_init(&e.flushes);
        ucs_queue_head_init(&e.done);
        uct_veshm_engine_rehold(&e);
    }
    ~Engine() { uct_veshm_engine_set_hold(&e, 0); }
    // What uct_veshm_engine_may_copy_now must answer, whatever hold says.
    bool exact() const {
        return !uct_veshm_engine_behind_pending(&e) && ucs_queue_is_empty(&e.post_queue) &&
               !(e.fence_pending && uct_veshm_engine_in_flight(&e));
    }
    void expect_held() const {
        EXPECT_NE(e.hold, 0);
        EXPECT_GE(uct_veshm_engines_holding, 1);
        EXPECT_FALSE(uct_veshm_engine_may_copy_now(&e));
    }
    // Held, yet the exact test lets a new operation go.
    void expect_held_but_free() const {
        EXPECT_NE(e.hold, 0);
        EXPECT_TRUE(exact());
        EXPECT_TRUE(uct_veshm_engine_may_copy_now(&e));
    }
};

} // namespace

TEST(EngineHold, NothingHeldWhenIdle) {
    Engine g;
    EXPECT_EQ(g.e.hold, 0);
    EXPECT_EQ(uct_veshm_engines_holding, 0);
    EXPECT_TRUE(uct_veshm_engine_may_copy_now(&g.e));
}

// The fast paths read the count of engines that hold before their own
// engine: the count must follow every change of any engine's hold, and an
// engine that does not hold must let operations go while another one holds.
TEST(EngineHold, TheCountOfHoldingEnginesFollowsEach) {
    Engine a, b;
    uct_veshm_pending_priv_t req{};
    ucs_queue_push(&a.e.pending, &req.queue);
    uct_veshm_engine_rehold(&a.e);
    uct_veshm_engine_rehold(&a.e); // again: counted once
    EXPECT_EQ(uct_veshm_engines_holding, 1);
    a.expect_held();
    EXPECT_TRUE(uct_veshm_engine_may_copy_now(&b.e));
    b.e.desc_head = 1;
    uct_veshm_engine_fence_moving(&b.e);
    EXPECT_EQ(uct_veshm_engines_holding, 2);
    b.expect_held();
    ucs_queue_pull_non_empty(&a.e.pending);
    uct_veshm_engine_rehold(&a.e);
    EXPECT_EQ(uct_veshm_engines_holding, 1);
    EXPECT_TRUE(uct_veshm_engine_may_copy_now(&a.e));
    b.expect_held();
    b.e.desc_tail = 1;
    b.e.fence_pending = 0;
    uct_veshm_engine_set_hold(&b.e, 0); // what progress does when all is done
    EXPECT_EQ(uct_veshm_engines_holding, 0);
    EXPECT_TRUE(uct_veshm_engine_may_copy_now(&b.e));
}

TEST(EngineHold, APendingRequestHoldsUntilItLeaves) {
    Engine g;
    uct_veshm_pending_priv_t req{};
    ucs_queue_push(&g.e.pending, &req.queue);
    uct_veshm_engine_rehold(&g.e);
    g.expect_held();
    // While progress dispatches pending requests, what they start may go.
    g.e.dispatching = 1;
    g.expect_held_but_free();
    g.e.dispatching = 0;
    ucs_queue_pull_non_empty(&g.e.pending);
    uct_veshm_engine_rehold(&g.e);
    EXPECT_EQ(g.e.hold, 0);
    EXPECT_TRUE(uct_veshm_engine_may_copy_now(&g.e));
}

TEST(EngineHold, AnOperationQueuedToPostHoldsUntilPosted) {
    Engine g;
    uct_veshm_op_t op;
    memset(&op, 0, sizeof(op));
    ucs_queue_push(&g.e.post_queue, &op.queue);
    uct_veshm_engine_rehold(&g.e);
    g.expect_held();
    ucs_queue_pull_non_empty(&g.e.post_queue);
    uct_veshm_engine_rehold(&g.e);
    EXPECT_EQ(g.e.hold, 0);
}

TEST(EngineHold, AFenceHoldsWhileDataMoves) {
    Engine g;
    g.e.desc_head = 1; // one descriptor in flight
    uct_veshm_engine_fence_moving(&g.e);
    EXPECT_EQ(g.e.fence_pending, 1);
    g.expect_held();
    // Nothing in flight any more: the fence is satisfied before progress
    // clears it.
    g.e.desc_tail = 1;
    g.expect_held_but_free();
    g.e.fence_pending = 0;
    uct_veshm_engine_rehold(&g.e);
    EXPECT_EQ(g.e.hold, 0);
    // A fence with nothing moving sets nothing.
    uct_veshm_engine_fence_moving(&g.e);
    EXPECT_EQ(g.e.fence_pending, 0);
    EXPECT_EQ(g.e.hold, 0);
}
