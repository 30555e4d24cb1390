#include <algorithm>
#include <cctype>

#include <proxy/core/tds/login_router.h>
#include <tds/packet_writer.h>
#include <tds/token_reader.h>
#include <tds/tokens.h>

namespace proxy {

bool names_route_host(const std::string& server_name, const std::string& host) {
    std::string name = server_name.substr(0, server_name.find('\\'));
    return name.size() == host.size() &&
           std::equal(name.begin(), name.end(), host.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

LoginRouter::LoginRouter(std::string route_to_host, std::uint16_t port)
    : host_(std::move(route_to_host)), port_(port) {}

std::vector<std::vector<std::uint8_t>> LoginRouter::release() {
    std::vector<std::vector<std::uint8_t>> out;
    for (auto& p : held_) {
        out.push_back(std::move(p.bytes));
    }
    held_.clear();
    return out;
}

std::vector<std::vector<std::uint8_t>>
LoginRouter::server_packet(const tds::Packet& p,
                           const std::optional<std::string>& login_server_name) {
    if (state_ == State::Done) {
        return {p.bytes};
    }
    held_.push_back(p);
    if ((p.header.status & tds::status::kEndOfMessage) == 0) {
        return {};
    }
    if (login_server_name && names_route_host(*login_server_name, host_)) {
        state_ = State::Done;
        exempt_ = true;
        return release();
    }
    std::vector<std::uint8_t> payload;
    for (const auto& h : held_) {
        auto pl = h.payload();
        payload.insert(payload.end(), pl.begin(), pl.end());
    }
    auto scan = tds::scan_tokens(payload);
    if (!scan.login_ack) {
        if (!scan.errors.empty() || !scan.dones.empty() || scan.stopped) {
            state_ = State::Done; // the login failed (or cannot be read): nothing to route
        }
        return release();
    }
    auto routing = tds::TokenWriter().env_routing(port_, host_).take();
    payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(scan.login_ack_end),
                   routing.begin(), routing.end());
    const auto& first = held_.front().header;
    // The size the server cuts its packets to; a single packet was within the default.
    std::size_t packet_len = held_.size() > 1 ? held_.front().bytes.size() : tds::kDefaultPacketLen;
    auto packets = tds::split_message(first.type, payload, packet_len, first.spid, first.packet_id);
    held_.clear();
    state_ = State::Done;
    routed_ = true;
    std::vector<std::vector<std::uint8_t>> out;
    for (auto& pk : packets) {
        out.push_back(std::move(pk.bytes));
    }
    return out;
}

} // namespace proxy
