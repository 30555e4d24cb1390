#include <iostream>

#include <proxy/app/commands/explain_command.h>

namespace proxy::app {

int run_explain_command(const CommandLine& /*cl*/) {
    std::cerr << "tlslab explain: not built yet\n";
    return 2;
}

} // namespace proxy::app
