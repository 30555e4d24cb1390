#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include <certs/pem.h>
#include <proxy/app/commands/scenarios_command.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/outputs/record_json.h>
#include <scenarios/catalogue.h>

namespace proxy::app {

namespace {

// export_certificates writes each scenario's certificate chain and key as the lab mints them
// (DIR/NAME.crt, DIR/NAME.key), so a real server can be configured with the same defect: the
// lab's verdicts can then be compared with the real server's.
int export_certificates(const CommandLine& cl, const cxxopts::ParseResult& args,
                        const std::filesystem::path& dir) {
    LabOptions lab_options;
    lab_options.state_dir = cl.global.state_dir;
    if (args.count("hostname") != 0) {
        lab_options.hostnames = args["hostname"].as<std::vector<std::string>>();
    }
    if (args.count("scenarios") != 0) {
        lab_options.scenarios = args["scenarios"].as<std::string>();
    }
    auto lab = Lab::prepare(lab_options);
    if (!lab) {
        std::cerr << "tlslab scenarios: " << lab.error() << "\n";
        return 1;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::cerr << "tlslab scenarios: --export " << dir.string() << ": " << ec.message() << "\n";
        return 1;
    }
    for (const auto& name : (*lab)->catalogue().names()) {
        auto rt = (*lab)->runtime(name);
        if (!rt) {
            std::cerr << "tlslab scenarios: " << rt.error() << "\n";
            return 1;
        }
        std::string chain = certs::to_pem((*rt)->leaf.cert.get());
        for (const auto& c : (*rt)->chain) {
            chain += certs::to_pem(c.get());
        }
        auto crt = dir / (name + ".crt");
        auto key = dir / (name + ".key");
        std::ofstream(crt) << chain;
        {
            std::ofstream k(key);
            k << certs::to_pem((*rt)->leaf.key.get());
        }
        std::filesystem::permissions(
            key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
        if (!std::filesystem::exists(crt) || !std::filesystem::exists(key) || ec) {
            std::cerr << "tlslab scenarios: cannot write " << crt.string() << "\n";
            return 1;
        }
        std::cout << name << ": " << crt.string() << " " << key.string() << "\n";
    }
    std::cout << "tlslab scenarios: certificates valid from now, signed by the lab CA "
              << (*lab)->ca().cert_path().string() << " where the scenario says so\n";
    return 0;
}

} // namespace

int run_scenarios_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab scenarios", "List the scenario catalogue.");
    options.add_options()("json", "One JSON array instead of a table")(
        "scenarios", "Directory of extra scenario files (*.toml)", cxxopts::value<std::string>())(
        "export",
        "Write each scenario's certificate chain and key to DIR/NAME.crt and "
        "DIR/NAME.key (to configure a real server with the same defect)",
        cxxopts::value<std::string>())("hostname",
                                       "Extra name (or IP) for the certificates; repeatable",
                                       cxxopts::value<std::vector<std::string>>());
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto catalogue = scenarios::Catalogue::builtin();
    if (!catalogue) {
        std::cerr << "tlslab scenarios: " << catalogue.error() << "\n";
        return 1;
    }
    if (args.count("scenarios") != 0) {
        if (auto ok = catalogue->add_directory(args["scenarios"].as<std::string>()); !ok) {
            std::cerr << "tlslab scenarios: " << ok.error() << "\n";
            return 1;
        }
    }
    if (args.count("export") != 0) {
        return export_certificates(cl, args, args["export"].as<std::string>());
    }
    if (args.count("json") != 0) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : catalogue->all()) {
            out.push_back(to_json(s));
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& s : catalogue->all()) {
        std::printf("%-24s %-7s %s\n%-24s %-7s   %s\n", s.name.c_str(),
                    std::string(scenarios::to_string(s.expect)).c_str(), s.description.c_str(), "",
                    "", s.expect_detail.c_str());
    }
    return 0;
}

} // namespace proxy::app
