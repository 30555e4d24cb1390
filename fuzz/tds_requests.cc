// tds_requests: the client requests after login: SQL batch (with and without ALL_HEADERS),
// RPC (every parameter type read_typed_value knows), Transaction Manager requests, and a lone
// TYPE_INFO + value.
//
// Input: byte 0 = level (bits 0-2, mod 7) and decoder (bits 3-4: 0 SQL batch, 1 RPC, 2 TM
// request, 3 typed value; bit 5: SQL batch without ALL_HEADERS); the rest is the payload.

#include <tds/byte_reader.h>
#include <tds/rpc.h>
#include <tds/sql_batch.h>
#include <tds/transaction_manager.h>
#include <tds/type_info.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    fuzz::Bytes in(data, size);
    auto level = static_cast<tds::Level>((in[0] & 0x07) % 7);
    fuzz::Bytes payload = in.subspan(1);
    switch ((in[0] >> 3) & 0x03) {
    case 0:
        (void)tds::decode_sql_batch(payload, (in[0] & 0x20) == 0);
        break;
    case 1:
        if (auto rpc = tds::decode_rpc(payload, level)) {
            (void)rpc->procedure();
            if (rpc->parameter_error) {
                fuzz::check(!rpc->calls.empty(), "a failed parameter belongs to a call");
            }
            for (const auto& c : rpc->calls) {
                if (c.proc_id) {
                    (void)tds::well_known_procedure(*c.proc_id);
                }
            }
        }
        break;
    case 2:
        if (auto tm = tds::decode_tm_request(payload, level)) {
            (void)tds::to_string(tm->isolation);
        }
        break;
    default: {
        tds::ByteReader r(payload);
        std::uint8_t token = 0;
        while (!r.empty()) {
            auto v = tds::read_typed_value(r, level, &token);
            if (!v) {
                break;
            }
        }
        break;
    }
    }
    return 0;
}
