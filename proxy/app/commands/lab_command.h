#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab lab: serve in-process and one proxy listener per scenario.
int run_lab_command(const CommandLine& cl);

} // namespace proxy::app
