#include <arpa/inet.h>
#include <array>
#include <optional>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <certs/issuer.h>
#include <certs/pem.h>

namespace certs {

namespace {

constexpr std::size_t kSerialBytes = 16;

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

// ip_range: "10.0.0.0/8" as OpenSSL's nameConstraints syntax wants it, "10.0.0.0/255.0.0.0"
// (for IPv6 the mask written as an address too); nullopt for text that is not a CIDR range.
std::optional<std::string> ip_range(const std::string& cidr) {
    auto slash = cidr.find('/');
    std::string addr = cidr.substr(0, slash);
    bool v6 = addr.find(':') != std::string::npos;
    int bits_max = v6 ? 128 : 32;
    int bits = bits_max;
    if (slash != std::string::npos) {
        std::string b = cidr.substr(slash + 1);
        if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos) {
            return std::nullopt;
        }
        bits = std::stoi(b);
        if (bits > bits_max) {
            return std::nullopt;
        }
    }
    std::array<unsigned char, 16> parsed{};
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), parsed.data()) != 1) {
        return std::nullopt;
    }
    std::array<unsigned char, 16> mask{};
    for (int i = 0; i < bits; ++i) {
        mask[static_cast<std::size_t>(i / 8)] |= static_cast<unsigned char>(0x80U >> (i % 8));
    }
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (inet_ntop(v6 ? AF_INET6 : AF_INET, mask.data(), text.data(), text.size()) == nullptr) {
        return std::nullopt;
    }
    return addr + "/" + text.data();
}

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// set_serial writes 16 random bytes as the DER INTEGER's content, exactly: the first byte
// decides the sign, and is never one a minimal encoding would drop (0x00, or 0xFF before a
// byte with its top bit set).
bool set_serial(X509* cert, SerialShape shape) {
    std::array<unsigned char, 2 + kSerialBytes> der{};
    der[0] = V_ASN1_INTEGER;
    der[1] = static_cast<unsigned char>(kSerialBytes);
    unsigned char* content = der.data() + 2;
    if (RAND_bytes(content, static_cast<int>(kSerialBytes)) != 1) {
        return false;
    }
    switch (shape) {
    case SerialShape::Random:
    case SerialShape::Random16Positive:
        content[0] &= 0x7F; // positive
        content[0] |= 0x01; // and never a leading zero byte
        break;
    case SerialShape::Random16Negative:
        content[0] = static_cast<unsigned char>(0x80 | (content[0] & 0x7E)); // 0x80..0xFE
        break;
    }
    const unsigned char* p = der.data();
    Asn1IntegerPtr serial(d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(der.size())));
    return serial && X509_set_serialNumber(cert, serial.get()) == 1;
}

bool add_common_name(X509_NAME* name, const std::string& cn, bool bmp) {
    const auto* utf8 = reinterpret_cast<const unsigned char*>(cn.c_str());
    if (!bmp) {
        return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, utf8, -1, -1, 0) == 1;
    }
    ASN1_STRING* out = nullptr;
    if (ASN1_mbstring_copy(&out, utf8, static_cast<int>(cn.size()), MBSTRING_UTF8,
                           B_ASN1_BMPSTRING) <= 0) {
        return false;
    }
    Asn1StringPtr owned(out);
    return X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_BMPSTRING,
                                      ASN1_STRING_get0_data(out), ASN1_STRING_length(out), -1,
                                      0) == 1;
}

std::string default_key_usage(const CertificateProfile& profile) {
    if (profile.is_ca) {
        return "keyCertSign,cRLSign,digitalSignature";
    }
    return join(leaf_key_usage(profile.key.type), "");
}

// A private extension no client knows, marked critical: RFC 5280 says to reject the certificate.
bool add_unknown_critical(X509* cert) {
    Asn1ObjectPtr oid(OBJ_txt2obj(kUnknownCriticalExtensionOid, 1));
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    static constexpr unsigned char kDerNull[] = {0x05, 0x00};
    if (!oid || !value || ASN1_OCTET_STRING_set(value.get(), kDerNull, sizeof kDerNull) != 1) {
        return false;
    }
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool add_extensions(X509* cert, const CertificateProfile& profile, X509* issuer_cert) {
    bool self_signed = issuer_cert == nullptr;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, self_signed ? cert : issuer_cert, cert, nullptr, nullptr, 0);
    bool ok = add_ext(cert, &ctx, NID_basic_constraints,
                      profile.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    std::string key_usage =
        profile.key_usage ? join(*profile.key_usage, "") : default_key_usage(profile);
    if (!key_usage.empty()) {
        ok = ok && add_ext(cert, &ctx, NID_key_usage, "critical," + key_usage);
    }
    if (!profile.extended_key_usage.empty()) {
        ok = ok && add_ext(cert, &ctx, NID_ext_key_usage, join(profile.extended_key_usage, ""));
    }
    std::string san = join(profile.dns_names, "DNS:");
    std::string ips = join(profile.ip_addresses, "IP:");
    if (!ips.empty()) {
        san += (san.empty() ? "" : ",") + ips;
    }
    if (!san.empty()) {
        ok = ok && add_ext(cert, &ctx, NID_subject_alt_name, san);
    }
    if (!profile.permitted_dns.empty() || !profile.permitted_ip.empty()) {
        std::string nc = join(profile.permitted_dns, "permitted;DNS:");
        for (const auto& cidr : profile.permitted_ip) {
            auto range = ip_range(cidr);
            if (!range) {
                return false;
            }
            nc += (nc.empty() ? "" : ",") + std::string("permitted;IP:") + *range;
        }
        ok = ok && add_ext(cert, &ctx, NID_name_constraints, "critical," + nc);
    }
    ok = ok && add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    if (!self_signed) {
        ok = ok && add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (profile.unknown_critical_extension) {
        ok = ok && add_unknown_critical(cert);
    }
    return ok;
}

bool signs_without_digest(EVP_PKEY* key) {
    int id = EVP_PKEY_get_base_id(key);
    return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
}

} // namespace

std::vector<std::string> leaf_key_usage(KeyType type) {
    switch (type) {
    case KeyType::Rsa:
        return {"digitalSignature", "keyEncipherment"};
    case KeyType::RsaPss: // a PSS key only signs
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::Ed25519:
        return {"digitalSignature"};
    }
    return {"digitalSignature"};
}

std::expected<EvpPkeyPtr, std::string> generate_key(const KeySpec& spec) {
    EVP_PKEY* key = nullptr;
    switch (spec.type) {
    case KeyType::Rsa:
        key = EVP_RSA_gen(static_cast<unsigned>(spec.rsa_bits));
        break;
    case KeyType::RsaPss: {
        // EVP_PKEY_Q_keygen knows no RSA-PSS in OpenSSL 3.0.
        EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
        if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), spec.rsa_bits) == 1) {
            EVP_PKEY_generate(ctx.get(), &key);
        }
        break;
    }
    case KeyType::EcP256:
        key = EVP_EC_gen("P-256");
        break;
    case KeyType::EcP384:
        key = EVP_EC_gen("P-384");
        break;
    case KeyType::Ed25519:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        break;
    }
    if (key == nullptr) {
        return std::unexpected("key generation failed: " + openssl_error());
    }
    return EvpPkeyPtr(key);
}

std::expected<Credential, std::string> issue(const CertificateProfile& profile, X509* issuer_cert,
                                             EVP_PKEY* issuer_key, const ExistingSubject& subject) {
    EvpPkeyPtr key;
    if (subject.key != nullptr) {
        key = up_ref(subject.key);
    } else {
        auto made = generate_key(profile.key);
        if (!made) {
            return std::unexpected(made.error());
        }
        key = std::move(*made);
    }
    bool self_signed = issuer_cert == nullptr;
    EVP_PKEY* signing_key = self_signed ? key.get() : issuer_key;
    const EVP_MD* md = nullptr;
    if (!signs_without_digest(signing_key)) {
        md = EVP_get_digestbyname(profile.signature_hash.c_str());
        if (md == nullptr) {
            return std::unexpected("unknown signature hash '" + profile.signature_hash + "'");
        }
    }
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    if (!set_serial(cert.get(), profile.serial)) {
        return std::unexpected("serial: " + openssl_error());
    }
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(profile.not_before.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(profile.not_after.count()));
    X509_set_pubkey(cert.get(), key.get());

    if (subject.name != nullptr) {
        X509_set_subject_name(cert.get(), subject.name);
    } else {
        X509_NAME* name = X509_get_subject_name(cert.get());
        if (!profile.organization.empty()) {
            X509_NAME_add_entry_by_txt(
                name, "O", MBSTRING_UTF8,
                reinterpret_cast<const unsigned char*>(profile.organization.c_str()), -1, -1, 0);
        }
        if (!profile.common_name.empty() &&
            !add_common_name(name, profile.common_name, profile.common_name_bmp)) {
            return std::unexpected("common name: " + openssl_error());
        }
    }
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_set_issuer_name(cert.get(), self_signed ? name : X509_get_subject_name(issuer_cert));

    if (profile.extensions && !add_extensions(cert.get(), profile, issuer_cert)) {
        return std::unexpected("certificate extensions: " + openssl_error());
    }
    if (X509_sign(cert.get(), signing_key, md) <= 0) {
        return std::unexpected("signing with " + profile.signature_hash + ": " + openssl_error());
    }
    return Credential{std::move(cert), std::move(key)};
}

} // namespace certs
