#include <algorithm>
#include <iostream>

#include <certs/certificate_info.h>
#include <certs/lab_ca.h>
#include <certs/pem.h>
#include <proxy/app/commands/ca_command.h>
#include <proxy/app/lab/lab_setup.h>
#include <scenarios/catalogue.h>

namespace proxy::app {

namespace {

// The subtree that holds every name below the lab's placeholder names (the default certificate
// of the SNI scenarios, the name-constrained intermediate's own subtree).
constexpr const char* kLabInvalidSubtree = "tlslab.invalid";

bool hostname_like(const std::string& s) {
    if (s.empty() || s.front() == '{') {
        return false; // a placeholder ({host}, {hostnames}): the lab's names, added anyway
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == '*' || c == '_';
    });
}

// lab_names: every name and address the lab uses: its identity (localhost, the machine's names,
// the --hostname extras), 127.0.0.0/8 and ::1, and every name the scenarios put in a certificate,
// dial or route to.
std::expected<certs::PermittedNames, std::string>
lab_names(const std::vector<std::string>& extra, const std::optional<std::string>& scenario_dir) {
    auto catalogue = scenarios::Catalogue::builtin();
    if (!catalogue) {
        return std::unexpected(catalogue.error());
    }
    if (scenario_dir) {
        if (auto ok = catalogue->add_directory(*scenario_dir); !ok) {
            return std::unexpected(ok.error());
        }
    }
    certs::PermittedNames names;
    auto add_dns = [&names](std::string n) {
        std::transform(n.begin(), n.end(), n.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (n.starts_with("*.")) {
            n = n.substr(2);
        }
        if (std::find(names.dns.begin(), names.dns.end(), n) == names.dns.end()) {
            names.dns.push_back(std::move(n));
        }
    };
    auto identity = lab_identity(extra);
    for (const auto& h : identity.hostnames) {
        add_dns(h);
    }
    names.ip = {"127.0.0.0/8", "::1/128"};
    for (const auto& ip : identity.ips) {
        if (ip == "127.0.0.1" || ip == "::1") {
            continue;
        }
        names.ip.push_back(ip + (ip.find(':') != std::string::npos ? "/128" : "/32"));
    }
    add_dns(kLabInvalidSubtree);
    for (const auto& s : catalogue->all()) {
        const auto& c = s.certificate;
        if (hostname_like(c.common_name) && c.common_name.find('.') != std::string::npos) {
            add_dns(c.common_name); // a CN without a SAN is checked as a DNS name by OpenSSL
        }
        for (const auto& n : c.dns_names) {
            if (hostname_like(n)) {
                add_dns(n);
            }
        }
        for (const auto& n : scenarios::names_to_resolve(s)) {
            add_dns(n);
        }
    }
    return names;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ", ") + i;
    }
    return out;
}

} // namespace

int run_ca_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab ca", "Show the lab CA and export its certificate.\n"
                                          "The CA is created in the state directory on first use.");
    // clang-format off
    options.add_options()
        ("export", "Write the CA certificate (PEM) to FILE, or - for stdout",
         cxxopts::value<std::string>())
        ("constrain", "Replace the lab CA by a new one (new key) whose critical nameConstraints "
                      "permit only the lab's names and addresses; export it again afterwards")
        ("hostname", "With --constrain: an extra name (or IP) to permit, as given to the lab's "
                     "--hostname; repeatable", cxxopts::value<std::vector<std::string>>())
        ("scenarios", "With --constrain: also permit the names of the scenarios in DIR",
         cxxopts::value<std::string>());
    // clang-format on
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    bool constrain = args.count("constrain") != 0;
    if (!constrain && (args.count("hostname") != 0 || args.count("scenarios") != 0)) {
        std::cerr << "tlslab ca: --hostname and --scenarios go with --constrain\n";
        return 2;
    }
    std::expected<certs::LabCa, std::string> ca;
    if (constrain) {
        std::vector<std::string> extra;
        if (args.count("hostname") != 0) {
            extra = args["hostname"].as<std::vector<std::string>>();
        }
        std::optional<std::string> dir;
        if (args.count("scenarios") != 0) {
            dir = args["scenarios"].as<std::string>();
        }
        auto names = lab_names(extra, dir);
        if (!names) {
            std::cerr << "tlslab ca: " << names.error() << "\n";
            return 2;
        }
        ca = certs::LabCa::constrain(cl.global.state_dir, *names);
    } else {
        ca = certs::LabCa::load_or_create(cl.global.state_dir);
    }
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
    auto permitted = ca->permitted();
    std::cout << (constrain       ? "replaced the lab CA by a name-constrained one (a new key)\n"
                  : ca->created() ? "created a new lab CA\n"
                                  : "")
              << "lab CA certificate: " << ca->cert_path().string() << "\n"
              << "  subject:  " << info.subject << "\n"
              << "  valid:    " << info.not_before << " to " << info.not_after << "\n"
              << "  key:      " << info.key << ", " << info.signature_algorithm << "\n"
              << "  sha256:   " << info.sha256_fingerprint << "\n";
    if (permitted) {
        std::cout << "  constrained: yes (" << (permitted->critical ? "critical " : "")
                  << "nameConstraints)\n"
                  << "    permitted DNS: " << joined(permitted->dns) << "\n"
                  << "    permitted IP:  " << joined(permitted->ip) << "\n";
    } else {
        std::cout << "  constrained: no (it can vouch for any name; `tlslab ca --constrain` limits "
                     "it to the lab's)\n";
    }
    if (constrain) {
        std::cout << "Every copy of the old CA certificate no longer validates the lab: export "
                     "this one again and replace the old one wherever a driver trusts it; "
                     "restart running labs.\n";
    }
    std::cout << "Give this file to a driver as its trusted CA; `tlslab ca --export FILE` copies "
                 "it.\n";
    return 0;
}

} // namespace proxy::app
