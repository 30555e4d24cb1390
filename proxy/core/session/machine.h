#pragma once

// Events go down into a machine, actions come back up (mitmproxy's sans-IO shape). A machine
// never calls out: the libuv shell carries the actions out after handle() has returned, so no
// callback can re-enter a machine half-way through a step.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace proxy {

enum class Side : std::uint8_t { Client, Server };
std::string_view to_string(Side s);

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };

// The default of --max-message-bytes, for the proxy and the stand-ins (docs/limits.md): MySQL
// 8.0's default max_allowed_packet, and what the PostgreSQL and MySQL codecs allowed before the
// limit could be set.
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{64} * 1024 * 1024;

namespace event {
struct Started {}; // the client's connection was accepted
struct BytesReceived {
    Side side;
    std::span<const std::uint8_t> bytes; // valid only during handle(): copy what you keep
};
struct PeerClosed { // EOF (or a reset) from that side
    Side side;
    std::string detail;
};
struct Connected {}; // the upstream connection is up
struct ConnectFailed {
    std::string reason;
};
struct TimerFired {
    int timer;
};
struct Stopping { // the shell is closing the session (shutdown, reset_existing): say goodbye
    std::string reason;
};
} // namespace event

using Event =
    std::variant<event::Started, event::BytesReceived, event::PeerClosed, event::Connected,
                 event::ConnectFailed, event::TimerFired, event::Stopping>;

namespace action {
struct Send {
    Side side;
    std::vector<std::uint8_t> bytes;
};
// Relay: the bytes of the BytesReceived being handled go to `side` unchanged. The shell writes
// them from its read buffer (no copy while the socket takes them at once); only valid in answer
// to a BytesReceived.
struct Relay {
    Side side;
};
struct Close { // end the whole session
    std::string reason;
    bool flush = true;  // write what is queued first (e.g. an error or an alert)
    bool reset = false; // abort the client's connection with a TCP reset
};
struct ConnectUpstream {}; // open the connection to the listener's upstream
struct HalfClose {         // no more bytes to this side (TCP FIN after queued writes)
    Side side;
};
struct StartTimer {
    int timer;
    std::uint64_t ms;
};
struct CancelTimer {
    int timer;
};
struct Log {
    LogLevel level;
    std::string text;
};
} // namespace action

struct SessionRecord;
struct MessageRecord;
namespace action {
struct Record { // the session is over: its record, for the sinks
    std::shared_ptr<const SessionRecord> record;
};
struct Message { // something said after login (--record-messages)
    std::shared_ptr<const MessageRecord> message;
};
} // namespace action

using Action = std::variant<action::Send, action::Relay, action::Close, action::StartTimer,
                            action::CancelTimer, action::Log, action::ConnectUpstream,
                            action::HalfClose, action::Record, action::Message>;
using Actions = std::vector<Action>;

class Machine {
  public:
    virtual ~Machine() = default;
    virtual Actions handle(const Event& event) = 0;
};

} // namespace proxy
