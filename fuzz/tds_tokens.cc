// tds_tokens: scan_tokens, the reader of server responses (ERROR, INFO, LOGINACK, ENVCHANGE with
// routing, DONE*), at every protocol level.
//
// Input: byte 0 selects the level (mod 7: 7.0 ... 8.0), the rest is a response payload.

#include <tds/token_reader.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    fuzz::Bytes in(data, size);
    auto level = static_cast<tds::Level>(in[0] % 7);
    fuzz::Bytes payload = in.subspan(1);
    tds::TokenScan scan = tds::scan_tokens(payload, level);
    fuzz::check(scan.stopped_at <= payload.size(), "stopped_at within the payload");
    if (scan.login_ack) {
        fuzz::check(scan.login_ack_end <= payload.size(), "login_ack_end within the payload");
        (void)tds::level_of_login_ack(scan.login_ack->tds_version);
    }
    for (const auto& e : scan.env_changes) {
        if (e.routing) {
            fuzz::check(e.type == 20, "routing only in ENVCHANGE 20");
        }
    }
    return 0;
}
