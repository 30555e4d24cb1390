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
    // client_packet: one whole packet from the client; through_tls says how it crossed the wire.
    void client_packet(SessionContext& ctx, const tds::Packet& p, bool through_tls);
    void server_packet(SessionContext& ctx, const tds::Packet& p);

  private:
    void on_login7(SessionContext& ctx, const tds::Message& m, bool through_tls);

    static constexpr std::size_t kMaxMessage = 4 * 1024 * 1024;
    tds::MessageAssembler client_messages_{kMaxMessage};
    tds::MessageAssembler server_messages_{kMaxMessage};
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
