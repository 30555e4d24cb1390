#pragma once

#include <cstdio>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include <proxy/app/outputs/event_sink.h>
#include <proxy/app/outputs/pcap_writer.h>
#include <proxy/core/session/session_record.h>

namespace proxy::app {

// OutputOptions: where records go and how much they keep (the commands' "Records" options).
struct OutputOptions {
    std::optional<std::string> events; // JSON lines, appended; "-" for stdout
    std::optional<std::string> pcap;   // decrypted conversations as TCP flows
    std::optional<std::string> keylog; // NSS key log lines for both legs, appended
    bool reveal_secrets = false;       // decoded passwords in records and logs
    bool record_messages = false;      // one message record per batch, RPC and server error
};

// LabOutputs: where the proxy's observations go (events, pcap, keylog) and how much it keeps
// (secrets, messages). Opened before any TLS context exists, because the keylog hook is
// installed as contexts are built.
class LabOutputs {
  public:
    // open: the error names the option and the file.
    static std::expected<std::unique_ptr<LabOutputs>, std::string>
    open(const OutputOptions& options);
    // in_memory: no files, only what the lab keeps (the demo reads records from LabState).
    static std::unique_ptr<LabOutputs> in_memory(bool reveal_secrets, bool record_messages);
    ~LabOutputs();
    LabOutputs(const LabOutputs&) = delete;
    LabOutputs& operator=(const LabOutputs&) = delete;

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
