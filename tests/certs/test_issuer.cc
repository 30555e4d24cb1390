#include <cstring>
#include <span>

#include <catch2/catch.hpp>

#include <certs/issuer.h>

// The certificate factory's shapes, read back from the DER and through OpenSSL's own parser.

namespace {

using Bytes = std::vector<unsigned char>;

Bytes der_of(X509* cert) {
    int len = i2d_X509(cert, nullptr);
    REQUIRE(len > 0);
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    REQUIRE(i2d_X509(cert, &p) == len);
    return out;
}

// One DER TLV, read as Go's cryptobyte does: short and long definite lengths only.
struct Tlv {
    unsigned char tag = 0;
    std::span<const unsigned char> content;
    std::span<const unsigned char> rest;
};

Tlv read_tlv(std::span<const unsigned char> in) {
    REQUIRE(in.size() >= 2);
    Tlv t;
    t.tag = in[0];
    std::size_t len = in[1];
    std::size_t at = 2;
    if ((len & 0x80) != 0) {
        std::size_t n = len & 0x7F;
        REQUIRE((n >= 1 && n <= 3 && in.size() >= 2 + n));
        len = 0;
        for (std::size_t i = 0; i < n; ++i) {
            len = (len << 8) | in[2 + i];
        }
        at += n;
    }
    REQUIRE(in.size() >= at + len);
    t.content = in.subspan(at, len);
    t.rest = in.subspan(at + len);
    return t;
}

// The serial number's INTEGER content: Certificate -> TBSCertificate -> [0] version -> serial.
Bytes serial_content(X509* cert) {
    Bytes der = der_of(cert);
    auto certificate = read_tlv(der);
    REQUIRE(certificate.tag == 0x30);
    auto tbs = read_tlv(certificate.content);
    REQUIRE(tbs.tag == 0x30);
    auto version = read_tlv(tbs.content);
    REQUIRE(version.tag == 0xA0);
    auto serial = read_tlv(version.rest);
    REQUIRE(serial.tag == 0x02);
    return {serial.content.begin(), serial.content.end()};
}

certs::CertificateProfile leaf_profile() {
    certs::CertificateProfile p;
    p.common_name = "localhost";
    p.dns_names = {"localhost"};
    return p;
}

const certs::Credential& test_ca() {
    static certs::Credential ca = [] {
        certs::CertificateProfile p;
        p.common_name = "issuer test CA";
        p.is_ca = true;
        p.extended_key_usage.clear();
        return *certs::issue(p, nullptr, nullptr);
    }();
    return ca;
}

certs::Credential issue_under_ca(const certs::CertificateProfile& p) {
    auto made = certs::issue(p, test_ca().cert.get(), test_ca().key.get());
    REQUIRE(made);
    return std::move(*made);
}

X509_EXTENSION* extension(X509* cert, int nid) {
    int at = X509_get_ext_by_NID(cert, nid, -1);
    return at < 0 ? nullptr : X509_get_ext(cert, at);
}

// verify: X509_verify_cert against `root` as the only trust anchor, for host localhost.
int verify(X509* leaf, X509* root, const std::vector<X509*>& chain = {}) {
    certs::X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), root);
    certs::X509StackPtr untrusted(sk_X509_new_null());
    for (X509* c : chain) {
        sk_X509_push(untrusted.get(), c);
    }
    certs::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) == 1);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), "localhost", 0);
    int ok = X509_verify_cert(ctx.get());
    return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

} // namespace

TEST_CASE("a random-16-negative serial is a negative DER INTEGER of 16 bytes", "[certs][issuer]") {
    auto p = leaf_profile();
    p.serial = certs::SerialShape::Random16Negative;
    for (int i = 0; i < 8; ++i) {
        auto c = issue_under_ca(p);
        Bytes content = serial_content(c.cert.get());
        REQUIRE(content.size() == 16);
        CHECK((content[0] & 0x80) != 0); // negative: Go's x509 parser refuses it
        CHECK(content[0] != 0xFF);       // minimal: nothing a re-encoding would drop
        // OpenSSL reads it back as negative, and writes the same bytes again.
        CHECK(ASN1_STRING_type(X509_get0_serialNumber(c.cert.get())) == V_ASN1_NEG_INTEGER);
        Bytes der = der_of(c.cert.get());
        const unsigned char* in = der.data();
        certs::X509Ptr again(d2i_X509(nullptr, &in, static_cast<long>(der.size())));
        REQUIRE(again);
        CHECK(der_of(again.get()) == der);
        CHECK(X509_verify(c.cert.get(), X509_get0_pubkey(test_ca().cert.get())) == 1);
    }
}

TEST_CASE("random and random-16-positive serials are positive 16-byte DER INTEGERs",
          "[certs][issuer]") {
    for (auto shape : {certs::SerialShape::Random, certs::SerialShape::Random16Positive}) {
        auto p = leaf_profile();
        p.serial = shape;
        for (int i = 0; i < 8; ++i) {
            auto c = issue_under_ca(p);
            Bytes content = serial_content(c.cert.get());
            REQUIRE(content.size() == 16);
            CHECK((content[0] & 0x80) == 0);
            CHECK(content[0] != 0x00);
            CHECK(ASN1_STRING_type(X509_get0_serialNumber(c.cert.get())) == V_ASN1_INTEGER);
        }
    }
}

TEST_CASE("key types: RSA-PSS, Ed25519, EC and RSA 4096 keys, signed as the issuer's key needs",
          "[certs][issuer]") {
    SECTION("an RSA-PSS leaf under an RSA CA: id-RSASSA-PSS key, sha256WithRSAEncryption") {
        auto p = leaf_profile();
        p.key.type = certs::KeyType::RsaPss;
        auto c = issue_under_ca(p);
        EVP_PKEY* key = X509_get0_pubkey(c.cert.get());
        CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS);
        CHECK(EVP_PKEY_get_bits(key) == 2048);
        CHECK(X509_get_signature_nid(c.cert.get()) == NID_sha256WithRSAEncryption);
        CHECK(X509_get_key_usage(c.cert.get()) == KU_DIGITAL_SIGNATURE); // PSS keys only sign
        CHECK(verify(c.cert.get(), test_ca().cert.get()) == X509_V_OK);
    }
    SECTION("a self-signed RSA-PSS certificate is signed with RSASSA-PSS") {
        auto p = leaf_profile();
        p.key.type = certs::KeyType::RsaPss;
        auto c = certs::issue(p, nullptr, nullptr);
        REQUIRE(c);
        CHECK(X509_get_signature_nid(c->cert.get()) == NID_rsassaPss);
        CHECK(X509_verify(c->cert.get(), X509_get0_pubkey(c->cert.get())) == 1);
    }
    SECTION("Ed25519: under an RSA CA with SHA-256; self-signed without a digest") {
        auto p = leaf_profile();
        p.key.type = certs::KeyType::Ed25519;
        auto c = issue_under_ca(p);
        CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(c.cert.get())) == EVP_PKEY_ED25519);
        CHECK(X509_get_signature_nid(c.cert.get()) == NID_sha256WithRSAEncryption);
        CHECK(verify(c.cert.get(), test_ca().cert.get()) == X509_V_OK);
        auto self = certs::issue(p, nullptr, nullptr);
        REQUIRE(self);
        CHECK(X509_get_signature_nid(self->cert.get()) == NID_ED25519);
        CHECK(X509_verify(self->cert.get(), X509_get0_pubkey(self->cert.get())) == 1);
    }
    SECTION("EC P-384 and RSA 4096") {
        auto p = leaf_profile();
        p.key.type = certs::KeyType::EcP384;
        auto ec = issue_under_ca(p);
        CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(ec.cert.get())) == EVP_PKEY_EC);
        CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(ec.cert.get())) == 384);
        p.key.type = certs::KeyType::Rsa;
        p.key.rsa_bits = 4096;
        auto rsa = issue_under_ca(p);
        CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(rsa.cert.get())) == 4096);
    }
}

TEST_CASE("extensions: basic constraints, key usage and an unknown critical extension",
          "[certs][issuer]") {
    SECTION("a default RSA leaf: CA:FALSE and digitalSignature+keyEncipherment, both critical") {
        auto c = issue_under_ca(leaf_profile());
        X509_EXTENSION* bc = extension(c.cert.get(), NID_basic_constraints);
        REQUIRE(bc != nullptr);
        CHECK(X509_EXTENSION_get_critical(bc) == 1);
        CHECK(X509_check_ca(c.cert.get()) == 0);
        X509_EXTENSION* ku = extension(c.cert.get(), NID_key_usage);
        REQUIRE(ku != nullptr);
        CHECK(X509_EXTENSION_get_critical(ku) == 1);
        CHECK(X509_get_key_usage(c.cert.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
        CHECK(extension(c.cert.get(), NID_name_constraints) == nullptr);
    }
    SECTION("a leaf that says CA:TRUE, with a leaf's key usage, still verifies") {
        auto p = leaf_profile();
        p.is_ca = true;
        p.key_usage = certs::leaf_key_usage(p.key.type);
        auto c = issue_under_ca(p);
        auto* bc = static_cast<BASIC_CONSTRAINTS*>(
            X509_get_ext_d2i(c.cert.get(), NID_basic_constraints, nullptr, nullptr));
        REQUIRE(bc != nullptr);
        CHECK(bc->ca != 0);
        BASIC_CONSTRAINTS_free(bc);
        // OpenSSL calls it no CA (a keyUsage without keyCertSign), and verifies it as a leaf.
        CHECK(X509_check_ca(c.cert.get()) == 0);
        CHECK(X509_get_key_usage(c.cert.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
        CHECK(verify(c.cert.get(), test_ca().cert.get()) == X509_V_OK);
    }
    SECTION("key usage given: exactly that; empty: no keyUsage extension") {
        auto p = leaf_profile();
        p.key_usage = std::vector<std::string>{"keyEncipherment"};
        auto c = issue_under_ca(p);
        CHECK(X509_get_key_usage(c.cert.get()) == KU_KEY_ENCIPHERMENT);
        p.key_usage = std::vector<std::string>{};
        auto none = issue_under_ca(p);
        CHECK(extension(none.cert.get(), NID_key_usage) == nullptr);
        CHECK(extension(none.cert.get(), NID_basic_constraints) != nullptr);
    }
    SECTION("the unknown critical extension: the private OID, critical, a DER NULL") {
        auto p = leaf_profile();
        auto plain = issue_under_ca(p);
        CHECK(verify(plain.cert.get(), test_ca().cert.get()) == X509_V_OK);
        p.unknown_critical_extension = true;
        auto c = issue_under_ca(p);
        certs::Asn1ObjectPtr oid(OBJ_txt2obj(certs::kUnknownCriticalExtensionOid, 1));
        int at = X509_get_ext_by_OBJ(c.cert.get(), oid.get(), -1);
        REQUIRE(at >= 0);
        X509_EXTENSION* ext = X509_get_ext(c.cert.get(), at);
        CHECK(X509_EXTENSION_get_critical(ext) == 1);
        ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
        REQUIRE(ASN1_STRING_length(value) == 2);
        CHECK(std::memcmp(ASN1_STRING_get0_data(value), "\x05\x00", 2) == 0);
        CHECK(verify(c.cert.get(), test_ca().cert.get()) ==
              X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
    }
}

TEST_CASE("no extensions and a BMPString CN: SQL Server's fallback certificate shape",
          "[certs][issuer]") {
    certs::CertificateProfile p;
    p.common_name = "SSL_Self_Signed_Fallback";
    p.common_name_bmp = true;
    p.organization.clear();
    p.extensions = false;
    p.not_before = std::chrono::seconds(0);
    p.not_after = std::chrono::days(10957);
    auto c = certs::issue(p, nullptr, nullptr);
    REQUIRE(c);
    CHECK(X509_get_version(c->cert.get()) == X509_VERSION_3);
    CHECK(X509_get_ext_count(c->cert.get()) == 0);
    X509_NAME* subject = X509_get_subject_name(c->cert.get());
    REQUIRE(X509_NAME_entry_count(subject) == 1);
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, 0));
    CHECK(ASN1_STRING_type(cn) == V_ASN1_BMPSTRING);
    CHECK(ASN1_STRING_length(cn) == 48); // 24 characters of UTF-16
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, cn);
    REQUIRE(len > 0);
    CHECK(std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len)) ==
          "SSL_Self_Signed_Fallback");
    OPENSSL_free(utf8);
    CHECK(X509_NAME_cmp(subject, X509_get_issuer_name(c->cert.get())) == 0);
    CHECK(verify(c->cert.get(), test_ca().cert.get()) == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
}

TEST_CASE("name constraints on a CA: a leaf outside the permitted DNS subtree fails",
          "[certs][issuer]") {
    certs::CertificateProfile ca = leaf_profile();
    ca.common_name = "constrained intermediate";
    ca.dns_names.clear();
    ca.is_ca = true;
    ca.extended_key_usage.clear();
    ca.permitted_dns = {"permitted.example"};
    auto intermediate = issue_under_ca(ca);
    X509_EXTENSION* nc = extension(intermediate.cert.get(), NID_name_constraints);
    REQUIRE(nc != nullptr);
    CHECK(X509_EXTENSION_get_critical(nc) == 1);

    auto inside = leaf_profile();
    inside.common_name = "db.permitted.example";
    inside.dns_names = {"db.permitted.example"};
    auto ok = certs::issue(inside, intermediate.cert.get(), intermediate.key.get());
    REQUIRE(ok);
    {
        certs::X509StorePtr store(X509_STORE_new());
        X509_STORE_add_cert(store.get(), test_ca().cert.get());
        certs::X509StackPtr untrusted(sk_X509_new_null());
        sk_X509_push(untrusted.get(), intermediate.cert.get());
        certs::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
        REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), ok->cert.get(), untrusted.get()) == 1);
        CHECK(X509_verify_cert(ctx.get()) == 1);
    }
    auto outside = certs::issue(leaf_profile(), intermediate.cert.get(), intermediate.key.get());
    REQUIRE(outside);
    CHECK(verify(outside->cert.get(), test_ca().cert.get(), {intermediate.cert.get()}) ==
          X509_V_ERR_PERMITTED_VIOLATION);
}

TEST_CASE("validity to the second: 60 s and -1 s from now", "[certs][issuer]") {
    auto p = leaf_profile();
    p.not_after = std::chrono::seconds(60);
    auto c = issue_under_ca(p);
    int days = 0;
    int seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(c.cert.get())) == 1);
    CHECK(days == 0);
    CHECK(seconds >= 58);
    CHECK(seconds <= 60);
    CHECK(verify(c.cert.get(), test_ca().cert.get()) == X509_V_OK);
    p.not_after = std::chrono::seconds(-1);
    auto expired = issue_under_ca(p);
    CHECK(verify(expired.cert.get(), test_ca().cert.get()) == X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("an existing subject: a cross certificate keeps the CA's name and key",
          "[certs][issuer]") {
    certs::CertificateProfile root;
    root.common_name = "other root";
    root.is_ca = true;
    root.extended_key_usage.clear();
    auto other = certs::issue(root, nullptr, nullptr);
    REQUIRE(other);
    auto cross = certs::issue(root, test_ca().cert.get(), test_ca().key.get(),
                              {other->key.get(), X509_get_subject_name(other->cert.get())});
    REQUIRE(cross);
    CHECK(X509_NAME_cmp(X509_get_subject_name(cross->cert.get()),
                        X509_get_subject_name(other->cert.get())) == 0);
    CHECK(EVP_PKEY_eq(X509_get0_pubkey(cross->cert.get()), other->key.get()) == 1);
    // A leaf of the other root verifies against the test CA through the cross certificate.
    auto leaf = certs::issue(leaf_profile(), other->cert.get(), other->key.get());
    REQUIRE(leaf);
    CHECK(verify(leaf->cert.get(), test_ca().cert.get(), {cross->cert.get()}) == X509_V_OK);
    CHECK(verify(leaf->cert.get(), test_ca().cert.get()) ==
          X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}
