#include <memory>

#include <spdlog/spdlog.h>

#include <proxy/app/lab/certificate_fetch.h>
#include <proxy/app/lab/mirror_names.h>
#include <proxy/net/address.h>
#include <proxy/net/off_loop.h>

namespace proxy::app {

MirrorNames::MirrorNames(uv_loop_t* loop, ListenerProtocol protocol, SSL_CTX* ctx, Limits limits)
    : loop_(loop), protocol_(protocol), ctx_(ctx), limits_(limits), answers_(limits.capacity) {}

const MirrorNames::Answer* MirrorNames::fresh(const std::string& destination) {
    const Answer* a = answers_.find(destination);
    if (a != nullptr && !a->names &&
        std::chrono::steady_clock::now() - a->at >= limits_.retry_after) {
        return nullptr; // a failure is old enough to try again
    }
    return a;
}

std::optional<CertificateNames> MirrorNames::find(const std::string& destination) {
    const Answer* a = answers_.find(destination);
    return a != nullptr ? a->names : std::nullopt;
}

void MirrorNames::prepare(const sockaddr_storage& destination, std::function<void()> proceed) {
    std::string key = net::format_address(reinterpret_cast<const sockaddr*>(&destination));
    if (fresh(key) != nullptr) {
        proceed();
        return;
    }
    if (auto it = waiting_.find(key); it != waiting_.end()) {
        it->second.push_back(std::move(proceed)); // one fetch per destination
        return;
    }
    if (waiting_.size() >= limits_.max_in_flight) {
        spdlog::warn("mirror: {} certificate fetches in flight already; this session to {} gets "
                     "the client's names",
                     waiting_.size(), key);
        proceed();
        return;
    }
    waiting_[key].push_back(std::move(proceed));
    // The worker owns its inputs and result; the loop thread reads the result in `done`.
    struct Fetch {
        sockaddr_storage to;
        ListenerProtocol protocol;
        SSL_CTX* ctx;
        std::chrono::milliseconds timeout;
        std::expected<certs::X509Ptr, std::string> result = std::unexpected("not run");
    };
    auto job = std::make_shared<Fetch>(Fetch{destination, protocol_, ctx_, limits_.timeout});
    net::run_off_loop(
        loop_,
        [job] { job->result = fetch_certificate(job->to, job->protocol, job->ctx, job->timeout); },
        [this, job, key] {
            Answer answer{std::nullopt, std::chrono::steady_clock::now()};
            if (job->result) {
                answer.names = mirror_names(job->result->get());
                spdlog::info("mirror: {} presents CN={} ({}); its sessions get those names", key,
                             answer.names->common_name, answer.names->key());
            } else {
                spdlog::warn("mirror: cannot read the certificate of {}: {}; its sessions get "
                             "the client's names (retried after {} s)",
                             key, job->result.error(), limits_.retry_after.count());
            }
            finish(key, std::move(answer));
        });
}

void MirrorNames::finish(const std::string& destination, Answer answer) {
    answers_.put(destination, std::move(answer));
    auto it = waiting_.find(destination);
    if (it == waiting_.end()) {
        return;
    }
    auto proceeds = std::move(it->second);
    waiting_.erase(it);
    for (auto& proceed : proceeds) {
        proceed();
    }
}

} // namespace proxy::app
