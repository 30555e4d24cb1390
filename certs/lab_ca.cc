#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <unistd.h>

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

} // namespace

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
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
        return std::unexpected("state directory " + state_dir.string() + ": " + ec.message());
    }
    std::filesystem::permissions(state_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
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

    CertificateProfile profile;
    profile.common_name = "tlslab lab CA";
    profile.is_ca = true;
    profile.extended_key_usage.clear();
    profile.not_after = kCaLifetime;
    auto made = issue(profile, nullptr, nullptr);
    if (!made) {
        return std::unexpected("creating the lab CA: " + made.error());
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

} // namespace certs
