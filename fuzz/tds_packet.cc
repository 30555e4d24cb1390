// tds_packet: the TDS packet header, PacketAssembler (a byte stream cut anywhere into packets)
// and MessageAssembler (packets into messages, Attention and Ignore included), as the proxy and
// the stand-in read every client and server stream.
//
// Input: byte 0 = the read size (1..256) the stream is fed in, byte 1 = the packet size limit
// (a multiple of 512, or the maximum), the rest = the stream.

#include <algorithm>

#include <tds/message_assembler.h>
#include <tds/packet.h>
#include <tds/packet_assembler.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    if (auto h = tds::parse_header(in)) {
        auto again = h->serialize();
        fuzz::check(std::equal(again.begin(), again.end(), in.begin()), "header round trip");
        fuzz::check(h->length >= tds::kHeaderLen && h->length <= tds::kMaxPacketLen,
                    "header length in range");
    }
    if (size < 2) {
        return 0;
    }
    std::size_t max_packet = in[1] == 0 || in[1] > 63 ? tds::kMaxPacketLen : in[1] * 512U;
    fuzz::Chunks chunks{in.subspan(2), static_cast<std::size_t>(in[0]) + 1};
    const std::size_t stream_len = chunks.rest.size();
    tds::PacketAssembler packets(max_packet);
    tds::MessageAssembler messages(64 * 1024);
    std::size_t framed = 0;
    while (!chunks.done()) {
        packets.feed(chunks.next());
        for (;;) {
            auto p = packets.next();
            if (!p) {
                return 0; // the stream is unusable: the caller closes the connection
            }
            if (!*p) {
                break;
            }
            const tds::Packet& packet = **p;
            fuzz::check(packet.bytes.size() == packet.header.length, "packet length");
            fuzz::check(packet.bytes.size() <= max_packet, "packet within the limit");
            auto rebuilt = tds::make_packet(packet.header, packet.payload());
            fuzz::check(rebuilt.bytes == packet.bytes, "make_packet round trip");
            framed += packet.bytes.size();
            auto m = messages.add(packet);
            if (!m) {
                messages = tds::MessageAssembler(64 * 1024);
                continue;
            }
            if (*m) {
                fuzz::check((*m)->payload.size() <= 64 * 1024 + tds::kMaxPacketLen,
                            "message within the guard");
                fuzz::check((*m)->packet_count >= 1, "message has packets");
            }
        }
    }
    fuzz::check(framed + packets.buffered() == stream_len, "every byte framed or buffered");
    auto rest = packets.take_buffered();
    fuzz::check(framed + rest.size() == stream_len, "take_buffered returns the rest");
    return 0;
}
