#include <openssl/evp.h>
#include <openssl/objects.h>

#include <certs/channel_binding.h>

namespace certs {

std::vector<std::uint8_t> tls_server_end_point(X509* cert) {
    if (cert == nullptr) {
        return {};
    }
    int md_nid = NID_undef;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) != 1) {
        return {};
    }
    if (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef) {
        md_nid = NID_sha256; // RFC 5929 section 4.1 (NID_undef: e.g. Ed25519, as PostgreSQL)
    }
    const EVP_MD* md = EVP_get_digestbynid(md_nid);
    if (md == nullptr) {
        return {};
    }
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (X509_digest(cert, md, out.data(), &len) != 1) {
        return {};
    }
    out.resize(len);
    return out;
}

} // namespace certs
