#include <algorithm>

#include <standin/mysql/authenticator.h>

namespace standin::mysql {

namespace {

constexpr std::uint8_t kMoreData = 0x01;
constexpr std::uint8_t kFastAuthSuccess = 0x03;
constexpr std::uint8_t kPerformFullAuth = 0x04;
constexpr std::uint8_t kRequestPublicKey = 0x02;
constexpr std::uint8_t kAuthSwitch = 0xFE;

// The password a client sent NUL-terminated (the NUL and anything after it dropped).
std::string until_nul(std::span<const std::uint8_t> payload) {
    auto end = std::find(payload.begin(), payload.end(), std::uint8_t{0});
    return {payload.begin(), end};
}

Bytes auth_switch(AuthPlugin plugin, const Bytes& scramble) {
    Bytes out{kAuthSwitch};
    auto name = to_string(plugin);
    out.insert(out.end(), name.begin(), name.end());
    out.push_back(0);
    out.insert(out.end(), scramble.begin(), scramble.end());
    out.push_back(0);
    return out;
}

} // namespace

Authenticator::Authenticator(AuthSetup setup) : setup_(std::move(setup)) {}

Authenticator::Step Authenticator::start(const std::string& user, const std::string& client_plugin,
                                         std::span<const std::uint8_t> response) {
    user_ = user;
    auto client = auth_plugin_from_name(client_plugin);
    if (client && *client == setup_.account_plugin) {
        return check(*client, response);
    }
    // The account's plugin differs from the client's choice: AuthSwitchRequest.
    switch (setup_.flavour) {
    case Flavour::Mysql80:
        setup_.scramble = random_scramble();
        break;
    case Flavour::Mariadb114:
        if (setup_.account_plugin != AuthPlugin::NativePassword) {
            setup_.scramble = random_scramble();
        }
        break;
    }
    Step step;
    step.payloads.push_back(auth_switch(setup_.account_plugin, setup_.scramble));
    step.notes.push_back("client offered " + (client_plugin.empty() ? "no plugin" : client_plugin) +
                         "; switched to " + std::string(to_string(setup_.account_plugin)));
    phase_ = Phase::AwaitSwitchReply;
    return step;
}

Authenticator::Step Authenticator::on_packet(std::span<const std::uint8_t> payload) {
    switch (phase_) {
    case Phase::AwaitSwitchReply:
        return check(setup_.account_plugin, payload);
    case Phase::AwaitFullAuth:
        if (setup_.tls) {
            clear_ = true;
            return full_password(until_nul(payload));
        }
        if (payload.size() == 1 && payload[0] == kRequestPublicKey) {
            Step step;
            Bytes key{kMoreData};
            const auto& pem = rsa_public_key_pem();
            key.insert(key.end(), pem.begin(), pem.end());
            step.payloads.push_back(std::move(key));
            step.notes.push_back("caching_sha2_password: the client asked for the RSA public key");
            phase_ = Phase::AwaitRsa;
            return step;
        }
        [[fallthrough]];
    case Phase::AwaitRsa: {
        auto plain = rsa_decrypt_oaep(payload);
        if (!plain) {
            password_used_ = true;
            Step step;
            step.notes.push_back("caching_sha2_password: the RSA-encrypted password did not "
                                 "decrypt");
            return failure(std::move(step));
        }
        for (std::size_t i = 0; i < plain->size() && !setup_.scramble.empty(); ++i) {
            (*plain)[i] ^= setup_.scramble[i % setup_.scramble.size()];
        }
        return full_password(until_nul(*plain));
    }
    case Phase::Idle:
    case Phase::Done:
        break;
    }
    return failure();
}

Authenticator::Step Authenticator::check(AuthPlugin plugin,
                                         std::span<const std::uint8_t> response) {
    Step step;
    switch (plugin) {
    case AuthPlugin::NativePassword:
        password_used_ = !response.empty();
        if (user_known() && native_password_matches(response, setup_.scramble, setup_.password)) {
            return success();
        }
        return failure();
    case AuthPlugin::ClearPassword: {
        clear_ = true;
        auto password = until_nul(response);
        password_used_ = !password.empty();
        if (user_known() && password == setup_.password) {
            return success();
        }
        return failure();
    }
    case AuthPlugin::CachingSha2:
        password_used_ = !response.empty();
        if (response.empty()) {
            if (user_known() && setup_.password.empty()) {
                return success();
            }
            return failure();
        }
        if (user_known() && login_cached(user_, setup_.password) &&
            caching_sha2_matches(response, setup_.scramble, setup_.password)) {
            step.payloads.push_back(Bytes{kMoreData, kFastAuthSuccess});
            step.notes.push_back("caching_sha2_password: fast authentication");
            return success(std::move(step));
        }
        step.payloads.push_back(Bytes{kMoreData, kPerformFullAuth});
        step.notes.push_back(std::string("caching_sha2_password: full authentication") +
                             (setup_.tls ? " (password in clear inside TLS)" : " (no TLS)"));
        phase_ = Phase::AwaitFullAuth;
        return step;
    }
    return failure();
}

Authenticator::Step Authenticator::full_password(std::string_view password) {
    password_used_ = !password.empty();
    if (user_known() && password == setup_.password) {
        cache_login(user_, password);
        return success();
    }
    return failure();
}

Authenticator::Step Authenticator::success(Step step) {
    phase_ = Phase::Done;
    step.outcome = Outcome::Success;
    return step;
}

Authenticator::Step Authenticator::failure(Step step) {
    phase_ = Phase::Done;
    step.outcome = Outcome::Failure;
    step.error = errors::access_denied(user_, setup_.client_host, password_used_);
    return step;
}

} // namespace standin::mysql
