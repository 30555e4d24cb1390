#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab ctl: the admin API's command-line client.
int run_ctl_command(const CommandLine& cl);

} // namespace proxy::app
