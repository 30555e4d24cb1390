#include <iostream>

#include <proxy/app/commands/diff_command.h>

namespace proxy::app {

int run_diff_command(const CommandLine& /*cl*/) {
    std::cerr << "tlslab diff: not built yet\n";
    return 2;
}

} // namespace proxy::app
