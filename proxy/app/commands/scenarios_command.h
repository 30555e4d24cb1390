#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab scenarios [--json]: the catalogue.
int run_scenarios_command(const CommandLine& cl);

} // namespace proxy::app
