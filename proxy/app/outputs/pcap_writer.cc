#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <proxy/app/outputs/pcap_writer.h>

namespace proxy::app {

namespace {

constexpr std::size_t kEthernetLen = 14;
constexpr std::size_t kIpLen = 20;
constexpr std::size_t kTcpLen = 20;
constexpr std::size_t kMaxSegment = std::size_t{16} * 1024;
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;
constexpr std::uint32_t kClientIsn = 1000;
constexpr std::uint32_t kServerIsn = 5000;

struct Endpoint {
    std::uint32_t ip = 0; // network order
    std::uint16_t port = 0;
};

std::uint16_t checksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < len; i += 2) {
        sum += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
    }
    if (len % 2 != 0) {
        sum += static_cast<std::uint32_t>(data[len - 1] << 8);
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v & 0xFF);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
}

// A TCP conversation being written: sequence numbers of both sides.
class Flow {
  public:
    Flow(pcap_dumper_t* dumper, Endpoint client, Endpoint server)
        : dumper_(dumper), client_(client), server_(server) {}

    void segment(bool from_client, std::uint8_t flags, std::span<const std::uint8_t> data,
                 std::chrono::system_clock::time_point at) {
        // Headers in a fixed array (never null, as -O2's null-dereference check wants to see).
        std::array<std::uint8_t, kEthernetLen + kIpLen + kTcpLen> head{};
        head[12] = 0x08; // EtherType IPv4
        std::uint8_t* ip = head.data() + kEthernetLen;
        ip[0] = 0x45;
        put16(ip + 2, static_cast<std::uint16_t>(kIpLen + kTcpLen + data.size()));
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = 6; // TCP
        const Endpoint& src = from_client ? client_ : server_;
        const Endpoint& dst = from_client ? server_ : client_;
        std::memcpy(ip + 12, &src.ip, 4);
        std::memcpy(ip + 16, &dst.ip, 4);
        put16(ip + 10, checksum(ip, kIpLen));

        std::uint8_t* tcp = ip + kIpLen;
        std::uint32_t& seq = from_client ? client_seq_ : server_seq_;
        std::uint32_t ack = from_client ? server_seq_ : client_seq_;
        put16(tcp, src.port);
        put16(tcp + 2, dst.port);
        put32(tcp + 4, seq);
        put32(tcp + 8, ack);
        tcp[12] = (kTcpLen / 4) << 4;
        tcp[13] = flags | ((flags & kSyn) != 0 && from_client ? 0 : kAck);
        put16(tcp + 14, 65535);
        // Pseudo-header sum, then the TCP header and the data.
        std::uint32_t sum = 0;
        const auto* sa = reinterpret_cast<const std::uint8_t*>(&src.ip);
        const auto* da = reinterpret_cast<const std::uint8_t*>(&dst.ip);
        sum += static_cast<std::uint32_t>((sa[0] << 8) | sa[1]) +
               static_cast<std::uint32_t>((sa[2] << 8) | sa[3]);
        sum += static_cast<std::uint32_t>((da[0] << 8) | da[1]) +
               static_cast<std::uint32_t>((da[2] << 8) | da[3]);
        sum += 6 + static_cast<std::uint32_t>(kTcpLen + data.size());
        std::vector<std::uint8_t> segment(kTcpLen + data.size());
        std::copy(tcp, tcp + kTcpLen, segment.begin());
        std::copy(data.begin(), data.end(), segment.begin() + static_cast<std::ptrdiff_t>(kTcpLen));
        put16(tcp + 16, checksum(segment.data(), segment.size(), sum));

        std::vector<std::uint8_t> frame(head.size() + data.size());
        std::copy(head.begin(), head.end(), frame.begin());
        std::copy(data.begin(), data.end(),
                  frame.begin() + static_cast<std::ptrdiff_t>(head.size()));
        seq += static_cast<std::uint32_t>(data.size()) + ((flags & (kSyn | kFin)) != 0 ? 1 : 0);

        pcap_pkthdr h{};
        auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
        h.ts.tv_sec = static_cast<time_t>(us / 1'000'000);
        h.ts.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
        h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());
    }

  private:
    pcap_dumper_t* dumper_;
    Endpoint client_;
    Endpoint server_;
    std::uint32_t client_seq_ = kClientIsn;
    std::uint32_t server_seq_ = kServerIsn;
};

Endpoint parse_client(const std::string& address) {
    // "127.0.0.1:5000" or "[::1]:5000"; IPv6 clients are drawn as 127.0.0.2 (IPv4 frames only).
    Endpoint e;
    auto colon = address.rfind(':');
    std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    if (colon != std::string::npos) {
        e.port = static_cast<std::uint16_t>(std::strtoul(address.c_str() + colon + 1, nullptr, 10));
    }
    if (inet_pton(AF_INET, host.c_str(), &e.ip) != 1) {
        inet_pton(AF_INET, "127.0.0.2", &e.ip);
    }
    return e;
}

} // namespace

std::expected<std::unique_ptr<PcapWriter>, std::string> PcapWriter::open(const std::string& path) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (dead == nullptr) {
        return std::unexpected("pcap_open_dead failed");
    }
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    if (dumper == nullptr) {
        std::string err = pcap_geterr(dead);
        pcap_close(dead);
        return std::unexpected(path + ": " + err);
    }
    // The file holds decrypted logins (passwords included): as private as the key log.
    ::chmod(path.c_str(), 0600);
    return std::unique_ptr<PcapWriter>(new PcapWriter(dead, dumper));
}

PcapWriter::~PcapWriter() {
    pcap_dump_close(dumper_);
    pcap_close(dead_);
}

void PcapWriter::write_session(const SessionRecord& r) {
    if (r.transcript.empty()) {
        return;
    }
    Endpoint client = parse_client(r.client_address);
    Endpoint server;
    inet_pton(AF_INET, "127.0.0.1", &server.ip);
    server.port = r.listen_port != 0 ? r.listen_port : 1433;
    Flow flow(dumper_, client, server);
    flow.segment(true, kSyn, {}, r.started);
    flow.segment(false, kSyn, {}, r.started);
    flow.segment(true, 0, {}, r.started);
    for (const auto& e : r.transcript) {
        std::span<const std::uint8_t> bytes(e.bytes);
        for (std::size_t i = 0; i < bytes.size(); i += kMaxSegment) {
            flow.segment(e.from_client, kPsh,
                         bytes.subspan(i, std::min(kMaxSegment, bytes.size() - i)), e.at);
        }
    }
    flow.segment(true, kFin, {}, r.ended);
    flow.segment(false, kFin, {}, r.ended);
    pcap_dump_flush(dumper_);
}

} // namespace proxy::app
