#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <certs/pem.h>

namespace certs {

namespace {

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

} // namespace

std::string openssl_error() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) {
            out += "; ";
        }
        out += buf;
    }
    return out;
}

std::string to_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    return bio_string(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    return bio_string(bio.get());
}

std::expected<X509Ptr, std::string> cert_from_pem(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return std::unexpected("not a PEM certificate: " + openssl_error());
    }
    return cert;
}

std::expected<std::vector<X509Ptr>, std::string>
certs_from_pem_file(const std::filesystem::path& path) {
    auto text = read_file(path);
    if (!text) {
        return std::unexpected(text.error());
    }
    BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
    std::vector<X509Ptr> out;
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        out.emplace_back(c);
    }
    ERR_clear_error(); // the loop ends on a "no start line" error
    if (out.empty()) {
        return std::unexpected(path.string() + ": no PEM certificate found");
    }
    return out;
}

std::expected<EvpPkeyPtr, std::string> key_from_pem(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        return std::unexpected("not a PEM private key: " + openssl_error());
    }
    return key;
}

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::unexpected(path.string() + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::expected<void, std::string> write_file(const std::filesystem::path& path,
                                            const std::string& data, unsigned mode,
                                            bool exclusive) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
    int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) {
        return std::unexpected(path.string() + ": " + std::strerror(errno));
    }
    // The mode given to open() is filtered by the umask; make it exact.
    ::fchmod(fd, mode);
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::string err = std::strerror(errno);
            ::close(fd);
            return std::unexpected(path.string() + ": " + err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        return std::unexpected(path.string() + ": " + std::strerror(errno));
    }
    return {};
}

} // namespace certs
