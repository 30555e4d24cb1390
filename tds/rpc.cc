#include <tds/byte_reader.h>
#include <tds/rpc.h>
#include <tds/type_info.h>
#include <tds/utf16.h>

namespace tds {

namespace {
constexpr std::uint16_t kProcIdMarker = 0xFFFF;
} // namespace

std::string well_known_procedure(std::uint16_t id) {
    switch (id) {
    case 1:
        return "sp_cursor";
    case 2:
        return "sp_cursoropen";
    case 3:
        return "sp_cursorprepare";
    case 4:
        return "sp_cursorexecute";
    case 5:
        return "sp_cursorprepexec";
    case 6:
        return "sp_cursorunprepare";
    case 7:
        return "sp_cursorfetch";
    case 8:
        return "sp_cursoroption";
    case 9:
        return "sp_cursorclose";
    case 10:
        return "sp_executesql";
    case 11:
        return "sp_prepare";
    case 12:
        return "sp_execute";
    case 13:
        return "sp_prepexec";
    case 14:
        return "sp_prepexecrpc";
    case 15:
        return "sp_unprepare";
    default:
        return "proc#" + std::to_string(id);
    }
}

namespace {

constexpr std::uint8_t kBatchFlag72 = 0xFF;
constexpr std::uint8_t kBatchFlagLegacy = 0x80;
constexpr std::uint8_t kNoExecFlag = 0xFE;

// MS-TDS 2.2.6.6: "BatchFlag = %x80 / %xFF ; (changed to %xFF in TDS 7.2)", and NoExecFlag
// %xFE from 7.2 (SqlClient: SHILOH_RPCBATCHFLAG 0x80, YUKON_RPCBATCHFLAG 0xFF).
bool is_batch_flag(std::uint8_t b, Level level) {
    return is_72_plus(level) ? (b == kBatchFlag72 || b == kNoExecFlag) : b == kBatchFlagLegacy;
}

// read_call_head reads NameLenProcID and OptionFlags.
std::expected<RpcCall, Error> read_call_head(ByteReader& r) {
    RpcCall call;
    auto len = r.u16le();
    if (!len) {
        return std::unexpected(Error::Truncated);
    }
    if (*len == kProcIdMarker) {
        auto id = r.u16le();
        if (!id) {
            return std::unexpected(Error::Truncated);
        }
        call.proc_id = *id;
        call.procedure = well_known_procedure(*id);
    } else {
        auto name = r.bytes(static_cast<std::size_t>(*len) * 2);
        if (!name) {
            return std::unexpected(Error::Truncated);
        }
        call.procedure = utf16le_to_utf8(*name);
    }
    auto flags = r.u16le();
    if (!flags) {
        return std::unexpected(Error::Truncated);
    }
    call.option_flags = *flags;
    return call;
}

} // namespace

std::expected<RpcRequest, Error> decode_rpc(std::span<const std::uint8_t> payload, Level level) {
    ByteReader r(payload);
    RpcRequest req;
    if (is_72_plus(level)) {
        auto headers = read_all_headers(r);
        if (!headers) {
            return std::unexpected(headers.error());
        }
        req.headers = *headers;
    }
    while (!r.empty()) {
        auto call = read_call_head(r);
        if (!call) {
            return std::unexpected(call.error());
        }
        req.calls.push_back(std::move(*call));
        RpcCall& c = req.calls.back();
        // Parameters until the end or a batch flag. From 7.2 the flags (0xFF, 0xFE) cannot be
        // a name's length byte (names are at most 128 characters); before 7.2 the flag is 0x80,
        // which a 128-character name would share (older clients never send one).
        while (!r.empty()) {
            auto peek = r.rest().front();
            if (is_batch_flag(peek, level)) {
                r.skip(1);
                break;
            }
            RpcParameter p;
            auto name_len = r.u8();
            if (!name_len) {
                return std::unexpected(Error::Truncated);
            }
            auto name = r.bytes(static_cast<std::size_t>(*name_len) * 2);
            auto status = name ? r.u8() : std::nullopt;
            if (!name || !status) {
                req.parameter_error = Error::Truncated;
                req.failed_parameter = c.parameters.size() + 1;
                return req;
            }
            p.name = utf16le_to_utf8(*name);
            p.status = *status;
            auto value = read_typed_value(r, level, &p.type_token);
            if (!value) {
                req.parameter_error = value.error();
                req.failed_parameter = c.parameters.size() + 1;
                req.failed_type_token = p.type_token;
                req.failed_parameter_name = p.name;
                return req;
            }
            p.value = std::move(*value);
            c.parameters.push_back(std::move(p));
        }
    }
    if (req.calls.empty()) {
        return std::unexpected(Error::Truncated);
    }
    return req;
}

} // namespace tds
