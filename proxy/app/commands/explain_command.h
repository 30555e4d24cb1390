#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab explain "TEXT": from an error text a user pasted to the scenarios that cause it.
int run_explain_command(const CommandLine& cl);

} // namespace proxy::app
