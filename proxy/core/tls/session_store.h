#pragma once

// SessionStore: TLS session resumption for a client context. A context with a store keeps, per
// server name, the newest session of a handshake whose certificate verified (or of any
// handshake when the context does not verify), and offers it on the next connection to that
// name. The proxy's upstream leg in front of one server then skips the server's certificate,
// its verification and the server's signature on every login after the first, as haproxy's
// server-side session reuse does. Thread-safe: contexts may be shared by several loops.

#include <expected>
#include <string>

#include <openssl/ssl.h>

namespace proxy {

// enable_session_store: ctx (a client context) keeps sessions from now on; tickets are allowed.
std::expected<void, std::string> enable_session_store(SSL_CTX* ctx);

// offer_kept_session: before the handshake, names the server ssl talks to (the key sessions are
// kept under) and offers the session kept for it, if ssl's context has a store and holds one.
void offer_kept_session(SSL* ssl, const std::string& server_name);

} // namespace proxy
