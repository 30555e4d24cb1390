#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include <certs/lab_ca.h>
#include <certs/pem.h>

namespace certs {

namespace {

constexpr unsigned kKeyMode = 0600;
constexpr unsigned kCertMode = 0644;
constexpr auto kCaLifetime = std::chrono::days(3650);

// FileLock holds an flock() on a file for its lifetime.
class FileLock {
  public:
    explicit FileLock(const std::filesystem::path& path)
        : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (fd_ >= 0) {
            ::flock(fd_, LOCK_EX);
        }
    }
    ~FileLock() {
        if (fd_ >= 0) {
            ::flock(fd_, LOCK_UN);
            ::close(fd_);
        }
    }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    bool ok() const { return fd_ >= 0; }

  private:
    int fd_;
};

std::expected<Credential, std::string> make_ca(const PermittedNames* names) {
    CertificateProfile profile;
    profile.common_name = names == nullptr ? "tlslab lab CA" : "tlslab lab CA (constrained)";
    profile.is_ca = true;
    profile.extended_key_usage.clear();
    profile.not_after = kCaLifetime;
    if (names != nullptr) {
        for (const auto& n : names->dns) {
            // A wildcard's subtree is its parent: "*.corp.example" -> corp.example, which
            // permits corp.example and every name below it (RFC 5280 4.2.1.10).
            profile.permitted_dns.push_back(n.starts_with("*.") ? n.substr(2) : n);
        }
        profile.permitted_ip = names->ip;
        if (profile.permitted_dns.empty() && profile.permitted_ip.empty()) {
            return std::unexpected("no names to permit");
        }
    }
    auto made = issue(profile, nullptr, nullptr);
    if (!made) {
        return std::unexpected("creating the lab CA: " + made.error());
    }
    return made;
}

std::string ip_text(const ASN1_OCTET_STRING* range) {
    const unsigned char* p = ASN1_STRING_get0_data(range);
    int len = ASN1_STRING_length(range);
    if (len != 8 && len != 32) {
        return "?";
    }
    bool v6 = len == 32;
    int half = len / 2;
    std::array<char, INET6_ADDRSTRLEN> text{};
    inet_ntop(v6 ? AF_INET6 : AF_INET, p, text.data(), text.size());
    int bits = 0;
    for (int i = 0; i < half; ++i) {
        for (int b = 7; b >= 0; --b) {
            bits += (p[half + i] >> b) & 1;
        }
    }
    return std::string(text.data()) + "/" + std::to_string(bits);
}

// make_private_directory: the state directory, created if missing, readable by its owner only.
std::expected<void, std::string> make_private_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return std::unexpected("state directory " + dir.string() + ": " + ec.message());
    }
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    return {};
}

} // namespace

std::optional<PermittedNames> permitted_names(X509* cert) {
    int critical = 0;
    auto* nc = static_cast<NAME_CONSTRAINTS*>(
        X509_get_ext_d2i(cert, NID_name_constraints, &critical, nullptr));
    if (nc == nullptr) {
        return std::nullopt;
    }
    PermittedNames out;
    out.critical = critical == 1;
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
        const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base;
        if (base->type == GEN_DNS) {
            const ASN1_IA5STRING* s = base->d.dNSName;
            out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<std::size_t>(ASN1_STRING_length(s)));
        } else if (base->type == GEN_IPADD) {
            out.ip.push_back(ip_text(base->d.iPAddress));
        }
    }
    NAME_CONSTRAINTS_free(nc);
    return out;
}

std::filesystem::path default_state_dir() {
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
        return std::filesystem::path(xdg) / "tlslab";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return std::filesystem::path(home) / ".local" / "state" / "tlslab";
    }
    return std::filesystem::path(".tlslab-state");
}

std::vector<std::string> local_host_names() {
    std::vector<std::string> names = {"localhost"};
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
        names.emplace_back(host);
        addrinfo hints{};
        hints.ai_flags = AI_CANONNAME;
        addrinfo* res = nullptr;
        if (::getaddrinfo(host, nullptr, &hints, &res) == 0 && res != nullptr) {
            if (res->ai_canonname != nullptr && std::strcmp(res->ai_canonname, host) != 0) {
                names.emplace_back(res->ai_canonname);
            }
            ::freeaddrinfo(res);
        }
    }
    return names;
}

std::expected<LabCa, std::string> LabCa::load_or_create(const std::filesystem::path& state_dir) {
    if (auto made = make_private_directory(state_dir); !made) {
        return std::unexpected(made.error());
    }
    FileLock lock(state_dir / "ca.lock");
    if (!lock.ok()) {
        return std::unexpected("cannot lock " + (state_dir / "ca.lock").string() + ": " +
                               std::strerror(errno));
    }
    LabCa ca;
    ca.cert_path_ = state_dir / "ca.pem";
    auto key_path = state_dir / "ca.key";
    bool have_cert = std::filesystem::exists(ca.cert_path_);
    bool have_key = std::filesystem::exists(key_path);
    if (have_cert != have_key) {
        return std::unexpected("state directory " + state_dir.string() +
                               " holds only one of ca.pem and ca.key: remove it or restore both");
    }
    if (have_cert) {
        auto cert_pem = read_file(ca.cert_path_);
        auto key_pem = read_file(key_path);
        if (!cert_pem || !key_pem) {
            return std::unexpected(!cert_pem ? cert_pem.error() : key_pem.error());
        }
        auto cert = cert_from_pem(*cert_pem);
        auto key = key_from_pem(*key_pem);
        if (!cert || !key) {
            return std::unexpected("lab CA in " + state_dir.string() + ": " +
                                   (!cert ? cert.error() : key.error()));
        }
        if (X509_check_private_key(cert->get(), key->get()) != 1) {
            return std::unexpected("lab CA in " + state_dir.string() +
                                   ": ca.key does not belong to ca.pem");
        }
        ca.cert_ = std::move(*cert);
        ca.key_ = std::move(*key);
        return ca;
    }

    auto made = make_ca(nullptr);
    if (!made) {
        return std::unexpected(made.error());
    }
    // The key first, exclusively and 0600 from the start: it is never world-readable.
    if (auto w = write_file(key_path, to_pem(made->key.get()), kKeyMode, true); !w) {
        return std::unexpected(w.error());
    }
    if (auto w = write_file(ca.cert_path_, to_pem(made->cert.get()), kCertMode, true); !w) {
        return std::unexpected(w.error());
    }
    ca.cert_ = std::move(made->cert);
    ca.key_ = std::move(made->key);
    ca.created_ = true;
    return ca;
}

std::expected<LabCa, std::string> LabCa::constrain(const std::filesystem::path& state_dir,
                                                   const PermittedNames& names) {
    if (auto made = make_private_directory(state_dir); !made) {
        return std::unexpected(made.error());
    }
    FileLock lock(state_dir / "ca.lock");
    if (!lock.ok()) {
        return std::unexpected("cannot lock " + (state_dir / "ca.lock").string() + ": " +
                               std::strerror(errno));
    }
    auto made = make_ca(&names);
    if (!made) {
        return std::unexpected(made.error());
    }
    // Written beside the old files (the key exclusively and 0600 from the start), then renamed
    // over them: a crash leaves the old CA or the new one, never half of each.
    auto key_path = state_dir / "ca.key";
    auto cert_path = state_dir / "ca.pem";
    auto key_new = state_dir / "ca.key.new";
    auto cert_new = state_dir / "ca.pem.new";
    std::error_code ec;
    std::filesystem::remove(key_new, ec);
    std::filesystem::remove(cert_new, ec);
    if (auto w = write_file(key_new, to_pem(made->key.get()), kKeyMode, true); !w) {
        return std::unexpected(w.error());
    }
    if (auto w = write_file(cert_new, to_pem(made->cert.get()), kCertMode, true); !w) {
        std::filesystem::remove(key_new, ec);
        return std::unexpected(w.error());
    }
    std::filesystem::rename(key_new, key_path, ec);
    if (!ec) {
        std::filesystem::rename(cert_new, cert_path, ec);
    }
    if (ec) {
        return std::unexpected("replacing the lab CA in " + state_dir.string() + ": " +
                               ec.message());
    }
    LabCa ca;
    ca.cert_path_ = cert_path;
    ca.cert_ = std::move(made->cert);
    ca.key_ = std::move(made->key);
    ca.created_ = true;
    return ca;
}

} // namespace certs
