#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <openssl/err.h>

#include <proxy/app/commands/diagnose_command.h>
#include <proxy/app/diagnose/diagnosis.h>
#include <proxy/app/diagnose/prober.h>
#include <proxy/net/address.h>

namespace proxy::app {

namespace {

namespace dg = diagnose;

constexpr int kExitClean = 0;
constexpr int kExitDefects = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNoConnect = 3;

std::string usage() {
    return "Usage: tlslab diagnose HOST:PORT [--protocol tds|postgres|mysql] [--server-name NAME]\n"
           "                        [--ca FILE] [--json] [--timeout SECONDS]\n\n"
           "Connect to a real server as a client would and report, in plain words:\n"
           "  what it asks for (TDS: the PRELOGIN ENCRYPTION answer, TDS 8.0 strict; PostgreSQL:\n"
           "  SSL on or off, ALPN, SCRAM-SHA-256-PLUS; MySQL: CLIENT_SSL, plaintext refused),\n"
           "  its certificate chain (names against NAME and its variants, issuer, self-signed or\n"
           "  SQL Server's fallback certificate, validity, EKU, keyUsage, key, signature hash,\n"
           "  serial, chain, trusted by --ca or the system store), its TLS (versions 1.0-1.3,\n"
           "  suites and key exchange, a client at OpenSSL security level 2, SNI, a short\n"
           "  signature_algorithms list), the findings (each a family of knowledge/errors.json),\n"
           "  what each client of the protocol would print, and the fix in order.\n\n"
           "  --protocol P        tds (default), postgres or mysql\n"
           "  --server-name NAME  the name clients dial (SNI and the name check); default HOST\n"
           "  --ca FILE           PEM CA certificate(s) the clients trust; default the system "
           "store\n"
           "  --json              the same as a JSON object (\"tlslab_diagnose\": 1; see\n"
           "                      docs/diagnose.md): target, connected, negotiation, handshakes,\n"
           "                      tls, certificates, findings [{family, severity, text, evidence,\n"
           "                      also, stacks, fix}], predictions [{client, settings, fails,\n"
           "                      family, message, entry}], defects\n"
           "  --timeout S         per connection (default 5)\n\n"
           "Exit status: 0 no defect found, 1 defects or warnings found, 2 usage error,\n"
           "3 could not connect.\n";
}

struct Args {
    std::string host;
    int port = 0;
    dg::Protocol protocol = dg::Protocol::Tds;
    std::string server_name;
    std::string ca;
    bool json = false;
    double timeout_s = 5;
    bool help = false;
};

std::expected<Args, std::string> parse(const std::vector<std::string>& args) {
    Args a;
    std::string target;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&](const std::string& name) -> std::expected<std::string, std::string> {
            if (arg.starts_with(name + "=")) {
                return arg.substr(name.size() + 1);
            }
            if (i + 1 >= args.size()) {
                return std::unexpected(name + " needs a value");
            }
            return args[++i];
        };
        auto is = [&](const std::string& name) {
            return arg == name || arg.starts_with(name + "=");
        };
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "--json") {
            a.json = true;
        } else if (is("--protocol")) {
            auto v = value("--protocol");
            if (!v) {
                return std::unexpected(v.error());
            }
            if (*v == "tds") {
                a.protocol = dg::Protocol::Tds;
            } else if (*v == "postgres" || *v == "pg") {
                a.protocol = dg::Protocol::Postgres;
            } else if (*v == "mysql") {
                a.protocol = dg::Protocol::Mysql;
            } else {
                return std::unexpected("unknown protocol '" + *v + "' (tds, postgres, mysql)");
            }
        } else if (is("--server-name")) {
            auto v = value("--server-name");
            if (!v) {
                return std::unexpected(v.error());
            }
            a.server_name = *v;
        } else if (is("--ca")) {
            auto v = value("--ca");
            if (!v) {
                return std::unexpected(v.error());
            }
            a.ca = *v;
        } else if (is("--timeout")) {
            auto v = value("--timeout");
            if (!v) {
                return std::unexpected(v.error());
            }
            char* end = nullptr;
            a.timeout_s = std::strtod(v->c_str(), &end);
            if (end == v->c_str() || *end != '\0' || a.timeout_s <= 0 || a.timeout_s > 600) {
                return std::unexpected("--timeout wants seconds (0 < S <= 600)");
            }
        } else if (!arg.empty() && arg[0] == '-') {
            return std::unexpected("unknown option '" + arg + "'");
        } else if (target.empty()) {
            target = arg;
        } else {
            return std::unexpected("one HOST:PORT only");
        }
    }
    if (a.help) {
        return a;
    }
    if (target.empty()) {
        return std::unexpected("HOST:PORT is missing");
    }
    auto hp = net::parse_host_port(target); // the one HOST:PORT / [IPv6]:PORT parser
    if (!hp) {
        return std::unexpected("bad target " + hp.error());
    }
    if (hp->port == 0) {
        return std::unexpected("bad target '" + target + "': port 0");
    }
    a.host = hp->host;
    a.port = hp->port;
    if (a.server_name.empty()) {
        a.server_name = a.host;
    }
    return a;
}

} // namespace

int run_diagnose_command(const CommandLine& cl) {
    auto args = parse(cl.args);
    if (!args) {
        std::cerr << "tlslab diagnose: " << args.error() << "\n\n" << usage();
        return kExitUsage;
    }
    if (args->help) {
        std::cout << usage();
        return kExitClean;
    }
    certs::X509StorePtr store(X509_STORE_new());
    std::string trust_source;
    if (!args->ca.empty()) {
        if (!std::filesystem::is_regular_file(args->ca) ||
            X509_STORE_load_file(store.get(), args->ca.c_str()) != 1) {
            std::cerr << "tlslab diagnose: cannot read CA certificates from " << args->ca << "\n";
            return kExitUsage;
        }
        trust_source = "--ca " + args->ca;
    } else {
        X509_STORE_set_default_paths(store.get());
        trust_source = "the system store";
    }
    ERR_clear_error();

    dg::ProbeOptions po;
    po.protocol = args->protocol;
    po.host = args->host;
    po.port = args->port;
    po.server_name = args->server_name;
    po.timeout_s = args->timeout_s;

    dg::Diagnosis d;
    d.observations = dg::probe(po);
    const auto& kb = explain::KnowledgeBase::builtin();
    if (d.observations.connected) {
        std::vector<std::vector<std::uint8_t>> chain;
        if (const dg::Handshake* ok = d.observations.first_ok()) {
            chain = ok->chain;
        }
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        d.chain = dg::analyse_chain(chain, store.get(), trust_source, args->server_name, args->host,
                                    static_cast<long long>(now));
        d.findings = dg::find_defects(d.observations, d.chain);
        d.predictions = dg::predict(args->protocol, d.findings, kb);
    }
    std::cout << (args->json ? dg::render_json(d, kb) : dg::render_text(d, kb));
    if (!d.observations.connected) {
        return kExitNoConnect;
    }
    return dg::has_defects(d.findings) ? kExitDefects : kExitClean;
}

} // namespace proxy::app
