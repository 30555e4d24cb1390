#pragma once

#include <proxy/app/commands/cli.h>

namespace proxy::app {

// tlslab matrix: drivers x configurations x scenarios against a lab, and a report.
int run_matrix_command(const CommandLine& cl);

} // namespace proxy::app
