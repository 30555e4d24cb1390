#pragma once

// run_off_loop: `work` runs on one of libuv's worker threads (uv_queue_work), then `done` runs on
// the loop thread. For the few blocking jobs the proxy has (reading a real server's certificate
// for `--certificate mirror`), so that the loop thread never waits on the network.
//
// `work` must touch nothing the loop thread owns: it gets its inputs by value and leaves its
// output where `done` reads it (typically a shared struct both lambdas hold). `done` always runs,
// exactly once, before the loop can end (a queued work request keeps the loop alive).

#include <functional>

#include <uv.h>

namespace proxy::net {

void run_off_loop(uv_loop_t* loop, std::function<void()> work, std::function<void()> done);

} // namespace proxy::net
