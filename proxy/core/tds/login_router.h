#pragma once

// Theory of operation
// -------------------
// LoginRouter plays Azure SQL's gateway in redirect mode for a scenario with route_to_host: the
// server's answer to LOGIN7 reaches the client with a routing ENVCHANGE (type 20: TCP, the
// listener's own port, route_to_host) right after LOGINACK (MS-TDS 2.2.7.9: the routing token
// MUST follow LOGINACK). A driver that follows it closes this connection and dials
// route_to_host; that second connection's LOGIN7 names route_to_host as ServerName and is not
// routed again: it is served as is (and shown the scenario's certificate, which does not name
// route_to_host).
//
//   Watching --server packet--> held until the message's EOM, then:
//       LOGIN7's ServerName is route_to_host      --> Done (exempt): relayed untouched
//       the message has LOGINACK                  --> Done (routed): ENVCHANGE 20 inserted after
//                                                     it, the message cut into packets again
//       an ERROR or a DONE without LOGINACK      --> Done: the login failed, relayed untouched
//       anything else (an SSPI round)            --> relayed, still Watching
//
// Sans-IO: packets in, packet bytes out.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tds/packet.h>

namespace proxy {

class LoginRouter {
  public:
    LoginRouter(std::string route_to_host, std::uint16_t port);

    bool watching() const { return state_ == State::Watching; }
    bool routed() const { return routed_; }
    bool exempt() const { return exempt_; }
    const std::string& host() const { return host_; }
    std::uint16_t port() const { return port_; }

    // server_packet: one whole server packet after the client's LOGIN7; login_server_name is
    // the LOGIN7's ServerName when it was decoded. Returns the packets to relay, in order
    // (none while the message is incomplete).
    std::vector<std::vector<std::uint8_t>>
    server_packet(const tds::Packet& p, const std::optional<std::string>& login_server_name);

  private:
    enum class State : std::uint8_t { Watching, Done };
    std::vector<std::vector<std::uint8_t>> release();

    std::string host_;
    std::uint16_t port_;
    State state_ = State::Watching;
    bool routed_ = false;
    bool exempt_ = false;
    std::vector<tds::Packet> held_;
};

// names_route_host: ServerName (host, or host\instance) names `host`, case-insensitively.
bool names_route_host(const std::string& server_name, const std::string& host);

} // namespace proxy
