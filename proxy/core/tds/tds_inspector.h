#pragma once

// Theory of operation
// -------------------
// TdsInspector reads the TDS packets a proxied session carries, in clear, and turns them into
// record fields: the LOGIN7 (and the EXPOSED line when the login was readable where it should not
// have been), message records after login (--record-messages), and the transcript (--pcap). It
// never changes a byte; the adapter relays what it inspected.
//
// The session's TDS version decides the layouts: first the client's LOGIN7 asks, then the
// server's LOGINACK says what it speaks.

#include <proxy/core/session/session_context.h>
#include <tds/message_assembler.h>
#include <tds/packet.h>
#include <tds/version.h>

namespace proxy {

class TdsInspector {
  public:
    // max_message: --max-message-bytes. A client message longer than that ends the session (the
    // inspector must read every request whole); a server response is relayed packet by packet
    // and never needs to be whole, so one longer than that is only not scanned for errors.
    explicit TdsInspector(std::size_t max_message = kDefaultMaxMessageBytes)
        : max_message_(max_message), client_messages_(max_message), server_messages_(max_message) {}

    // client_packet: one whole packet from the client; through_tls says how it crossed the wire.
    void client_packet(SessionContext& ctx, const tds::Packet& p, bool through_tls);
    void server_packet(SessionContext& ctx, const tds::Packet& p);

  private:
    void on_login7(SessionContext& ctx, const tds::Message& m, bool through_tls);

    std::size_t max_message_;
    tds::MessageAssembler client_messages_;
    tds::MessageAssembler server_messages_;
    bool skipping_response_ = false; // a response over the limit: not scanned, up to its EOM
    bool login_decoded_ = false;
    tds::Level level_ = tds::Level::V74;
    bool level_from_server_ = false;
};

// exposed_line: the warning a lab prints when it read a login it should not have. `secret`
// names what was read ("password 'x'", "a 12-character password ...").
std::string exposed_line(const std::string& user, const std::string& secret, const std::string& app,
                         const std::string& why);
// certificate_is_the_defect: the scenario's only fault is what the client is shown in TLS, so a
// validating client must refuse it (a PRELOGIN rewrite or a reset is a fault of another kind).
bool should_have_rejected(const scenarios::Scenario& s);

} // namespace proxy
