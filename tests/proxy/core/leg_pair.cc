#include "leg_pair.h"

#include <tds/byte_writer.h>
#include <tds/utf16.h>

namespace support {

std::vector<std::uint8_t> sql_batch_message(const std::string& sql, std::size_t packet_len) {
    tds::ByteWriter w;
    w.u32le(22); // TotalLength: itself + one 18-byte header
    w.u32le(18); // HeaderLength
    w.u16le(2);  // transaction descriptor
    w.u64le(0);
    w.u32le(1); // outstanding requests
    w.bytes(tds::utf8_to_utf16le(sql));
    return tds::write_message(static_cast<std::uint8_t>(tds::PacketType::SqlBatch), w.data(),
                              packet_len, 0);
}

} // namespace support
