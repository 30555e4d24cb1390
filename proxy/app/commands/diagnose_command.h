#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab diagnose HOST:PORT: connect to a real server as a client would and say which of the
// failures users meet it has, what each client would print, and the fix.
int run_diagnose_command(const CommandLine& cl);

} // namespace proxy::app
