#include <tds/byte_reader.h>
#include <tds/transaction_manager.h>
#include <tds/utf16.h>

namespace tds {

std::string_view to_string(TmRequestType t) {
    switch (t) {
    case TmRequestType::GetDtcAddress:
        return "TM_GET_DTC_ADDRESS";
    case TmRequestType::PropagateXact:
        return "TM_PROPAGATE_XACT";
    case TmRequestType::BeginXact:
        return "TM_BEGIN_XACT";
    case TmRequestType::PromoteXact:
        return "TM_PROMOTE_XACT";
    case TmRequestType::CommitXact:
        return "TM_COMMIT_XACT";
    case TmRequestType::RollbackXact:
        return "TM_ROLLBACK_XACT";
    case TmRequestType::SaveXact:
        return "TM_SAVE_XACT";
    }
    return "TM_?";
}

std::string_view to_string(IsolationLevel l) {
    switch (l) {
    case IsolationLevel::NoChange:
        return "no change";
    case IsolationLevel::ReadUncommitted:
        return "read uncommitted";
    case IsolationLevel::ReadCommitted:
        return "read committed";
    case IsolationLevel::RepeatableRead:
        return "repeatable read";
    case IsolationLevel::Serializable:
        return "serializable";
    case IsolationLevel::Snapshot:
        return "snapshot";
    }
    return "?";
}

namespace {

constexpr std::uint8_t kBeginXactFlag = 0x01;

std::expected<IsolationLevel, Error> read_isolation(ByteReader& r) {
    auto b = r.u8();
    if (!b) {
        return std::unexpected(Error::Truncated);
    }
    if (*b > static_cast<std::uint8_t>(IsolationLevel::Snapshot)) {
        return std::unexpected(Error::BadRequest);
    }
    return static_cast<IsolationLevel>(*b);
}

// B_VARBYTE holding UTF-16LE: a byte count, then the bytes.
std::expected<std::string, Error> read_name(ByteReader& r) {
    auto n = r.u8();
    if (!n) {
        return std::unexpected(Error::Truncated);
    }
    if (*n % 2 != 0) {
        return std::unexpected(Error::BadRequest);
    }
    auto b = r.bytes(*n);
    if (!b) {
        return std::unexpected(Error::Truncated);
    }
    return utf16le_to_utf8(*b);
}

} // namespace

std::expected<TmRequest, Error> decode_tm_request(std::span<const std::uint8_t> payload,
                                                  Level level) {
    ByteReader r(payload);
    TmRequest req;
    if (is_72_plus(level)) {
        auto headers = read_all_headers(r);
        if (!headers) {
            return std::unexpected(headers.error());
        }
        req.headers = *headers;
    }
    auto type = r.u16le();
    if (!type) {
        return std::unexpected(Error::Truncated);
    }
    req.raw_type = *type;
    switch (*type) {
    case 0:
    case 1:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
        req.known_type = *type <= 1 || is_72_plus(level);
        req.type = static_cast<TmRequestType>(*type);
        break;
    default:
        req.known_type = false;
        return req;
    }
    if (!req.known_type) {
        return req;
    }
    switch (req.type) {
    case TmRequestType::GetDtcAddress:
    case TmRequestType::PropagateXact: {
        // US_VARBYTE; a client may omit a zero-length one
        if (r.empty()) {
            return req;
        }
        auto n = r.u16le();
        auto b = n ? r.bytes(*n) : std::nullopt;
        if (!b) {
            return std::unexpected(Error::Truncated);
        }
        req.opaque.assign(b->begin(), b->end());
        return req;
    }
    case TmRequestType::BeginXact: {
        auto iso = read_isolation(r);
        if (!iso) {
            return std::unexpected(iso.error());
        }
        req.isolation = *iso;
        auto name = read_name(r);
        if (!name) {
            return std::unexpected(name.error());
        }
        req.name = std::move(*name);
        return req;
    }
    case TmRequestType::PromoteXact:
        return req;
    case TmRequestType::CommitXact:
    case TmRequestType::RollbackXact: {
        auto name = read_name(r);
        if (!name) {
            return std::unexpected(name.error());
        }
        req.name = std::move(*name);
        auto flags = r.u8();
        if (!flags) {
            return std::unexpected(Error::Truncated);
        }
        req.begin_after = (*flags & kBeginXactFlag) != 0;
        if (req.begin_after) {
            auto iso = read_isolation(r);
            if (!iso) {
                return std::unexpected(iso.error());
            }
            req.new_isolation = *iso;
            auto new_name = read_name(r);
            if (!new_name) {
                return std::unexpected(new_name.error());
            }
            req.new_name = std::move(*new_name);
        }
        return req;
    }
    case TmRequestType::SaveXact: {
        auto name = read_name(r);
        if (!name) {
            return std::unexpected(name.error());
        }
        req.name = std::move(*name);
        return req;
    }
    }
    return req;
}

} // namespace tds
