#pragma once

#include <proxy/app/cli.h>

namespace proxy::app {

// tlslab proxy: one intercepting listener in front of a server, showing one scenario.
int run_proxy_command(const CommandLine& cl);
// tlslab lab: serve in-process and one proxy listener per scenario.
int run_lab_command(const CommandLine& cl);
// tlslab demo trust-server-certificate: the classroom case, with a real driver.
int run_demo_command(const CommandLine& cl);
// tlslab ctl: the admin API's command-line client.
int run_ctl_command(const CommandLine& cl);
// tlslab scenarios [--json]: the catalogue.
int run_scenarios_command(const CommandLine& cl);

} // namespace proxy::app
