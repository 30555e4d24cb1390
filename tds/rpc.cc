#include <tds/byte_reader.h>
#include <tds/rpc.h>
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

std::expected<RpcRequest, Error> decode_rpc(std::span<const std::uint8_t> payload,
                                            bool has_all_headers) {
    ByteReader r(payload);
    if (has_all_headers) {
        auto total = r.u32le();
        if (!total || *total < 4 || *total > payload.size()) {
            return std::unexpected(Error::BadAllHeaders);
        }
        r.skip(*total - 4);
    }
    auto len = r.u16le();
    if (!len) {
        return std::unexpected(Error::Truncated);
    }
    RpcRequest rpc;
    if (*len == kProcIdMarker) {
        auto id = r.u16le();
        if (!id) {
            return std::unexpected(Error::Truncated);
        }
        rpc.proc_id = *id;
        rpc.procedure = well_known_procedure(*id);
        return rpc;
    }
    auto name = r.bytes(static_cast<std::size_t>(*len) * 2);
    if (!name) {
        return std::unexpected(Error::Truncated);
    }
    rpc.procedure = utf16le_to_utf8(*name);
    return rpc;
}

} // namespace tds
