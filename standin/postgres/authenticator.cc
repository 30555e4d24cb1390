#include <algorithm>
#include <cstdio>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <pg/scram.h>
#include <standin/postgres/authenticator.h>

namespace standin::postgres {

namespace {

constexpr std::size_t kSaltLength = 16;     // SCRAM_DEFAULT_SALT_LEN
constexpr std::size_t kRawNonceLength = 18; // SCRAM_RAW_NONCE_LEN

// Source locations in auth-scram.c (PostgreSQL 16.4).
constexpr SourceLocation kExchange{"auth-scram.c", 386, "scram_exchange"};
constexpr SourceLocation kExchangeLength{"auth-scram.c", 391, "scram_exchange"};
constexpr SourceLocation kNonceMismatch{"auth-scram.c", 424, "scram_exchange"};
constexpr SourceLocation kReadAttr{"auth-scram.c", 746, "read_attr_value"};
constexpr SourceLocation kReadAttrEquals{"auth-scram.c", 753, "read_attr_value"};
constexpr SourceLocation kReadAnyAttr{"auth-scram.c", 858, "read_any_attr"};
constexpr SourceLocation kReadAnyAttrChar{"auth-scram.c", 872, "read_any_attr"};
constexpr SourceLocation kReadAnyAttrEquals{"auth-scram.c", 881, "read_any_attr"};
constexpr SourceLocation kFirst{"auth-scram.c", 1059, "read_client_first_message"};
constexpr SourceLocation kFirstPlusNoData{"auth-scram.c", 1000, "read_client_first_message"};
constexpr SourceLocation kFirstComma{"auth-scram.c", 997, "read_client_first_message"};
constexpr SourceLocation kFirstNoPlusData{"auth-scram.c", 1040, "read_client_first_message"};
constexpr SourceLocation kFirstCbType{"auth-scram.c", 1051, "read_client_first_message"};
constexpr SourceLocation kFirstAuthzid{"auth-scram.c", 1068, "read_client_first_message"};
constexpr SourceLocation kFirstAttribute{"auth-scram.c", 1074, "read_client_first_message"};
constexpr SourceLocation kFirstExtension{"auth-scram.c", 1089, "read_client_first_message"};
constexpr SourceLocation kFirstNonce{"auth-scram.c", 1103, "read_client_first_message"};
constexpr SourceLocation kFinalCb{"auth-scram.c", 1368, "read_client_final_message"};
constexpr SourceLocation kFinalProof{"auth-scram.c", 1387, "read_client_final_message"};
constexpr SourceLocation kFinalGarbage{"auth-scram.c", 1395, "read_client_final_message"};

std::string sanitize_char(char c) {
    auto u = static_cast<unsigned char>(c);
    char buf[8];
    if (u >= 0x21 && u <= 0x7E) {
        std::snprintf(buf, sizeof buf, "'%c'", c);
    } else {
        std::snprintf(buf, sizeof buf, "0x%02x", u);
    }
    return buf;
}

std::string sanitize_str(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < 30; ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        out.push_back(u >= 0x21 && u <= 0x7E ? s[i] : '?');
    }
    return out;
}

std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
    return out;
}

std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr);
    return out;
}

std::string md5_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < length; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 15]);
    }
    return out;
}

// A cursor over a SCRAM message, reading attributes as auth-scram.c's read_attr_value and
// read_any_attr do (same checks, same errors).
struct AttributeReader {
    std::string_view text;
    std::size_t at = 0;

    char current() const { return at < text.size() ? text[at] : '\0'; }

    std::expected<std::string, ServerError> value_of(char attr) {
        if (current() != attr) {
            return std::unexpected(errors::scram_malformed(std::string("Expected attribute \"") +
                                                               attr + "\" but found \"" +
                                                               sanitize_char(current()) + "\".",
                                                           kReadAttr));
        }
        ++at;
        if (current() != '=') {
            return std::unexpected(errors::scram_malformed(
                std::string("Expected character \"=\" for attribute \"") + attr + "\".",
                kReadAttrEquals));
        }
        ++at;
        return rest_of_value();
    }

    std::expected<std::pair<char, std::string>, ServerError> any() {
        char attr = current();
        if (attr == '\0') {
            return std::unexpected(errors::scram_malformed(
                "Attribute expected, but found end of string.", kReadAnyAttr));
        }
        if (!((attr >= 'A' && attr <= 'Z') || (attr >= 'a' && attr <= 'z'))) {
            return std::unexpected(errors::scram_malformed(
                "Attribute expected, but found invalid character \"" + sanitize_char(attr) + "\".",
                kReadAnyAttrChar));
        }
        ++at;
        if (current() != '=') {
            return std::unexpected(errors::scram_malformed(
                std::string("Expected character \"=\" for attribute \"") + attr + "\".",
                kReadAnyAttrEquals));
        }
        ++at;
        return std::pair<char, std::string>{attr, rest_of_value()};
    }

    std::string rest_of_value() {
        std::size_t start = at;
        while (at < text.size() && text[at] != ',') {
            ++at;
        }
        std::string v(text.substr(start, at - start));
        if (at < text.size()) {
            ++at; // the comma
        }
        return v;
    }
};

std::string b64(std::span<const std::uint8_t> bytes) {
    return pg::scram::base64_encode(bytes);
}

} // namespace

Authenticator::Authenticator(AuthSetup setup) : setup_(std::move(setup)) {
    if (setup_.method == AuthMethod::ScramSha256) {
        salt_.resize(kSaltLength);
        RAND_bytes(salt_.data(), static_cast<int>(salt_.size()));
        std::array<std::uint8_t, 32> salted{};
        PKCS5_PBKDF2_HMAC(setup_.password.data(), static_cast<int>(setup_.password.size()),
                          salt_.data(), static_cast<int>(salt_.size()),
                          static_cast<int>(setup_.scram_iterations), EVP_sha256(),
                          static_cast<int>(salted.size()), salted.data());
        auto client_key = hmac_sha256(salted, "Client Key");
        stored_key_ = sha256(client_key);
        server_key_ = hmac_sha256(salted, "Server Key");
        OPENSSL_cleanse(salted.data(), salted.size());
        OPENSSL_cleanse(client_key.data(), client_key.size());
    }
}

bool Authenticator::channel_binding_offered() const {
    return setup_.tls && !setup_.tls_server_end_point.empty();
}

Authenticator::Step Authenticator::fail(ServerError e) {
    phase_ = Phase::Done;
    Step s;
    s.outcome = Outcome::Failure;
    s.error = std::move(e);
    return s;
}

Authenticator::Step Authenticator::wrong_password() {
    return fail(errors::password_failed(user_));
}

Authenticator::Step Authenticator::start(const std::string& user) {
    user_ = user;
    user_known_ = user == setup_.user;
    Step s;
    switch (setup_.method) {
    case AuthMethod::Trust:
        phase_ = Phase::Done;
        s.outcome = Outcome::Success;
        s.notes.emplace_back("trust authentication");
        return s;
    case AuthMethod::Password:
        phase_ = Phase::AwaitPassword;
        s.messages.push_back(pg::auth_cleartext_password());
        return s;
    case AuthMethod::Md5:
        phase_ = Phase::AwaitPassword;
        RAND_bytes(md5_salt_.data(), static_cast<int>(md5_salt_.size()));
        s.messages.push_back(pg::auth_md5_password(md5_salt_));
        return s;
    case AuthMethod::ScramSha256: {
        phase_ = Phase::AwaitSaslInitial;
        std::vector<std::string> mechanisms;
        if (channel_binding_offered()) {
            mechanisms.emplace_back(pg::scram::kMechanismPlus);
        }
        mechanisms.emplace_back(pg::scram::kMechanism);
        s.messages.push_back(pg::auth_sasl(mechanisms));
        return s;
    }
    }
    return s;
}

Authenticator::Step Authenticator::on_message(const pg::Message& message) {
    switch (phase_) {
    case Phase::AwaitPassword:
        if (message.type != pg::frontend::kPassword) {
            return fail(errors::expected_password(message.type));
        }
        return password_answer(message);
    case Phase::AwaitSaslInitial:
        if (message.type != pg::frontend::kPassword) {
            return fail(errors::expected_sasl(message.type));
        }
        return sasl_initial(message);
    case Phase::AwaitClientFirst:
        if (message.type != pg::frontend::kPassword) {
            return fail(errors::expected_sasl(message.type));
        }
        return client_first(std::string(message.body.begin(), message.body.end()));
    case Phase::AwaitClientFinal:
        if (message.type != pg::frontend::kPassword) {
            return fail(errors::expected_sasl(message.type));
        }
        return client_final(std::string(message.body.begin(), message.body.end()));
    case Phase::Idle:
    case Phase::Done:
        break;
    }
    return fail(errors::invalid_message_type(message.type));
}

Authenticator::Step Authenticator::password_answer(const pg::Message& message) {
    // recv_password_packet: one NUL-terminated string filling the body
    const auto& b = message.body;
    auto nul = std::find(b.begin(), b.end(), std::uint8_t{0});
    if (nul == b.end() || static_cast<std::size_t>(nul - b.begin()) + 1 != b.size()) {
        return fail(errors::invalid_password_packet());
    }
    std::string given(b.begin(), nul);
    if (given.empty()) {
        return fail(errors::empty_password());
    }
    bool ok = false;
    if (setup_.method == AuthMethod::Md5) {
        std::string salt(md5_salt_.begin(), md5_salt_.end());
        std::string expected = "md5" + md5_hex(md5_hex(setup_.password + user_) + salt);
        ok = given.size() == expected.size() &&
             CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
    } else {
        ok = given == setup_.password;
    }
    if (!ok || !user_known_) {
        return wrong_password();
    }
    phase_ = Phase::Done;
    Step s;
    s.outcome = Outcome::Success;
    s.notes.emplace_back(setup_.method == AuthMethod::Md5 ? "md5 password accepted"
                                                          : "cleartext password accepted");
    return s;
}

Authenticator::Step Authenticator::sasl_initial(const pg::Message& message) {
    auto initial = pg::decode_sasl_initial_response(message.body);
    if (!initial) {
        if (initial.error() == pg::Error::Truncated || initial.error() == pg::Error::BadLength) {
            auto e = errors::insufficient_data();
            e.location = {"pqformat.c", 518, "pq_getmsgbytes"};
            return fail(e);
        }
        return fail(errors::invalid_message_format());
    }
    if (initial->mechanism == pg::scram::kMechanismPlus && channel_binding_offered()) {
        binding_in_use_ = true;
    } else if (initial->mechanism == pg::scram::kMechanism) {
        binding_in_use_ = false;
    } else {
        return fail(errors::invalid_sasl_mechanism());
    }
    if (!initial->data) {
        // no initial response: an empty challenge, the client-first comes in a SASLResponse
        phase_ = Phase::AwaitClientFirst;
        Step s;
        s.messages.push_back(pg::auth_sasl_continue({}));
        return s;
    }
    return client_first(std::string(initial->data->begin(), initial->data->end()));
}

Authenticator::Step Authenticator::client_first(const std::string& text) {
    if (text.empty()) {
        return fail(errors::scram_malformed("The message is empty.", kExchange));
    }
    if (text.find('\0') != std::string::npos) {
        return fail(errors::scram_malformed("Message length does not match input length.",
                                            kExchangeLength));
    }
    AttributeReader r{text};
    binding_flag_ = r.current();
    switch (binding_flag_) {
    case 'n':
    case 'y':
        if (binding_in_use_) {
            return fail(errors::scram_malformed(
                "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include "
                "channel binding data.",
                kFirstPlusNoData));
        }
        if (binding_flag_ == 'y' && channel_binding_offered()) {
            return fail(errors::scram_binding_negotiation());
        }
        ++r.at;
        if (r.current() != ',') {
            return fail(errors::scram_malformed("Comma expected, but found character \"" +
                                                    sanitize_char(r.current()) + "\".",
                                                kFirstComma));
        }
        ++r.at;
        break;
    case 'p': {
        if (!binding_in_use_) {
            return fail(errors::scram_malformed(
                "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM "
                "message includes channel binding data.",
                kFirstNoPlusData));
        }
        auto type = r.value_of('p');
        if (!type) {
            return fail(type.error());
        }
        if (*type != pg::scram::kTlsServerEndPoint) {
            return fail(errors::scram_protocol("unsupported SCRAM channel-binding type \"" +
                                                   sanitize_str(*type) + "\"",
                                               "", kFirstCbType));
        }
        break;
    }
    default:
        return fail(errors::scram_malformed(
            "Unexpected channel-binding flag \"" + sanitize_char(binding_flag_) + "\".", kFirst));
    }
    if (r.current() == 'a') {
        return fail(errors::scram_feature(
            "client uses authorization identity, but it is not supported", kFirstAuthzid));
    }
    if (r.current() != ',') {
        return fail(errors::scram_malformed("Unexpected attribute \"" + sanitize_char(r.current()) +
                                                "\" in client-first-message.",
                                            kFirstAttribute));
    }
    ++r.at;
    client_first_bare_ = text.substr(r.at);
    if (r.current() == 'm') {
        return fail(errors::scram_feature("client requires an unsupported SCRAM extension",
                                          kFirstExtension));
    }
    auto user = r.value_of('n');
    if (!user) {
        return fail(user.error());
    }
    auto nonce = r.value_of('r');
    if (!nonce) {
        return fail(nonce.error());
    }
    for (char c : *nonce) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7E || c == ',') {
            return fail(
                errors::scram_protocol("non-printable characters in SCRAM nonce", "", kFirstNonce));
        }
    }
    client_nonce_ = *nonce;
    while (r.at < text.size()) {
        auto extension = r.any();
        if (!extension) {
            return fail(extension.error());
        }
    }

    std::vector<std::uint8_t> raw(kRawNonceLength);
    RAND_bytes(raw.data(), static_cast<int>(raw.size()));
    server_nonce_ = b64(raw);
    std::vector<std::uint8_t> salt = salt_;
    if (!user_known_) {
        // mock salt, deterministic per user name (PostgreSQL hashes the name with a cluster
        // nonce)
        std::string seed = user_ + std::string(salt_.begin(), salt_.end());
        auto digest = sha256(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()));
        salt.assign(digest.begin(), digest.begin() + kSaltLength);
    }
    pg::scram::ServerFirst first;
    first.nonce = client_nonce_ + server_nonce_;
    first.salt = salt;
    first.iterations = setup_.scram_iterations;
    server_first_ = pg::scram::server_first(first);
    phase_ = Phase::AwaitClientFinal;
    Step s;
    s.messages.push_back(pg::auth_sasl_continue(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(server_first_.data()), server_first_.size())));
    if (binding_in_use_) {
        s.notes.emplace_back("client used SCRAM-SHA-256-PLUS (tls-server-end-point)");
    } else {
        s.notes.emplace_back(
            std::string("client used SCRAM-SHA-256 without channel binding (flag '") +
            binding_flag_ + "')");
    }
    return s;
}

Authenticator::Step Authenticator::client_final(const std::string& text) {
    if (text.empty()) {
        return fail(errors::scram_malformed("The message is empty.", kExchange));
    }
    if (text.find('\0') != std::string::npos) {
        return fail(errors::scram_malformed("Message length does not match input length.",
                                            kExchangeLength));
    }
    AttributeReader r{text};
    auto binding = r.value_of('c');
    if (!binding) {
        return fail(binding.error());
    }
    std::vector<std::string> notes;
    if (binding_in_use_) {
        std::string header = "p=tls-server-end-point,,";
        std::vector<std::uint8_t> input(header.begin(), header.end());
        input.insert(input.end(), setup_.tls_server_end_point.begin(),
                     setup_.tls_server_end_point.end());
        if (*binding != b64(input)) {
            auto s = fail(errors::scram_binding_failed());
            s.notes.emplace_back("channel binding check failed: the client bound to another "
                                 "certificate (tls-server-end-point mismatch)");
            return s;
        }
        notes.emplace_back("channel binding matched the certificate shown");
    } else if (!((*binding == "biws" && binding_flag_ == 'n') ||
                 (*binding == "eSws" && binding_flag_ == 'y'))) {
        return fail(errors::scram_protocol(
            "unexpected SCRAM channel-binding attribute in client-final-message", "", kFinalCb));
    }
    auto nonce = r.value_of('r');
    if (!nonce) {
        return fail(nonce.error());
    }
    std::size_t proof_start = 0;
    std::string proof_text;
    while (true) {
        proof_start = r.at;
        auto attr = r.any();
        if (!attr) {
            return fail(attr.error());
        }
        if (attr->first == 'p') {
            proof_text = attr->second;
            break;
        }
    }
    auto proof = pg::scram::base64_decode(proof_text);
    if (!proof || proof->size() != 32) {
        return fail(
            errors::scram_malformed("Malformed proof in client-final-message.", kFinalProof));
    }
    if (r.at < text.size()) {
        return fail(errors::scram_malformed("Garbage found at the end of client-final-message.",
                                            kFinalGarbage));
    }
    if (*nonce != client_nonce_ + server_nonce_) {
        return fail(errors::scram_protocol("invalid SCRAM response", "Nonce does not match.",
                                           kNonceMismatch));
    }
    std::string without_proof = text.substr(0, proof_start == 0 ? 0 : proof_start - 1);
    std::string auth_message = client_first_bare_ + "," + server_first_ + "," + without_proof;
    auto signature = hmac_sha256(stored_key_, auth_message);
    std::array<std::uint8_t, 32> client_key{};
    for (std::size_t i = 0; i < 32; ++i) {
        client_key[i] = static_cast<std::uint8_t>((*proof)[i] ^ signature[i]);
    }
    auto check = sha256(client_key);
    if (CRYPTO_memcmp(check.data(), stored_key_.data(), 32) != 0 || !user_known_) {
        auto s = wrong_password();
        s.notes = notes;
        return s;
    }
    auto server_signature = hmac_sha256(server_key_, auth_message);
    std::string final_message = pg::scram::server_final_verifier(server_signature);
    phase_ = Phase::Done;
    Step s;
    s.outcome = Outcome::Success;
    s.notes = notes;
    s.messages.push_back(pg::auth_sasl_final(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(final_message.data()), final_message.size())));
    return s;
}

std::string_view to_string(AuthMethod m) {
    switch (m) {
    case AuthMethod::Trust:
        return "trust";
    case AuthMethod::Password:
        return "password";
    case AuthMethod::Md5:
        return "md5";
    case AuthMethod::ScramSha256:
        return "scram-sha-256";
    }
    return "?";
}

std::optional<AuthMethod> auth_method_from_name(std::string_view name) {
    for (auto m :
         {AuthMethod::Trust, AuthMethod::Password, AuthMethod::Md5, AuthMethod::ScramSha256}) {
        if (name == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

} // namespace standin::postgres
