// tlslab: a TLS-inspecting lab for database client drivers. One binary, subcommands.

#include <iostream>

#include <openssl/ssl.h>

#include <proxy/app/commands/ca_command.h>
#include <proxy/app/commands/cli.h>
#include <proxy/app/commands/ctl_command.h>
#include <proxy/app/commands/demo_command.h>
#include <proxy/app/commands/diagnose_command.h>
#include <proxy/app/commands/diff_command.h>
#include <proxy/app/commands/explain_command.h>
#include <proxy/app/commands/lab_command.h>
#include <proxy/app/commands/matrix_command.h>
#include <proxy/app/commands/proxy_command.h>
#include <proxy/app/commands/scenarios_command.h>
#include <proxy/app/commands/serve_command.h>

namespace {

constexpr const char* kUsage =
    "tlslab " TLSLAB_VERSION " - reproduce how database clients react to bad server TLS\n"
    "\n"
    "usage: tlslab [--state-dir DIR] [--log-level LEVEL] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  lab        the whole catalogue: serve in-process and one proxy listener per scenario\n"
    "  proxy      intercept one listener in front of a server, showing one scenario\n"
    "  scenarios  list the scenario catalogue (--json for machines)\n"
    "  matrix     run drivers against the whole catalogue; report.json, report.html, summary\n"
    "  diff       what changed between two matrix reports (exit 1 when a cell got worse)\n"
    "  diagnose   probe a real server: its TLS, certificate, the defects clients will meet\n"
    "  explain    from an error text to the scenarios that cause it, and the fix\n"
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
        if (cl->command == "matrix") {
            return proxy::app::run_matrix_command(*cl);
        }
        if (cl->command == "diff") {
            return proxy::app::run_diff_command(*cl);
        }
        if (cl->command == "diagnose") {
            return proxy::app::run_diagnose_command(*cl);
        }
        if (cl->command == "explain") {
            return proxy::app::run_explain_command(*cl);
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
