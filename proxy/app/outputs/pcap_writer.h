#pragma once

#include <expected>
#include <memory>
#include <string>

#include <proxy/core/session/session_record.h>

struct pcap;
struct pcap_dumper;

namespace proxy::app {

// PcapWriter writes each finished session's clear TDS conversation as a synthetic TCP flow
// (handshake, one segment per TDS packet each way, FIN), client address and port as seen, server
// 127.0.0.1 on the listener's port, so `tshark -r FILE -d tcp.port==PORT,tds` shows PRELOGIN,
// LOGIN7 and batches -- TDS 8.0 sessions too, since what is written is what TLS carried. The
// file is flushed per session so a running lab can be inspected. libpcap writes the file format.
class PcapWriter {
  public:
    static std::expected<std::unique_ptr<PcapWriter>, std::string> open(const std::string& path);
    ~PcapWriter();
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    void write_session(const SessionRecord& r);

  private:
    PcapWriter(pcap* dead, pcap_dumper* dumper) : dead_(dead), dumper_(dumper) {}
    pcap* dead_;
    pcap_dumper* dumper_;
};

} // namespace proxy::app
