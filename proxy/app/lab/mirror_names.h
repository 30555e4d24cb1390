#pragma once

// Theory of operation
// -------------------
// MirrorNames serves `tlslab proxy --transparent --certificate mirror`: per original destination
// ("ip:port") the names of the real server's certificate (see certificate_fetch.h), read once.
//
//   prepare(dest, proceed)  the listener's start gate: `proceed` runs at once when the answer is
//                           known; otherwise the fetch runs on a libuv worker thread (never on
//                           the loop thread, which keeps serving other sessions) and every
//                           session to that destination waits for the one fetch (at most
//                           `timeout`), then proceeds.
//   find(dest)              what prepare learnt: the names, or nothing (the fetch failed; those
//                           sessions get the client's names).
//
// Bounded: answers live in a least-recently-used cache of `capacity` destinations; a failure is
// retried after `retry_after` (a server that was down comes back); at most `max_in_flight`
// destinations are fetched at once, beyond that sessions proceed with the client's names at once.
// Loop thread only, except the fetch itself, which touches nothing of this object.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

#include <uv.h>

#include <certs/openssl_ptr.h>
#include <proxy/app/lab/transparent_certificates.h>
#include <proxy/core/session/session_context.h>

namespace proxy::app {

class MirrorNames {
  public:
    struct Limits {
        std::chrono::milliseconds timeout{5000};
        std::chrono::seconds retry_after{30};
        std::size_t capacity = TransparentCertificates::kDefaultCapacity;
        std::size_t max_in_flight = 32;
    };
    // ctx: a non-verifying client context; must outlive every fetch (the loop's run).
    MirrorNames(uv_loop_t* loop, ListenerProtocol protocol, SSL_CTX* ctx, Limits limits);

    void prepare(const sockaddr_storage& destination, std::function<void()> proceed);
    std::optional<CertificateNames> find(const std::string& destination);
    std::size_t in_flight() const { return waiting_.size(); }

  private:
    struct Answer {
        std::optional<CertificateNames> names; // nothing: the fetch failed
        std::chrono::steady_clock::time_point at;
    };
    const Answer* fresh(const std::string& destination);
    void finish(const std::string& destination, Answer answer);

    uv_loop_t* loop_;
    ListenerProtocol protocol_;
    SSL_CTX* ctx_;
    Limits limits_;
    BoundedCache<Answer> answers_;
    std::map<std::string, std::vector<std::function<void()>>> waiting_; // fetches in flight
};

} // namespace proxy::app
