#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab demo trust-server-certificate: the classroom case, with a real driver.
int run_demo_command(const CommandLine& cl);

} // namespace proxy::app
