#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab ca [--export FILE|-]: shows the lab CA (creating it on first use) and exports its
// certificate so drivers can be told to trust it. The private key is never printed.
int run_ca_command(const CommandLine& cl);

} // namespace proxy::app
