#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab diff OLD/report.json NEW/report.json: what changed between two matrix runs.
int run_diff_command(const CommandLine& cl);

} // namespace proxy::app
