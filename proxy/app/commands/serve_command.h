#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab serve: the embedded SQL Server stand-in (see proxy/core/serve_session.h).
int run_serve_command(const CommandLine& cl);

} // namespace proxy::app
