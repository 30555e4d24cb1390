#pragma once

// LegPair wires a ClientLeg (the server side, facing a driver) to a ServerLeg (a real OpenSSL
// TDS client) through memory, so the machine tests run real handshakes without sockets.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include <proxy/core/tds/client_leg.h>
#include <proxy/core/tds/server_leg.h>
#include <tds/login7.h>
#include <tds/packet_writer.h>
#include <tds/prelogin.h>

namespace support {

inline std::vector<std::uint8_t> client_prelogin(std::uint8_t encryption) {
    const std::uint8_t instance[] = {0};
    const std::uint8_t thread_id[] = {0, 0, 0x12, 0x34};
    auto payload = tds::PreloginBuilder{}
                       .version({19, 2, 2, 0})
                       .encryption(encryption)
                       .add(tds::prelogin_token::kInstOpt, instance)
                       .add(tds::prelogin_token::kThreadId, thread_id)
                       .mars(false)
                       .build();
    return tds::write_message(static_cast<std::uint8_t>(tds::PacketType::PreLogin), payload, 4096,
                              0);
}

inline tds::Login7 lab_login(const std::string& user = "lab",
                             const std::string& password = "lab-password") {
    tds::Login7 l;
    l.tds_version = tds::tds_version::k74;
    l.packet_size = 4096;
    l.host_name = "test-host";
    l.user_name = user;
    l.password = password;
    l.app_name = "tlslab-tests";
    l.server_name = "localhost";
    l.library_name = "tlslab";
    return l;
}

inline std::vector<std::uint8_t> login7_message(const tds::Login7& l,
                                                std::size_t packet_len = 4096) {
    auto payload = tds::encode_login7(l);
    return tds::write_message(static_cast<std::uint8_t>(tds::PacketType::Login7), payload,
                              packet_len, 0);
}

// sql_batch_message: ALL_HEADERS with a transaction descriptor, then the UTF-16LE text.
std::vector<std::uint8_t> sql_batch_message(const std::string& sql, std::size_t packet_len = 4096);

struct LegPair {
    proxy::ClientLeg server;
    proxy::ServerLeg client;
    std::vector<proxy::ClientLeg::Output> server_out;
    std::vector<proxy::ServerLeg::Output> client_out;
    // Every chunk the server side wrote towards the client, as one pump step produced it.
    std::vector<std::vector<std::uint8_t>> server_chunks;
    std::size_t feed_chunk = std::numeric_limits<std::size_t>::max();

    LegPair(proxy::ClientLeg::Config s, proxy::ServerLeg::Config c)
        : server(s), client(std::move(c)) {}

    // pump moves bytes both ways until nothing moves; returns the bytes moved client->server.
    void pump() {
        for (int guard = 0; guard < 1000; ++guard) {
            auto c2s = client.take_output();
            auto s2c = server.take_output();
            if (c2s.empty() && s2c.empty()) {
                return;
            }
            for (std::size_t i = 0; i < c2s.size(); i += feed_chunk) {
                std::size_t n = std::min(feed_chunk, c2s.size() - i);
                server_out.push_back(server.on_bytes(std::span(c2s).subspan(i, n)));
            }
            if (!s2c.empty()) {
                server_chunks.push_back(s2c);
            }
            for (std::size_t i = 0; i < s2c.size(); i += feed_chunk) {
                std::size_t n = std::min(feed_chunk, s2c.size() - i);
                client_out.push_back(client.on_bytes(std::span(s2c).subspan(i, n)));
            }
        }
    }

    template <typename F> bool server_saw(F pred) const {
        return std::any_of(server_out.begin(), server_out.end(), pred);
    }
    template <typename F> bool client_saw(F pred) const {
        return std::any_of(client_out.begin(), client_out.end(), pred);
    }
    std::vector<tds::Packet> server_packets() const {
        std::vector<tds::Packet> out;
        for (const auto& o : server_out) {
            out.insert(out.end(), o.packets.begin(), o.packets.end());
        }
        return out;
    }
    std::vector<tds::Packet> client_packets() const {
        std::vector<tds::Packet> out;
        for (const auto& o : client_out) {
            out.insert(out.end(), o.packets.begin(), o.packets.end());
        }
        return out;
    }
};

} // namespace support
