#include <map>
#include <memory>
#include <mutex>

#include <certs/pem.h>
#include <proxy/core/tls/session_store.h>

namespace proxy {

namespace {

// More server names than a lab talks to; past it, new names are not kept.
constexpr std::size_t kMaxServers = 1024;

struct SessionDeleter {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionDeleter>;

struct Store {
    std::mutex mutex;
    std::map<std::string, SessionPtr> by_server;
};

void free_store(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                void* /*argp*/) {
    delete static_cast<Store*>(ptr);
}

void free_name(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
               void* /*argp*/) {
    delete static_cast<std::string*>(ptr);
}

int store_index() {
    static const int index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr, free_store);
    return index;
}

int name_index() {
    static const int index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nullptr, nullptr, nullptr, free_name);
    return index;
}

Store* store_of(const SSL_CTX* ctx) {
    return static_cast<Store*>(SSL_CTX_get_ex_data(ctx, store_index()));
}

// OpenSSL's new-session callback (0: the store took no reference to `session`).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
    Store* store = store_of(SSL_get_SSL_CTX(ssl));
    const auto* name = static_cast<const std::string*>(SSL_get_ex_data(ssl, name_index()));
    if (store == nullptr || name == nullptr) {
        return 0;
    }
    // A session whose certificate did not verify is never offered again: the next connection
    // must meet the certificate (and the lab must see the failure) again.
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
        SSL_get_verify_result(ssl) != X509_V_OK) {
        return 0;
    }
    // A copy: OpenSSL marks the connection's own session not resumable when the connection is
    // freed without a close_notify, which the proxy's legs often are.
    SessionPtr copy(SSL_SESSION_dup(session));
    if (!copy) {
        return 0;
    }
    std::lock_guard lock(store->mutex);
    auto it = store->by_server.find(*name);
    if (it == store->by_server.end() && store->by_server.size() >= kMaxServers) {
        return 0;
    }
    store->by_server[*name] = std::move(copy);
    return 0; // the connection keeps its own reference
}

} // namespace

std::expected<void, std::string> enable_session_store(SSL_CTX* ctx) {
    auto store = std::make_unique<Store>();
    if (SSL_CTX_set_ex_data(ctx, store_index(), store.get()) != 1) {
        return std::unexpected("SSL_CTX_set_ex_data: " + certs::openssl_error());
    }
    (void)store.release(); // freed with the context (free_store)
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return {};
}

void offer_kept_session(SSL* ssl, const std::string& server_name) {
    Store* store = store_of(SSL_get_SSL_CTX(ssl));
    if (store == nullptr || server_name.empty()) {
        return;
    }
    auto name = std::make_unique<std::string>(server_name);
    if (SSL_set_ex_data(ssl, name_index(), name.get()) != 1) {
        return;
    }
    (void)name.release(); // freed with ssl (free_name)
    std::lock_guard lock(store->mutex);
    if (auto it = store->by_server.find(server_name); it != store->by_server.end()) {
        if (SSL_SESSION_is_resumable(it->second.get()) == 1) {
            // A copy again: the kept one must not share the connection's fate (see above).
            if (SessionPtr copy(SSL_SESSION_dup(it->second.get())); copy) {
                SSL_set_session(ssl, copy.get()); // takes its own reference
            }
        } else {
            store->by_server.erase(it);
        }
    }
}

} // namespace proxy
