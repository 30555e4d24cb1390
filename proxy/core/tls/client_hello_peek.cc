#include <proxy/core/tls/client_hello_peek.h>
#include <tds/byte_reader.h>

namespace proxy {

namespace {
constexpr std::uint8_t kHandshakeRecord = 0x16;
constexpr std::uint8_t kClientHello = 0x01;
constexpr std::uint16_t kServerNameExt = 0;
constexpr std::size_t kRandomLen = 32;
} // namespace

bool tls_record_complete(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 5) {
        return false;
    }
    std::size_t len = (static_cast<std::size_t>(bytes[3]) << 8) | bytes[4];
    return len > kMaxTlsRecord || bytes.size() >= 5 + len;
}

namespace {

constexpr std::uint16_t kAlpnExt = 16;

// for_each_extension walks the ClientHello's extensions; nullopt when the record is not a whole
// ClientHello, false when it has none.
template <typename F>
std::optional<bool> for_each_extension(std::span<const std::uint8_t> record, F&& f) {
    tds::ByteReader r(record);
    auto type = r.u8();
    r.skip(2); // record version
    auto rec_len = r.u16be();
    if (!type || *type != kHandshakeRecord || !rec_len || r.remaining() < *rec_len) {
        return std::nullopt;
    }
    tds::ByteReader hs(record.subspan(5, *rec_len));
    auto hs_type = hs.u8();
    auto b1 = hs.u8(), b2 = hs.u8(), b3 = hs.u8(); // 24-bit length
    if (!hs_type || *hs_type != kClientHello || !b3) {
        return std::nullopt;
    }
    (void)b1;
    (void)b2;
    if (!hs.skip(2 + kRandomLen)) { // client_version, random
        return std::nullopt;
    }
    auto sid = hs.u8();
    if (!sid || !hs.skip(*sid)) {
        return std::nullopt;
    }
    auto suites = hs.u16be();
    if (!suites || !hs.skip(*suites)) {
        return std::nullopt;
    }
    auto comp = hs.u8();
    if (!comp || !hs.skip(*comp)) {
        return std::nullopt;
    }
    auto ext_len = hs.u16be();
    if (!ext_len) {
        return false; // no extensions at all
    }
    auto exts = hs.bytes(*ext_len);
    if (!exts) {
        return std::nullopt; // a ClientHello split over records: too rare to chase
    }
    tds::ByteReader e(*exts);
    while (!e.empty()) {
        auto et = e.u16be();
        auto el = e.u16be();
        if (!et || !el) {
            return std::nullopt;
        }
        auto body = e.bytes(*el);
        if (!body) {
            return std::nullopt;
        }
        if (!f(*et, *body)) {
            return std::nullopt;
        }
    }
    return true;
}

} // namespace

std::optional<std::string> peek_sni(std::span<const std::uint8_t> record) {
    std::string sni;
    auto walked =
        for_each_extension(record, [&](std::uint16_t type, std::span<const std::uint8_t> body) {
            if (type != kServerNameExt) {
                return true;
            }
            tds::ByteReader sn(body);
            sn.skip(2); // list length
            auto name_type = sn.u8();
            auto name_len = sn.u16be();
            if (!name_type || !name_len) {
                return false;
            }
            auto name = sn.bytes(*name_len);
            if (!name) {
                return false;
            }
            sni.assign(name->begin(), name->end());
            return true;
        });
    if (!walked) {
        return std::nullopt;
    }
    return sni;
}

std::optional<std::vector<std::string>> peek_alpn(std::span<const std::uint8_t> record) {
    std::vector<std::string> protocols;
    auto walked =
        for_each_extension(record, [&](std::uint16_t type, std::span<const std::uint8_t> body) {
            if (type != kAlpnExt) {
                return true;
            }
            tds::ByteReader list(body);
            auto list_len = list.u16be();
            if (!list_len || list.remaining() != *list_len) {
                return false;
            }
            while (!list.empty()) {
                auto len = list.u8();
                if (!len) {
                    return false;
                }
                auto name = list.bytes(*len);
                if (!name) {
                    return false;
                }
                protocols.emplace_back(name->begin(), name->end());
            }
            return true;
        });
    if (!walked) {
        return std::nullopt;
    }
    return protocols;
}

} // namespace proxy
