#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include <scenarios/builtin_catalogue.h>
#include <scenarios/catalogue.h>

namespace scenarios {

namespace {

using Error = std::string;

// Reader walks one TOML table, takes known keys with checked types, and reports the first
// problem as "<origin>: <key>: <what>". Unknown keys are errors: a typo must not silently
// become a default.
class Reader {
  public:
    Reader(const toml::table& table, std::string origin, std::string prefix)
        : table_(table), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

    bool ok() const { return error_.empty(); }
    const Error& error() const { return error_; }
    void fail(const std::string& key, const std::string& what) {
        if (error_.empty()) {
            error_ = origin_ + ": " + prefix_ + key + ": " + what;
        }
    }

    void text(const std::string& key, std::string& out) {
        seen_.insert(key);
        if (const auto* node = table_.get(key)) {
            if (auto v = node->value<std::string>()) {
                out = *v;
            } else {
                fail(key, "must be a string");
            }
        }
    }
    void boolean(const std::string& key, bool& out) {
        seen_.insert(key);
        if (const auto* node = table_.get(key)) {
            if (auto v = node->value<bool>()) {
                out = *v;
            } else {
                fail(key, "must be true or false");
            }
        }
    }
    void integer(const std::string& key, int& out, long lo, long hi) {
        std::optional<int> v;
        optional_integer(key, v, lo, hi);
        if (v) {
            out = *v;
        }
    }
    void optional_integer(const std::string& key, std::optional<int>& out, long lo, long hi) {
        seen_.insert(key);
        if (const auto* node = table_.get(key)) {
            // as_integer: an integer only. value<std::int64_t>() would convert a float too,
            // and one beyond the range of int64_t (1E24) is undefined behaviour in toml++.
            const auto* integer = node->as_integer();
            std::optional<std::int64_t> v;
            if (integer != nullptr) {
                v = integer->get();
            }
            if (!v || *v < lo || *v > hi) {
                fail(key, "must be a whole number from " + std::to_string(lo) + " to " +
                              std::to_string(hi));
            } else {
                out = static_cast<int>(*v);
            }
        }
    }
    // texts reads a list of strings; true when the key is present.
    bool texts(const std::string& key, std::vector<std::string>& out) {
        seen_.insert(key);
        const auto* node = table_.get(key);
        if (node == nullptr) {
            return false;
        }
        const auto* arr = node->as_array();
        if (arr == nullptr) {
            fail(key, "must be a list of strings");
            return true;
        }
        out.clear();
        for (const auto& item : *arr) {
            auto v = item.value<std::string>();
            if (!v) {
                fail(key, "must be a list of strings");
                return true;
            }
            out.push_back(*v);
        }
        return true;
    }
    const toml::table* sub_table(const std::string& key) {
        seen_.insert(key);
        const auto* node = table_.get(key);
        if (node == nullptr) {
            return nullptr;
        }
        if (!node->is_table()) {
            fail(key, "must be a table ([" + prefix_ + key + "])");
            return nullptr;
        }
        return node->as_table();
    }
    // tables reads an array of tables ([[key]]); absent: empty.
    std::vector<const toml::table*> tables(const std::string& key) {
        seen_.insert(key);
        std::vector<const toml::table*> out;
        const auto* node = table_.get(key);
        if (node == nullptr) {
            return out;
        }
        const auto* arr = node->as_array();
        if (arr == nullptr) {
            fail(key, "must be a list of tables ([[" + prefix_ + key + "]])");
            return out;
        }
        for (const auto& item : *arr) {
            if (!item.is_table()) {
                fail(key, "must be a list of tables ([[" + prefix_ + key + "]])");
                return {};
            }
            out.push_back(item.as_table());
        }
        return out;
    }
    void reject_unknown() {
        for (const auto& [k, v] : table_) {
            std::string key(k.str());
            if (!seen_.contains(key)) {
                fail(key, "unknown key");
            }
        }
    }

  private:
    const toml::table& table_;
    std::string origin_;
    std::string prefix_;
    std::set<std::string> seen_;
    Error error_;
};

std::optional<std::uint8_t> encryption_value(const std::string& name) {
    if (name == "off") {
        return 0x00;
    }
    if (name == "on") {
        return 0x01;
    }
    if (name == "not-supported") {
        return 0x02;
    }
    if (name == "required") {
        return 0x03;
    }
    if (name == "strict") {
        return 0x04;
    }
    // any other byte as hex, "0x05": an answer no client knows (unknown ENCRYPTION value)
    if (name.size() == 4 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
        unsigned value = 0;
        for (char c : name.substr(2)) {
            value *= 16;
            if (c >= '0' && c <= '9') {
                value += static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                value += static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                value += static_cast<unsigned>(c - 'A' + 10);
            } else {
                return std::nullopt;
            }
        }
        return static_cast<std::uint8_t>(value);
    }
    return std::nullopt;
}

bool valid_host_name(const std::string& n) {
    if (n.empty() || n.size() > 253 || n.front() == '.' || n.back() == '.') {
        return false;
    }
    // an IPv4 literal is no name to put in a hosts file (dial = "ip" dials the address)
    if (std::all_of(n.begin(), n.end(),
                    [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
        return false;
    }
    return std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
}

template <typename E, std::size_t N>
std::optional<E> enum_from(const std::string& text, const std::array<E, N>& values) {
    for (E v : values) {
        if (to_string(v) == text) {
            return v;
        }
    }
    return std::nullopt;
}

template <typename E, std::size_t N> std::string enum_names(const std::array<E, N>& values) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        out += (i == 0 ? "" : (i + 1 == N ? " or " : ", ")) + std::string(to_string(values[i]));
    }
    return out;
}

constexpr std::array kIssuers = {Issuer::LabCa,
                                 Issuer::Self,
                                 Issuer::UntrustedCa,
                                 Issuer::UnsentIntermediate,
                                 Issuer::NewRoot,
                                 Issuer::CrossSigned,
                                 Issuer::ExpiredIntermediate,
                                 Issuer::ExpiredRootCrossSign,
                                 Issuer::RetiredCa,
                                 Issuer::DeepChain,
                                 Issuer::NameConstrained};
constexpr std::array kKeys = {KeyKind::Rsa, KeyKind::EcP256, KeyKind::EcP384, KeyKind::RsaPss,
                              KeyKind::Ed25519};
constexpr std::array kSerials = {Serial::Random, Serial::Random16Positive,
                                 Serial::Random16Negative};
constexpr std::array kSnis = {TlsPolicy::Sni::Ignore, TlsPolicy::Sni::Require,
                              TlsPolicy::Sni::Known, TlsPolicy::Sni::Select};

bool valid_version(const std::string& v) {
    return v.empty() || v == "1.0" || v == "1.1" || v == "1.2" || v == "1.3";
}

bool valid_name(const std::string& n) {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    });
}

} // namespace

std::string_view to_string(Issuer i) {
    switch (i) {
    case Issuer::LabCa:
        return "lab-ca";
    case Issuer::Self:
        return "self";
    case Issuer::UntrustedCa:
        return "untrusted-ca";
    case Issuer::UnsentIntermediate:
        return "unsent-intermediate";
    case Issuer::NewRoot:
        return "new-root";
    case Issuer::CrossSigned:
        return "cross-signed";
    case Issuer::ExpiredIntermediate:
        return "expired-intermediate";
    case Issuer::ExpiredRootCrossSign:
        return "expired-root-cross-sign";
    case Issuer::RetiredCa:
        return "retired-ca";
    case Issuer::DeepChain:
        return "deep-chain";
    case Issuer::NameConstrained:
        return "name-constrained";
    }
    return "?";
}

std::string_view to_string(KeyKind k) {
    switch (k) {
    case KeyKind::Rsa:
        return "rsa";
    case KeyKind::EcP256:
        return "ec-p256";
    case KeyKind::EcP384:
        return "ec-p384";
    case KeyKind::RsaPss:
        return "rsa-pss";
    case KeyKind::Ed25519:
        return "ed25519";
    }
    return "?";
}

std::string_view to_string(Serial s) {
    switch (s) {
    case Serial::Random:
        return "random";
    case Serial::Random16Positive:
        return "random-16-positive";
    case Serial::Random16Negative:
        return "random-16-negative";
    }
    return "?";
}

std::string_view to_string(TlsPolicy::Sni s) {
    switch (s) {
    case TlsPolicy::Sni::Ignore:
        return "ignore";
    case TlsPolicy::Sni::Require:
        return "require";
    case TlsPolicy::Sni::Known:
        return "known";
    case TlsPolicy::Sni::Select:
        return "select";
    }
    return "?";
}

std::string_view to_string(Expect e) {
    return e == Expect::Accept ? "accept" : "reject";
}

std::string_view to_string(Dial d) {
    switch (d) {
    case Dial::Name:
        return "name";
    case Dial::Ip:
        return "ip";
    case Dial::Host:
        return "host";
    }
    return "?";
}

std::string dial_name(const Scenario& s, const std::string& lab_host) {
    switch (s.dial) {
    case Dial::Name:
        return lab_host;
    case Dial::Ip:
        return "127.0.0.1";
    case Dial::Host:
        return s.dial_host;
    }
    return lab_host;
}

std::vector<std::string> names_to_resolve(const Scenario& s) {
    std::vector<std::string> out;
    if (s.dial == Dial::Host) {
        out.push_back(s.dial_host);
    }
    if (!s.tds.route_to_host.empty() &&
        std::find(out.begin(), out.end(), s.tds.route_to_host) == out.end()) {
        out.push_back(s.tds.route_to_host);
    }
    return out;
}

std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::Tds:
        return "tds";
    case Protocol::Postgres:
        return "postgres";
    case Protocol::Tls:
        return "tls";
    case Protocol::Mysql:
        return "mysql";
    }
    return "?";
}

bool serves(const Scenario& s, Protocol p) {
    return std::find(s.protocols.begin(), s.protocols.end(), p) != s.protocols.end();
}

std::expected<Scenario, std::string> parse_scenario(std::string_view text,
                                                    const std::string& origin) {
    toml::table doc;
    try {
        doc = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
            << e.description();
        return std::unexpected(msg.str());
    }
    Scenario s;
    s.source = origin;
    Reader top(doc, origin, "");
    top.text("name", s.name);
    top.text("description", s.description);
    std::string expect = "accept";
    top.text("expect", expect);
    top.text("expect_detail", s.expect_detail);
    top.text("family", s.family);
    std::string dial = "name";
    top.text("dial", dial);
    top.boolean("passthrough", s.passthrough);
    for (const auto* seed : top.tables("seed")) {
        Reader r(*seed, origin, "seed.");
        SeedWording w;
        r.text("client", w.client);
        r.text("text", w.text);
        r.text("source", w.source);
        r.reject_unknown();
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
        if (w.client.empty() || w.text.empty()) {
            return std::unexpected(origin + ": seed: client and text are required");
        }
        s.seed.push_back(std::move(w));
    }
    const toml::table* cert = top.sub_table("certificate");
    const toml::table* tls = top.sub_table("tls");
    const toml::table* tds = top.sub_table("tds");
    const toml::table* postgres = top.sub_table("postgres");
    const toml::table* mysql = top.sub_table("mysql");
    const toml::table* fault = top.sub_table("fault");
    std::vector<std::string> protocols;
    bool has_protocols = top.texts("protocols", protocols);
    top.reject_unknown();
    if (!top.ok()) {
        return std::unexpected(top.error());
    }
    if (!valid_name(s.name)) {
        return std::unexpected(origin +
                               ": name: required; lower-case letters, digits, '-', '.', '_'");
    }
    if (s.description.empty()) {
        return std::unexpected(origin + ": description: required (one line)");
    }
    if (expect != "accept" && expect != "reject") {
        return std::unexpected(origin + ": expect: must be \"accept\" or \"reject\"");
    }
    s.expect = expect == "accept" ? Expect::Accept : Expect::Reject;
    if (dial == "name") {
        s.dial = Dial::Name;
    } else if (dial == "ip") {
        s.dial = Dial::Ip;
    } else if (valid_host_name(dial)) {
        s.dial = Dial::Host;
        s.dial_host = dial;
    } else {
        return std::unexpected(origin +
                               ": dial: must be \"name\", \"ip\" or a host name (\"sql01\")");
    }
    if (has_protocols) {
        s.protocols.clear();
        for (const auto& name : protocols) {
            if (name == "tds") {
                s.protocols.push_back(Protocol::Tds);
            } else if (name == "postgres") {
                s.protocols.push_back(Protocol::Postgres);
            } else if (name == "tls") {
                s.protocols.push_back(Protocol::Tls);
            } else if (name == "mysql") {
                s.protocols.push_back(Protocol::Mysql);
            } else {
                return std::unexpected(origin +
                                       ": protocols: each must be tds, postgres, mysql or tls");
            }
        }
        if (s.protocols.empty()) {
            return std::unexpected(origin + ": protocols: name at least one");
        }
    }

    if (cert != nullptr) {
        Reader r(*cert, origin, "certificate.");
        std::string issuer = "lab-ca";
        std::string key = "rsa";
        r.text("issuer", issuer);
        r.text("common_name", s.certificate.common_name);
        r.texts("dns_names", s.certificate.dns_names);
        r.texts("ip_addresses", s.certificate.ip_addresses);
        r.integer("not_before_days", s.certificate.not_before_days, -36500, 36500);
        r.integer("not_after_days", s.certificate.not_after_days, -36500, 36500);
        r.text("key", key);
        r.integer("key_bits", s.certificate.key_bits, 512, 16384);
        r.text("signature_hash", s.certificate.signature_hash);
        r.texts("extended_key_usage", s.certificate.extended_key_usage);
        std::optional<int> nb_s, na_s;
        r.optional_integer("not_before_seconds", nb_s, -2000000000L, 2000000000L);
        r.optional_integer("not_after_seconds", na_s, -2000000000L, 2000000000L);
        if (nb_s) {
            s.certificate.not_before_seconds = *nb_s;
        }
        if (na_s) {
            s.certificate.not_after_seconds = *na_s;
        }
        std::string serial = "random";
        r.text("serial", serial);
        r.boolean("basic_constraints_ca", s.certificate.basic_constraints_ca);
        std::vector<std::string> key_usage;
        if (r.texts("key_usage", key_usage)) {
            s.certificate.key_usage = key_usage;
        }
        r.boolean("unknown_critical_extension", s.certificate.unknown_critical_extension);
        r.integer("chain_depth", s.certificate.chain_depth, 0, 20);
        r.boolean("extensions", s.certificate.extensions);
        r.boolean("common_name_bmp", s.certificate.common_name_bmp);
        r.text("organization", s.certificate.organization);
        r.reject_unknown();
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
        if (auto v = enum_from(issuer, kIssuers)) {
            s.certificate.issuer = *v;
        } else {
            r.fail("issuer", "must be " + enum_names(kIssuers));
        }
        if (auto v = enum_from(key, kKeys)) {
            s.certificate.key = *v;
        } else {
            r.fail("key", "must be " + enum_names(kKeys));
        }
        if (auto v = enum_from(serial, kSerials)) {
            s.certificate.serial = *v;
        } else {
            r.fail("serial", "must be " + enum_names(kSerials));
        }
        long not_before = s.certificate.not_before_seconds.value_or(
            static_cast<long>(s.certificate.not_before_days) * 86400);
        long not_after = s.certificate.not_after_seconds.value_or(
            static_cast<long>(s.certificate.not_after_days) * 86400);
        if (not_after <= not_before) {
            r.fail(s.certificate.not_after_seconds ? "not_after_seconds" : "not_after_days",
                   "must be later than the start of validity");
        }
        if (s.certificate.issuer == Issuer::DeepChain && s.certificate.chain_depth < 1) {
            r.fail("chain_depth", "deep-chain needs at least one intermediate");
        }
        if (s.certificate.issuer != Issuer::DeepChain && s.certificate.chain_depth != 0) {
            r.fail("chain_depth", "only for issuer = \"deep-chain\"");
        }
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    if (tls != nullptr) {
        Reader r(*tls, origin, "tls.");
        r.text("min_version", s.tls.min_version);
        r.text("max_version", s.tls.max_version);
        r.text("only_version", s.tls.only_version);
        r.optional_integer("security_level", s.tls.security_level, 0, 5);
        r.text("ciphers", s.tls.ciphers);
        r.boolean("alpn", s.tls.alpn);
        r.text("sigalgs", s.tls.sigalgs);
        r.text("dh_group", s.tls.dh_group);
        r.optional_integer("max_client_sigalgs", s.tls.max_client_sigalgs, 1, 1000);
        std::string sni = "ignore";
        r.text("sni", sni);
        r.reject_unknown();
        if (auto v = enum_from(sni, kSnis)) {
            s.tls.sni = *v;
        } else {
            r.fail("sni", "must be " + enum_names(kSnis));
        }
        if (!s.tls.dh_group.empty() && s.tls.dh_group != "modp1024") {
            r.fail("dh_group", "must be \"modp1024\" (or absent)");
        }
        for (const auto* key : {"min_version", "max_version", "only_version"}) {
            std::string v = key == std::string("min_version")   ? s.tls.min_version
                            : key == std::string("max_version") ? s.tls.max_version
                                                                : s.tls.only_version;
            if (!valid_version(v)) {
                r.fail(key, "must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\"");
            }
        }
        if (!s.tls.min_version.empty() && !s.tls.max_version.empty() &&
            s.tls.min_version > s.tls.max_version) {
            r.fail("min_version", "must not be newer than max_version");
        }
        if (!s.tls.only_version.empty() && s.tls.only_version == "1.3") {
            r.fail("only_version", "an old-server version: 1.0, 1.1 or 1.2");
        }
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    if (tds != nullptr) {
        Reader r(*tds, origin, "tds.");
        std::string to_client, to_server;
        r.text("encryption_to_client", to_client);
        r.text("encryption_to_server", to_server);
        r.boolean("reset_during_handshake", s.tds.reset_during_handshake);
        r.boolean("omit_encryption_option", s.tds.omit_encryption_option);
        r.boolean("strict_only", s.tds.strict_only);
        r.text("route_to_host", s.tds.route_to_host);
        r.reject_unknown();
        if (!s.tds.route_to_host.empty() && !valid_host_name(s.tds.route_to_host)) {
            r.fail("route_to_host", "must be a host name");
        }
        for (auto [key, value, out] :
             {std::tuple{"encryption_to_client", to_client, &s.tds.encryption_to_client},
              std::tuple{"encryption_to_server", to_server, &s.tds.encryption_to_server}}) {
            if (value.empty()) {
                continue;
            }
            auto v = encryption_value(value);
            if (!v) {
                r.fail(key, "must be off, on, not-supported, required, strict or a byte "
                            "(\"0x05\")");
            }
            *out = v;
        }
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    if (postgres != nullptr) {
        Reader r(*postgres, origin, "postgres.");
        r.boolean("refuse_ssl", s.postgres.refuse_ssl);
        r.boolean("strip_channel_binding", s.postgres.strip_channel_binding);
        r.reject_unknown();
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    if (mysql != nullptr) {
        Reader r(*mysql, origin, "mysql.");
        r.boolean("hide_ssl", s.mysql.hide_ssl);
        r.reject_unknown();
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    if (fault != nullptr) {
        Reader r(*fault, origin, "fault.");
        r.boolean("stall_after_client_hello", s.fault.stall_after_client_hello);
        r.integer("handshake_delay_ms", s.fault.handshake_delay_ms, 0, 600000);
        r.boolean("reset_after_server_hello", s.fault.reset_after_server_hello);
        r.reject_unknown();
        int faults = (s.fault.stall_after_client_hello ? 1 : 0) +
                     (s.fault.handshake_delay_ms > 0 ? 1 : 0) +
                     (s.fault.reset_after_server_hello ? 1 : 0);
        if (faults > 1) {
            r.fail(s.fault.reset_after_server_hello ? "reset_after_server_hello"
                                                    : "handshake_delay_ms",
                   "one fault per scenario (stall_after_client_hello, handshake_delay_ms or "
                   "reset_after_server_hello)");
        }
        if (!r.ok()) {
            return std::unexpected(r.error());
        }
    }
    return s;
}

std::expected<Catalogue, std::string> Catalogue::builtin() {
    Catalogue c;
    for (const auto& file : builtin_catalogue_files()) {
        if (auto ok = c.add_text(file.text, "builtin:" + std::string(file.name)); !ok) {
            return std::unexpected(ok.error());
        }
    }
    return c;
}

std::expected<void, std::string> Catalogue::add_text(std::string_view text,
                                                     const std::string& origin) {
    auto s = parse_scenario(text, origin);
    if (!s) {
        return std::unexpected(s.error());
    }
    put(std::move(*s));
    return {};
}

std::expected<void, std::string> Catalogue::add_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return std::unexpected(dir.string() + ": not a directory");
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".toml") {
            files.push_back(entry.path());
        }
    }
    if (ec) {
        return std::unexpected(dir.string() + ": " + ec.message());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        if (!in) {
            return std::unexpected(f.string() + ": cannot read");
        }
        std::stringstream ss;
        ss << in.rdbuf();
        if (auto ok = add_text(ss.str(), f.string()); !ok) {
            return ok;
        }
    }
    return {};
}

void Catalogue::put(Scenario s) {
    for (auto& existing : scenarios_) {
        if (existing.name == s.name) {
            existing = std::move(s);
            return;
        }
    }
    scenarios_.push_back(std::move(s));
}

const Scenario* Catalogue::find(std::string_view name) const {
    for (const auto& s : scenarios_) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

std::vector<std::string> Catalogue::names() const {
    std::vector<std::string> out;
    for (const auto& s : scenarios_) {
        out.push_back(s.name);
    }
    return out;
}

} // namespace scenarios
