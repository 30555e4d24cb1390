#include <array>
#include <cstdio>
#include <ctime>

#include <openssl/asn1.h>
#include <openssl/evp.h>

#include <certs/certificate_info.h>

namespace certs {

namespace {

std::string name_string(X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string iso_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return "";
    }
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string ip_string(const ASN1_OCTET_STRING* ip) {
    const unsigned char* d = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    char buf[64] = {};
    if (len == 4) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
        return buf;
    }
    if (len == 16) {
        std::string out;
        for (int i = 0; i < 16; i += 2) {
            std::snprintf(buf, sizeof buf, "%s%x", i == 0 ? "" : ":", (d[i] << 8) | d[i + 1]);
            out += buf;
        }
        return out;
    }
    return "?";
}

} // namespace

CertificateInfo describe(X509* cert) {
    CertificateInfo info;
    if (cert == nullptr) {
        return info;
    }
    info.subject = name_string(X509_get_subject_name(cert));
    info.issuer = name_string(X509_get_issuer_name(cert));
    info.not_before = iso_time(X509_get0_notBefore(cert));
    info.not_after = iso_time(X509_get0_notAfter(cert));
    // Self-signed: named after itself and signed by its own key. (X509_check_issued would also
    // demand keyCertSign, which a self-signed *leaf* rightly lacks.)
    info.self_signed =
        X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
        X509_verify(cert, X509_get0_pubkey(cert)) == 1;

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (unsigned i = 0; i < md_len; ++i) {
            info.sha256_fingerprint.push_back(kHex[md[i] >> 4]);
            info.sha256_fingerprint.push_back(kHex[md[i] & 0xF]);
        }
    }

    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    GeneralNamesPtr owned(names);
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS) {
            const auto* s = gn->d.dNSName;
            info.subject_alt_names.push_back(
                "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                     static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (gn->type == GEN_IPADD) {
            info.subject_alt_names.push_back("IP:" + ip_string(gn->d.iPAddress));
        }
    }

    if (EVP_PKEY* pk = X509_get0_pubkey(cert)) {
        int id = EVP_PKEY_get_base_id(pk);
        std::string kind = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(id);
        info.key = kind + " " + std::to_string(EVP_PKEY_get_bits(pk));
    }
    info.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));

    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
    for (int i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku); ++i) {
        info.extended_key_usage.emplace_back(OBJ_nid2sn(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i))));
    }
    if (eku != nullptr) {
        EXTENDED_KEY_USAGE_free(eku);
    }
    return info;
}

std::shared_ptr<const CertificateInfo> describe_shared(X509* cert) {
    struct Kept {
        X509Ptr cert;
        std::shared_ptr<const CertificateInfo> info;
    };
    constexpr std::size_t kKept = 8;
    thread_local std::array<Kept, kKept> kept;
    thread_local std::size_t next = 0;
    for (const auto& k : kept) {
        if (k.cert && X509_cmp(k.cert.get(), cert) == 0) {
            return k.info;
        }
    }
    auto info = std::make_shared<const CertificateInfo>(describe(cert));
    X509_up_ref(cert);
    kept[next] = Kept{X509Ptr(cert), info};
    next = (next + 1) % kKept;
    return info;
}

} // namespace certs
