// analyse_chain: the certificates as sent, each described, the chain verified against a store
// with every error collected (not only the first), and the name checked in its variants.

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstdio>
#include <ctime>

#include <openssl/err.h>

#include <proxy/app/diagnose/diagnosis.h>

namespace proxy::app::diagnose {

namespace {

using StackX509Ptr =
    std::unique_ptr<STACK_OF(X509),
                    decltype([](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); })>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, certs::OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string upper(std::string s) {
    std::ranges::transform(s, s.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string name_text(const X509_NAME* name) {
    certs::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
        return "";
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string common_name(const X509_NAME* name) {
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0) {
        return "";
    }
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) {
        return "";
    }
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

long long unix_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return static_cast<long long>(timegm(&tm));
}

std::string iso_time(long long t) {
    auto tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    int len = ASN1_STRING_length(ip);
    const unsigned char* d = ASN1_STRING_get0_data(ip);
    if (len == 4) {
        inet_ntop(AF_INET, d, buf, sizeof buf);
    } else if (len == 16) {
        inet_ntop(AF_INET6, d, buf, sizeof buf);
    } else {
        return "(bad IP entry)";
    }
    return buf;
}

std::string obj_name(const ASN1_OBJECT* o) {
    int nid = OBJ_obj2nid(o);
    if (nid != NID_undef) {
        return OBJ_nid2sn(nid);
    }
    char buf[128];
    OBJ_obj2txt(buf, sizeof buf, o, 1);
    return buf;
}

std::string hex(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

CertificateFacts describe(X509* x, long long now) {
    CertificateFacts f;
    f.subject = name_text(X509_get_subject_name(x));
    f.issuer = name_text(X509_get_issuer_name(x));
    f.common_name = common_name(X509_get_subject_name(x));
    f.sql_server_fallback = f.common_name == "SSL_Self_Signed_Fallback";
    if (auto* sans = static_cast<GENERAL_NAMES*>(
            X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
        certs::GeneralNamesPtr owned(sans);
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
            if (gn->type == GEN_DNS) {
                const ASN1_STRING* s = gn->d.dNSName;
                f.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s)));
            } else if (gn->type == GEN_IPADD) {
                f.ip_addresses.push_back(ip_text(gn->d.iPAddress));
            }
        }
    }
    long long nb = unix_time(X509_get0_notBefore(x));
    long long na = unix_time(X509_get0_notAfter(x));
    f.not_before = iso_time(nb);
    f.not_after = iso_time(na);
    f.seconds_left = na - now;
    f.expired = na < now;
    f.not_yet_valid = nb > now;
    f.self_signed = X509_self_signed(x, 1) == 1;
    std::uint32_t flags = X509_get_extension_flags(x);
    f.is_ca = (flags & EXFLAG_CA) != 0;
    if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
            X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr))) {
        f.has_eku = true;
        for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
            f.extended_key_usage.push_back(obj_name(sk_ASN1_OBJECT_value(eku, i)));
        }
        EXTENDED_KEY_USAGE_free(eku);
    }
    std::uint32_t ku = X509_get_key_usage(x);
    if (ku != UINT32_MAX) {
        f.has_key_usage = true;
        static const std::pair<std::uint32_t, const char*> kBits[] = {
            {KU_DIGITAL_SIGNATURE, "digitalSignature"},
            {KU_NON_REPUDIATION, "nonRepudiation"},
            {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
            {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
            {KU_KEY_AGREEMENT, "keyAgreement"},
            {KU_KEY_CERT_SIGN, "keyCertSign"},
            {KU_CRL_SIGN, "cRLSign"},
            {KU_ENCIPHER_ONLY, "encipherOnly"},
            {KU_DECIPHER_ONLY, "decipherOnly"},
        };
        for (const auto& [bit, name] : kBits) {
            if ((ku & bit) != 0) {
                f.key_usage.emplace_back(name);
            }
        }
    }
    for (int i = 0; i < X509_get_ext_count(x); ++i) {
        X509_EXTENSION* ext = X509_get_ext(x, i);
        if (X509_EXTENSION_get_critical(ext) != 0 && X509_supported_extension(ext) == 0) {
            char buf[128];
            OBJ_obj2txt(buf, sizeof buf, X509_EXTENSION_get_object(ext), 1);
            f.unknown_critical_extensions.emplace_back(buf);
        }
    }
    f.has_name_constraints = X509_get_ext_by_NID(x, NID_name_constraints, -1) >= 0;
    if (EVP_PKEY* key = X509_get0_pubkey(x)) {
        f.key_bits = EVP_PKEY_get_bits(key);
        switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            f.key_type = "RSA";
            break;
        case EVP_PKEY_RSA_PSS:
            f.key_type = "RSA-PSS";
            break;
        case EVP_PKEY_EC: {
            f.key_type = "EC";
            char group[80] = {};
            std::size_t glen = 0;
            if (EVP_PKEY_get_group_name(key, group, sizeof group, &glen) == 1) {
                f.curve = group;
            }
            break;
        }
        case EVP_PKEY_ED25519:
            f.key_type = "Ed25519";
            break;
        case EVP_PKEY_ED448:
            f.key_type = "Ed448";
            break;
        case EVP_PKEY_DSA:
            f.key_type = "DSA";
            break;
        default:
            f.key_type = "other";
            break;
        }
    }
    int md = NID_undef;
    int pk = NID_undef;
    if (X509_get_signature_info(x, &md, &pk, nullptr, nullptr) == 1) {
        f.signature_hash =
            md == NID_undef ? (pk == NID_undef ? "" : std::string("none (") + OBJ_nid2sn(pk) + ")")
                            : upper(OBJ_nid2sn(md));
    } else {
        int sig = X509_get_signature_nid(x);
        f.signature_hash = sig == NID_undef ? "" : OBJ_nid2sn(sig);
    }
    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    f.serial_negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    f.serial_hex =
        (f.serial_negative ? "-" : "") +
        hex(ASN1_STRING_get0_data(serial), static_cast<std::size_t>(ASN1_STRING_length(serial)));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (X509_digest(x, EVP_sha256(), digest, &dlen) == 1) {
        f.sha256 = lower(hex(digest, dlen));
    }
    return f;
}

// Every verification error, not only the first: the callback records and goes on.
struct VerifyLog {
    std::vector<VerifyError> errors;
};
int g_verify_log_index = -1;

int record_error(int ok, X509_STORE_CTX* ctx) {
    if (ok == 0) {
        auto* log = static_cast<VerifyLog*>(X509_STORE_CTX_get_ex_data(ctx, g_verify_log_index));
        int code = X509_STORE_CTX_get_error(ctx);
        VerifyError e;
        e.depth = X509_STORE_CTX_get_error_depth(ctx);
        e.code = code;
        e.text = X509_verify_cert_error_string(code);
        if (X509* cur = X509_STORE_CTX_get_current_cert(ctx)) {
            e.subject = name_text(X509_get_subject_name(cur));
        }
        if (log != nullptr && std::ranges::none_of(log->errors, [&](const VerifyError& o) {
                return o.code == e.code && o.depth == e.depth;
            })) {
            log->errors.push_back(std::move(e));
        }
    }
    return 1; // go on: we want every error
}

bool is_ip(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool wildcard_match(const std::string& pattern, const std::string& name) {
    if (!pattern.starts_with("*.")) {
        return false;
    }
    auto dot = name.find('.');
    return dot != std::string::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
}

NameMatch match_name(const CertificateFacts& leaf, const std::string& raw) {
    std::string name = lower(raw);
    bool ip = is_ip(name);
    bool cn_names = lower(leaf.common_name) == name;
    if (ip) {
        if (std::ranges::find(leaf.ip_addresses, name) != leaf.ip_addresses.end()) {
            return NameMatch::San;
        }
        if (leaf.ip_addresses.empty() && leaf.dns_names.empty()) {
            return cn_names ? NameMatch::CnOnly : NameMatch::None;
        }
        return cn_names ? NameMatch::CnRightSanWrong : NameMatch::None;
    }
    for (const auto& d : leaf.dns_names) {
        if (lower(d) == name) {
            return NameMatch::San;
        }
    }
    for (const auto& d : leaf.dns_names) {
        if (wildcard_match(lower(d), name)) {
            return NameMatch::Wildcard;
        }
    }
    if (leaf.dns_names.empty()) {
        return cn_names ? NameMatch::CnOnly : NameMatch::None;
    }
    return cn_names ? NameMatch::CnRightSanWrong : NameMatch::None;
}

bool store_has_subject(X509_STORE* store, const X509_NAME* name) {
    STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); ++i) {
        X509* c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (c != nullptr && X509_NAME_cmp(X509_get_subject_name(c), name) == 0) {
            return true;
        }
    }
    // The system store may be a hashed directory (not preloaded): ask it.
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store, nullptr, nullptr) != 1) {
        return false;
    }
    X509_OBJECT* obj =
        X509_STORE_CTX_get_obj_by_subject(ctx.get(), X509_LU_X509, const_cast<X509_NAME*>(name));
    bool found = obj != nullptr;
    X509_OBJECT_free(obj);
    return found;
}

} // namespace

std::vector<std::pair<std::string, std::string>> name_variants(const std::string& server_name,
                                                               const std::string& host) {
    std::vector<std::pair<std::string, std::string>> out;
    auto add = [&](std::string n, std::string kind) {
        if (n.empty()) {
            return;
        }
        n = lower(n);
        if (std::ranges::none_of(out, [&](const auto& p) { return p.first == n; })) {
            out.emplace_back(std::move(n), std::move(kind));
        }
    };
    add(server_name, "given");
    if (!is_ip(server_name)) {
        auto dot = server_name.find('.');
        if (dot != std::string::npos && dot > 0) {
            add(server_name.substr(0, dot), "short");
        }
    }
    if (is_ip(host)) {
        add(host, "ip");
    }
    return out;
}

ChainFacts analyse_chain(const std::vector<std::vector<std::uint8_t>>& chain, X509_STORE* store,
                         std::string trust_source, const std::string& server_name,
                         const std::string& host, long long now) {
    ChainFacts out;
    out.trust_source = std::move(trust_source);
    std::vector<certs::X509Ptr> certs_sent;
    for (const auto& der : chain) {
        const unsigned char* p = der.data();
        certs::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
        if (!x) {
            ERR_clear_error();
            CertificateFacts bad;
            bad.subject = "(a certificate OpenSSL cannot parse)";
            out.sent.push_back(bad);
            continue;
        }
        out.sent.push_back(describe(x.get(), now));
        certs_sent.push_back(std::move(x));
    }
    if (certs_sent.empty()) {
        return out;
    }
    out.present = true;
    X509* leaf = certs_sent.front().get();
    for (std::size_t i = 1; i < certs_sent.size(); ++i) {
        if (X509_check_issued(certs_sent[i].get(), leaf) == X509_V_OK) {
            out.leaf_issuer_sent = true;
        }
    }
    // Names: the given name and its variants, plus the FQDN a short name stands for when the
    // certificate names one ("sql01" -> "sql01.corp.example").
    auto variants = name_variants(server_name, host);
    const CertificateFacts& lf = out.sent.front();
    if (!is_ip(server_name) && server_name.find('.') == std::string::npos) {
        for (const auto& d : lf.dns_names) {
            if (lower(d).starts_with(lower(server_name) + ".")) {
                variants.emplace_back(lower(d), "fqdn");
                break;
            }
        }
    }
    for (const auto& [n, kind] : variants) {
        out.names.push_back({n, kind, match_name(lf, n)});
    }
    if (store == nullptr) {
        return out;
    }
    out.leaf_issuer_trusted = store_has_subject(store, X509_get_issuer_name(leaf));
    StackX509Ptr untrusted(sk_X509_new_null());
    for (std::size_t i = 1; i < certs_sent.size(); ++i) {
        sk_X509_push(untrusted.get(), certs::up_ref(certs_sent[i].get()).release());
    }
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (g_verify_log_index < 0) {
        g_verify_log_index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    }
    VerifyLog log;
    if (ctx && X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted.get()) == 1) {
        X509_STORE_CTX_set_ex_data(ctx.get(), g_verify_log_index, &log);
        X509_STORE_CTX_set_verify_cb(ctx.get(), record_error);
        X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
        X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
        X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
        X509_VERIFY_PARAM_set_auth_level(param, 0); // key sizes and hashes are judged apart
        int rc = X509_verify_cert(ctx.get());
        if (STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get())) {
            for (int i = 0; i < sk_X509_num(built); ++i) {
                X509* on = sk_X509_value(built, i);
                out.verified_path.push_back(name_text(X509_get_subject_name(on)));
                for (std::size_t k = 0; k < certs_sent.size(); ++k) {
                    if (X509_cmp(on, certs_sent[k].get()) == 0) {
                        out.sent[k].on_path = true;
                    }
                }
            }
        }
        out.trusted = rc == 1 && log.errors.empty();
    }
    ERR_clear_error();
    out.verify_errors = std::move(log.errors);
    return out;
}

std::string_view to_string(NameMatch m) {
    switch (m) {
    case NameMatch::San:
        return "san";
    case NameMatch::Wildcard:
        return "wildcard";
    case NameMatch::CnOnly:
        return "cn-only";
    case NameMatch::CnRightSanWrong:
        return "cn-right-san-wrong";
    case NameMatch::None:
        return "none";
    }
    return "none";
}

} // namespace proxy::app::diagnose
