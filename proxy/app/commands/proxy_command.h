#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab proxy: one intercepting listener in front of a server, showing one scenario.
int run_proxy_command(const CommandLine& cl);

} // namespace proxy::app
