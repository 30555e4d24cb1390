#include <iostream>

#include <proxy/app/commands/matrix_command.h>

namespace proxy::app {

int run_matrix_command(const CommandLine& /*cl*/) {
    std::cerr << "tlslab matrix: not built yet\n";
    return 2;
}

} // namespace proxy::app
