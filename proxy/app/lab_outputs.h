#pragma once

#include <cstdio>
#include <expected>
#include <memory>
#include <string>

#include <cxxopts.hpp>

#include <proxy/app/event_sink.h>
#include <proxy/app/pcap_writer.h>
#include <proxy/core/session_record.h>

namespace proxy::app {

// LabOutputs: where the proxy's observations go (--events, --pcap, --keylog) and how much it
// keeps (--reveal-secrets, --record-messages). Opened before any TLS context exists, because the
// keylog hook is installed as contexts are built.
class LabOutputs {
  public:
    static void add_options(cxxopts::Options& options);
    static std::expected<std::unique_ptr<LabOutputs>, std::string>
    open(const cxxopts::ParseResult& args);
    // in_memory: no files, only what the lab keeps (the demo reads records from LabState).
    static std::unique_ptr<LabOutputs> in_memory(bool reveal_secrets, bool record_messages);
    ~LabOutputs();

    void on_record(const std::shared_ptr<const SessionRecord>& r);
    void on_message(const std::shared_ptr<const MessageRecord>& m);

    bool reveal_secrets() const { return reveal_secrets_; }
    bool record_messages() const { return record_messages_; }
    bool capture_transcript() const { return pcap_ != nullptr; }

  private:
    LabOutputs() = default;
    std::unique_ptr<EventSink> events_;
    std::unique_ptr<PcapWriter> pcap_;
    std::FILE* keylog_ = nullptr;
    bool reveal_secrets_ = false;
    bool record_messages_ = false;
};

} // namespace proxy::app
