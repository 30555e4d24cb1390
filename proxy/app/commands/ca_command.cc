#include <iostream>

#include <certs/certificate_info.h>
#include <certs/lab_ca.h>
#include <certs/pem.h>
#include <proxy/app/commands/ca_command.h>

namespace proxy::app {

int run_ca_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab ca", "Show the lab CA and export its certificate.\n"
                                          "The CA is created in the state directory on first use.");
    options.add_options()("export", "Write the CA certificate (PEM) to FILE, or - for stdout",
                          cxxopts::value<std::string>());
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto ca = certs::LabCa::load_or_create(cl.global.state_dir);
    if (!ca) {
        std::cerr << "tlslab ca: " << ca.error() << "\n";
        return 1;
    }
    std::string pem = certs::to_pem(ca->cert());
    if (args.count("export") != 0) {
        auto target = args["export"].as<std::string>();
        if (target == "-") {
            std::cout << pem;
            return 0;
        }
        if (auto w = certs::write_file(target, pem, 0644, false); !w) {
            std::cerr << "tlslab ca: " << w.error() << "\n";
            return 1;
        }
        std::cerr << "wrote the lab CA certificate to " << target << "\n";
        return 0;
    }
    auto info = certs::describe(ca->cert());
    std::cout
        << (ca->created() ? "created a new lab CA\n" : "")
        << "lab CA certificate: " << ca->cert_path().string() << "\n"
        << "  subject:  " << info.subject << "\n"
        << "  valid:    " << info.not_before << " to " << info.not_after << "\n"
        << "  key:      " << info.key << ", " << info.signature_algorithm << "\n"
        << "  sha256:   " << info.sha256_fingerprint << "\n"
        << "Give this file to a driver as its trusted CA; `tlslab ca --export FILE` copies it.\n";
    return 0;
}

} // namespace proxy::app
