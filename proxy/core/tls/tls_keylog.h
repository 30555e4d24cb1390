#pragma once

#include <functional>
#include <string_view>

#include <openssl/ssl.h>

namespace proxy {

// The NSS key log (SSLKEYLOGFILE format) for Wireshark. A process-wide sink, because OpenSSL's
// keylog callback carries no user data; contexts built after set_keylog_sink() log to it, on
// both legs. Only the event-loop thread runs TLS, so the sink is called from that thread alone.
void set_keylog_sink(std::function<void(std::string_view line)> sink);
// install_keylog hooks a context to the sink, if one is set.
void install_keylog(SSL_CTX* ctx);

} // namespace proxy
