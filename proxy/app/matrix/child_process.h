#pragma once

// run_command: one driver run. `/bin/sh -c COMMAND` in a process group of its own, standard
// input empty, standard output and error captured (each bounded), stopped at the time limit
// (SIGTERM to the whole group, SIGKILL two seconds later), so a driver that hangs or forks
// helpers never outlives its cell.
//
// It is a blocking wrapper over net::run_child (net/child_process.h: one libuv ChildProcess on
// a private loop of the calling thread), so the matrix's worker threads each run their cell's
// driver on a loop of their own.

#include <chrono>
#include <optional>
#include <string>

namespace proxy::app::matrix {

struct CommandResult {
    std::string out;
    std::string err;
    std::optional<int> exit_status; // none: ended by a signal
    bool timed_out = false;
    std::chrono::milliseconds elapsed{0};
    std::optional<std::string> spawn_error; // the command could not be started
};

inline constexpr std::size_t kMaxCapture = 4 * 1024 * 1024;

CommandResult run_command(const std::string& command, std::chrono::milliseconds limit);

} // namespace proxy::app::matrix
