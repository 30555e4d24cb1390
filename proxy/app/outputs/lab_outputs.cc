#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/app/outputs/record_json.h>
#include <proxy/core/tls/tls_keylog.h>

namespace proxy::app {

std::expected<std::unique_ptr<LabOutputs>, std::string>
LabOutputs::open(const OutputOptions& options) {
    std::unique_ptr<LabOutputs> out(new LabOutputs());
    out->reveal_secrets_ = options.reveal_secrets;
    out->record_messages_ = options.record_messages;
    if (options.events) {
        auto sink = EventSink::open(*options.events);
        if (!sink) {
            return std::unexpected("--events " + sink.error());
        }
        out->events_ = std::move(*sink);
    }
    if (options.pcap) {
        auto pcap = PcapWriter::open(*options.pcap);
        if (!pcap) {
            return std::unexpected("--pcap " + pcap.error());
        }
        out->pcap_ = std::move(*pcap);
    }
    if (options.keylog) {
        const std::string& path = *options.keylog;
        out->keylog_ = std::fopen(path.c_str(), "a");
        if (out->keylog_ == nullptr) {
            return std::unexpected("--keylog " + path + ": " + std::strerror(errno));
        }
        ::fchmod(fileno(out->keylog_), 0600); // session keys: as secret as the traffic
        std::FILE* f = out->keylog_;
        // Sessions of every loop (--threads) write here: one whole line at a time.
        auto mutex = std::make_shared<std::mutex>();
        set_keylog_sink([f, mutex](std::string_view line) {
            std::lock_guard lock(*mutex);
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
    const auto& number = m->number;
    spdlog::info("[message #{}] {} {}{}: {}{}", m->session_id, m->from_client ? "client" : "server",
                 m->kind, number ? " " + std::to_string(*number) : std::string(), m->text,
                 m->detail.empty() ? std::string() : " (" + m->detail + ")");
    if (events_) {
        events_->write(to_json(*m));
    }
}

} // namespace proxy::app
