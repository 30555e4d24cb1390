#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <proxy/app/lab_outputs.h>
#include <proxy/app/record_json.h>
#include <proxy/core/tls_keylog.h>

namespace proxy::app {

void LabOutputs::add_options(cxxopts::Options& options) {
    // clang-format off
    options.add_options("Records")
        ("events", "Write one JSON record per session (and per message) to FILE, appending; - for stdout",
         cxxopts::value<std::string>())
        ("reveal-secrets", "Show decoded passwords in records and logs (masked to their length otherwise)")
        ("record-messages", "After login, record each SQL batch, RPC and server error as a message event")
        ("keylog", "Append NSS key log lines for both legs to FILE (Wireshark: tls.keylog_file)",
         cxxopts::value<std::string>())
        ("pcap", "Write the decrypted conversations to FILE as TCP flows (tshark -d tcp.port==PORT,tds)",
         cxxopts::value<std::string>());
    // clang-format on
}

std::expected<std::unique_ptr<LabOutputs>, std::string>
LabOutputs::open(const cxxopts::ParseResult& args) {
    std::unique_ptr<LabOutputs> out(new LabOutputs());
    out->reveal_secrets_ = args.count("reveal-secrets") != 0;
    out->record_messages_ = args.count("record-messages") != 0;
    if (args.count("events") != 0) {
        auto sink = EventSink::open(args["events"].as<std::string>());
        if (!sink) {
            return std::unexpected("--events " + sink.error());
        }
        out->events_ = std::move(*sink);
    }
    if (args.count("pcap") != 0) {
        auto pcap = PcapWriter::open(args["pcap"].as<std::string>());
        if (!pcap) {
            return std::unexpected("--pcap " + pcap.error());
        }
        out->pcap_ = std::move(*pcap);
    }
    if (args.count("keylog") != 0) {
        std::string path = args["keylog"].as<std::string>();
        out->keylog_ = std::fopen(path.c_str(), "a");
        if (out->keylog_ == nullptr) {
            return std::unexpected("--keylog " + path + ": " + std::strerror(errno));
        }
        ::fchmod(fileno(out->keylog_), 0600); // session keys: as secret as the traffic
        std::FILE* f = out->keylog_;
        set_keylog_sink([f](std::string_view line) {
            std::fwrite(line.data(), 1, line.size(), f);
            std::fputc('\n', f);
            std::fflush(f);
        });
    }
    return out;
}

std::unique_ptr<LabOutputs> LabOutputs::in_memory(bool reveal_secrets, bool record_messages) {
    std::unique_ptr<LabOutputs> out(new LabOutputs());
    out->reveal_secrets_ = reveal_secrets;
    out->record_messages_ = record_messages;
    return out;
}

LabOutputs::~LabOutputs() {
    if (keylog_ != nullptr) {
        set_keylog_sink({});
        std::fclose(keylog_);
    }
}

void LabOutputs::on_record(const std::shared_ptr<const SessionRecord>& r) {
    if (events_) {
        events_->write(to_json(*r));
    }
    if (pcap_) {
        pcap_->write_session(*r);
    }
}

void LabOutputs::on_message(const std::shared_ptr<const MessageRecord>& m) {
    spdlog::info("[message #{}] {} {}{}: {}{}", m->session_id, m->from_client ? "client" : "server",
                 m->kind, m->number ? " " + std::to_string(*m->number) : std::string(), m->text,
                 m->detail.empty() ? std::string() : " (" + m->detail + ")");
    if (events_) {
        events_->write(to_json(*m));
    }
}

} // namespace proxy::app
