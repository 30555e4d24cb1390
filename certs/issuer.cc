#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <certs/issuer.h>
#include <certs/pem.h>

namespace certs {

namespace {

constexpr int kSerialBytes = 16;

std::string join(const std::vector<std::string>& items, const std::string& prefix) {
    std::string out;
    for (const auto& i : items) {
        if (!out.empty()) {
            out += ",";
        }
        out += prefix + i;
    }
    return out;
}

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool set_random_serial(X509* cert) {
    unsigned char bytes[kSerialBytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return false;
    }
    bytes[0] &= 0x7F; // positive
    bytes[0] |= 0x01; // and never a leading zero byte
    BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

} // namespace

std::expected<EvpPkeyPtr, std::string> generate_key(const KeySpec& spec) {
    EVP_PKEY* key = nullptr;
    switch (spec.type) {
    case KeyType::Rsa:
        key = EVP_RSA_gen(static_cast<unsigned>(spec.rsa_bits));
        break;
    case KeyType::EcP256:
        key = EVP_EC_gen("P-256");
        break;
    case KeyType::EcP384:
        key = EVP_EC_gen("P-384");
        break;
    }
    if (key == nullptr) {
        return std::unexpected("key generation failed: " + openssl_error());
    }
    return EvpPkeyPtr(key);
}

std::expected<Credential, std::string> issue(const CertificateProfile& profile, X509* issuer_cert,
                                             EVP_PKEY* issuer_key) {
    auto key = generate_key(profile.key);
    if (!key) {
        return std::unexpected(key.error());
    }
    const EVP_MD* md = EVP_get_digestbyname(profile.signature_hash.c_str());
    if (md == nullptr) {
        return std::unexpected("unknown signature hash '" + profile.signature_hash + "'");
    }
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    if (!set_random_serial(cert.get())) {
        return std::unexpected("serial: " + openssl_error());
    }
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(profile.not_before.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(profile.not_after.count()));
    X509_set_pubkey(cert.get(), key->get());

    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!profile.organization.empty()) {
        X509_NAME_add_entry_by_txt(
            name, "O", MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(profile.organization.c_str()), -1, -1, 0);
    }
    if (!profile.common_name.empty()) {
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(profile.common_name.c_str()), -1, -1, 0);
    }
    bool self_signed = issuer_cert == nullptr;
    X509_set_issuer_name(cert.get(), self_signed ? name : X509_get_subject_name(issuer_cert));

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, self_signed ? cert.get() : issuer_cert, cert.get(), nullptr, nullptr, 0);
    bool ok = add_ext(cert.get(), &ctx, NID_basic_constraints,
                      profile.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    bool is_rsa = profile.key.type == KeyType::Rsa;
    std::string key_usage = profile.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                            : is_rsa      ? "critical,digitalSignature,keyEncipherment"
                                          : "critical,digitalSignature";
    ok = ok && add_ext(cert.get(), &ctx, NID_key_usage, key_usage);
    if (!profile.extended_key_usage.empty()) {
        ok = ok &&
             add_ext(cert.get(), &ctx, NID_ext_key_usage, join(profile.extended_key_usage, ""));
    }
    std::string san = join(profile.dns_names, "DNS:");
    std::string ips = join(profile.ip_addresses, "IP:");
    if (!ips.empty()) {
        san += (san.empty() ? "" : ",") + ips;
    }
    if (!san.empty()) {
        ok = ok && add_ext(cert.get(), &ctx, NID_subject_alt_name, san);
    }
    ok = ok && add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    if (!self_signed) {
        ok = ok && add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (!ok) {
        return std::unexpected("certificate extensions: " + openssl_error());
    }
    if (X509_sign(cert.get(), self_signed ? key->get() : issuer_key, md) <= 0) {
        return std::unexpected("signing with " + profile.signature_hash + ": " + openssl_error());
    }
    return Credential{std::move(cert), std::move(*key)};
}

} // namespace certs
