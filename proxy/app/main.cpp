// tlslab: a TLS-inspecting lab for database client drivers. One binary, subcommands.

#include <iostream>

#include <openssl/ssl.h>

#include <proxy/app/commands/ca_command.h>
#include <proxy/app/commands/cli.h>
#include <proxy/app/commands/ctl_command.h>
#include <proxy/app/commands/demo_command.h>
#include <proxy/app/commands/lab_command.h>
#include <proxy/app/commands/proxy_command.h>
#include <proxy/app/commands/scenarios_command.h>
#include <proxy/app/commands/serve_command.h>

namespace {

constexpr const char* kUsage =
    "tlslab " TLSLAB_VERSION " - reproduce how SQL Server drivers react to bad server TLS\n"
    "\n"
    "usage: tlslab [--state-dir DIR] [--log-level LEVEL] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  lab        the whole catalogue: serve in-process and one proxy listener per scenario\n"
    "  proxy      intercept one listener in front of a server, showing one scenario\n"
    "  scenarios  list the scenario catalogue (--json for machines)\n"
    "  ctl        drive a running lab or proxy through its admin API\n"
    "  demo       tlslab demo trust-server-certificate: why trusting any certificate is dangerous\n"
    "  serve      run the embedded SQL Server stand-in (TDS 7.x and 8.0, every encryption mode)\n"
    "  ca         show the lab CA; --export FILE writes its certificate for drivers to trust\n"
    "\n"
    "`tlslab COMMAND --help` describes a command.\n";

} // namespace

int main(int argc, char** argv) {
    auto cl = proxy::app::split_command_line(argc, argv);
    if (!cl) {
        std::cerr << "tlslab: " << cl.error() << "\n" << kUsage;
        return 2;
    }
    if (cl->version) {
        std::cout << "tlslab " TLSLAB_VERSION " (" << OpenSSL_version(OPENSSL_VERSION) << ")\n";
        return 0;
    }
    if (cl->help || cl->command.empty()) {
        std::cout << kUsage;
        return cl->help ? 0 : 2;
    }
    if (auto ok = proxy::app::setup_logging(cl->global.log_level); !ok) {
        std::cerr << "tlslab: " << ok.error() << "\n";
        return 2;
    }
    try {
        if (cl->command == "serve") {
            return proxy::app::run_serve_command(*cl);
        }
        if (cl->command == "ca") {
            return proxy::app::run_ca_command(*cl);
        }
        if (cl->command == "proxy") {
            return proxy::app::run_proxy_command(*cl);
        }
        if (cl->command == "lab") {
            return proxy::app::run_lab_command(*cl);
        }
        if (cl->command == "demo") {
            return proxy::app::run_demo_command(*cl);
        }
        if (cl->command == "ctl") {
            return proxy::app::run_ctl_command(*cl);
        }
        if (cl->command == "scenarios") {
            return proxy::app::run_scenarios_command(*cl);
        }
    } catch (const std::exception& e) {
        // Only start-up code throws (option parsing); the event loop never does.
        std::cerr << "tlslab " << cl->command << ": " << e.what() << "\n";
        return 2;
    }
    std::cerr << "tlslab: unknown command '" << cl->command << "'\n" << kUsage;
    return 2;
}
