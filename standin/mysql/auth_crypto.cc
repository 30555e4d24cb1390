#include <map>
#include <memory>
#include <mutex>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <standin/mysql/auth_crypto.h>

namespace standin::mysql {

namespace {

struct RsaKey {
    EVP_PKEY* key = nullptr;
    std::string public_pem;
};

const RsaKey& process_key() {
    static const RsaKey key = [] {
        RsaKey k;
        k.key = EVP_RSA_gen(2048);
        if (k.key == nullptr) {
            return k;
        }
        BIO* bio = BIO_new(BIO_s_mem());
        if (bio != nullptr && PEM_write_bio_PUBKEY(bio, k.key) == 1) {
            char* data = nullptr;
            long n = BIO_get_mem_data(bio, &data);
            if (n > 0 && data != nullptr) {
                k.public_pem.assign(data, static_cast<std::size_t>(n));
            }
        }
        BIO_free(bio);
        return k;
    }();
    return key;
}

std::mutex& cache_mutex() {
    static std::mutex m;
    return m;
}

std::map<std::string, std::array<std::uint8_t, 32>>& cache() {
    static std::map<std::string, std::array<std::uint8_t, 32>> c;
    return c;
}

std::array<std::uint8_t, 32> double_sha256(std::string_view password) {
    auto once = sha256(as_bytes(password));
    return sha256(once);
}

} // namespace

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::array<std::uint8_t, 20> sha1(std::span<const std::uint8_t> data) {
    std::array<std::uint8_t, 20> out{};
    SHA1(data.data(), data.size(), out.data());
    return out;
}

std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data) {
    std::array<std::uint8_t, 32> out{};
    SHA256(data.data(), data.size(), out.data());
    return out;
}

Bytes random_scramble() {
    Bytes s(20);
    if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) {
        for (std::size_t i = 0; i < s.size(); ++i) {
            s[i] = static_cast<std::uint8_t>(0x41 + i);
        }
    }
    for (auto& b : s) {
        // 0x21..0x7E, then '$' moved off (MySQL keeps '$' out of salts)
        b = static_cast<std::uint8_t>(0x21 + b % 94);
        if (b == '$') {
            b = '%';
        }
    }
    return s;
}

Bytes native_password_response(std::string_view password, std::span<const std::uint8_t> scramble) {
    if (password.empty()) {
        return {};
    }
    auto stage1 = sha1(as_bytes(password));
    auto stage2 = sha1(stage1);
    Bytes joined(scramble.begin(), scramble.end());
    joined.insert(joined.end(), stage2.begin(), stage2.end());
    auto mix = sha1(joined);
    Bytes out(20);
    for (std::size_t i = 0; i < 20; ++i) {
        out[i] = stage1[i] ^ mix[i];
    }
    return out;
}

Bytes caching_sha2_response(std::string_view password, std::span<const std::uint8_t> scramble) {
    if (password.empty()) {
        return {};
    }
    auto stage1 = sha256(as_bytes(password));
    auto stage2 = sha256(stage1);
    Bytes joined(stage2.begin(), stage2.end());
    joined.insert(joined.end(), scramble.begin(), scramble.end());
    auto mix = sha256(joined);
    Bytes out(32);
    for (std::size_t i = 0; i < 32; ++i) {
        out[i] = stage1[i] ^ mix[i];
    }
    return out;
}

bool native_password_matches(std::span<const std::uint8_t> response,
                             std::span<const std::uint8_t> scramble, std::string_view password) {
    if (password.empty()) {
        return response.empty();
    }
    if (response.size() != 20) {
        return false;
    }
    auto expected = native_password_response(password, scramble);
    return CRYPTO_memcmp(expected.data(), response.data(), 20) == 0;
}

bool caching_sha2_matches(std::span<const std::uint8_t> response,
                          std::span<const std::uint8_t> scramble, std::string_view password) {
    if (password.empty()) {
        return response.empty();
    }
    if (response.size() != 32) {
        return false;
    }
    auto expected = caching_sha2_response(password, scramble);
    return CRYPTO_memcmp(expected.data(), response.data(), 32) == 0;
}

const std::string& rsa_public_key_pem() {
    return process_key().public_pem;
}

std::optional<Bytes> rsa_decrypt_oaep(std::span<const std::uint8_t> ciphertext) {
    const auto& k = process_key();
    if (k.key == nullptr || ciphertext.empty()) {
        return std::nullopt;
    }
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(k.key, nullptr), EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1) {
        return std::nullopt;
    }
    std::size_t n = 0;
    if (EVP_PKEY_decrypt(ctx.get(), nullptr, &n, ciphertext.data(), ciphertext.size()) != 1) {
        return std::nullopt;
    }
    Bytes out(n);
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &n, ciphertext.data(), ciphertext.size()) != 1) {
        return std::nullopt;
    }
    out.resize(n);
    return out;
}

bool login_cached(const std::string& user, std::string_view password) {
    std::lock_guard lock(cache_mutex());
    auto it = cache().find(user);
    return it != cache().end() && it->second == double_sha256(password);
}

void cache_login(const std::string& user, std::string_view password) {
    std::lock_guard lock(cache_mutex());
    cache()[user] = double_sha256(password);
}

void forget_cached_logins() {
    std::lock_guard lock(cache_mutex());
    cache().clear();
}

std::string hex_upper(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0F]);
    }
    return out;
}

} // namespace standin::mysql
