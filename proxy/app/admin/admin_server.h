#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <proxy/app/lab/lab_state.h>
#include <proxy/net/address.h>
#include <proxy/net/loop_bridge.h>

namespace httplib {
class Server;
}

namespace proxy::app {

// bearer_matches: `authorization` (the header's value) is "Bearer " + token. Compared in constant
// time: the SHA-256 digests of both are compared with CRYPTO_memcmp, so neither the length nor
// the first differing byte of the token shows in how long the answer takes.
bool bearer_matches(std::string_view authorization, std::string_view token);

// AdminServer is the lab's JSON-over-HTTP API, served by cpp-httplib on its own thread. Every
// request is handed to the event loop through the LoopBridge (proxy/net), answered from LabState
// there, and sent back; nothing else crosses threads. Loopback only unless allow_remote; with a
// token, every request must carry "Authorization: Bearer TOKEN".
//
//   GET  /scenarios                  GET  /listeners
//   PUT  /listeners/{id}/scenario    {"scenario": NAME, "reset_existing": bool}
//   POST /rules                      {"scenario": NAME, one of "count"|"client_address"|"sni"|
//                                     "prelogin_version", optional "listener"}
//   GET  /rules    DELETE /rules/{id}
//   GET  /sessions GET  /sessions/{id}   GET /metrics
// Errors are {"error": message}: 400 bad body, 401 token, 404 unknown, 503 loop unavailable.
class AdminServer {
  public:
    struct Config {
        net::HostPort listen;
        std::string token;
        bool allow_remote = false;
    };
    static std::expected<std::unique_ptr<AdminServer>, std::string>
    start(const Config& config, net::LoopBridge& bridge, LabState& state);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    void stop();
    const std::string& address() const { return address_; }

  private:
    AdminServer() = default;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::string address_;
};

} // namespace proxy::app
