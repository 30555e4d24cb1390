#include <netinet/in.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <proxy/net/listener.h>

namespace proxy::net {

namespace {
// The kernel's accept queue: as long as the system allows (net.core.somaxconn, 4096 on current
// kernels); 511 overflowed under scripts/soak's bursts of 500 new connections a second.
constexpr int kBacklog = SOMAXCONN;
} // namespace

Listener::Listener(uv_loop_t* loop, SessionRegistry& registry, std::string label,
                   MachineFactory factory)
    : loop_(loop), registry_(registry), label_(std::move(label)), factory_(std::move(factory)) {}

std::expected<void, std::string> Listener::listen(const HostPort& where) {
    auto addr = resolve(where);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    open_ = true;
    int rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&*addr), 0);
    if (rc == 0) {
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), kBacklog, on_connection);
    }
    if (rc != 0) {
        return std::unexpected("cannot listen on " + where.to_string() + ": " + uv_strerror(rc));
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
    bound_ = format_address(reinterpret_cast<sockaddr*>(&bound));
    bound_port_ = bound.ss_family == AF_INET
                      ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                      : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return {};
}

void Listener::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<Listener*>(server->data);
    if (status < 0) {
        spdlog::warn("[{}] accept error: {}", self->label_, uv_strerror(status));
        return;
    }
    std::optional<SessionSlot> slot;
    if (self->limit_) {
        slot = self->limit_->try_acquire();
        if (!slot) {
            self->refuse(server);
            return;
        }
    }
    Session& session = self->registry_.create(self->loop_, self->label_);
    if (slot) {
        session.hold(std::move(*slot));
    }
    if (!session.accept(server)) {
        return;
    }
    SessionInfo info{session.id(), session.peer(), std::nullopt};
    SessionHooks hooks = self->hooks_;
    if (self->transparent_) {
        auto dest = session.original_destination();
        const auto* peer = reinterpret_cast<const sockaddr*>(&session.peer_address());
        if (dest && self->registry_.from_own_upstream(peer)) {
            dest = std::unexpected(
                "refused: this connection comes from tlslab's own upstream connection to " +
                format_address(reinterpret_cast<const sockaddr*>(&*dest)) +
                ", redirected back to tlslab (a loop: exempt tlslab's own traffic from the "
                "redirect rule, see scripts/transparent)");
        }
        if (!dest) {
            spdlog::warn("[{}#{} {}] transparent: {}", self->label_, session.id(), session.peer(),
                         dest.error());
            session.close(dest.error());
            return;
        }
        hooks.upstream = *dest;
        info.original_destination = *dest;
    }
    if (!self->gate_) {
        session.start(self->factory_(info), std::move(hooks));
        return;
    }
    // The gate may answer later (after work off the loop): find the session again by id then.
    SessionRegistry& registry = self->registry_;
    std::uint64_t id = session.id();
    MachineFactory factory = self->factory_;
    self->gate_(info, [&registry, id, info, hooks = std::move(hooks),
                       factory = std::move(factory)]() mutable {
        Session* held = registry.find(id);
        if (held == nullptr || held->closing()) {
            return;
        }
        held->start(factory(info), std::move(hooks));
    });
}

void Listener::refuse(uv_stream_t* server) {
    // Accepted so that the kernel's queue does not keep it half-open, and closed at once: nothing
    // is read (unread bytes make the kernel answer with a reset, as it should).
    auto* tcp = new uv_tcp_t{};
    uv_tcp_init(loop_, tcp);
    std::string peer = "unknown";
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp)) == 0) {
        sockaddr_storage addr{};
        int len = sizeof addr;
        if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
            peer = format_address(reinterpret_cast<sockaddr*>(&addr));
        }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    std::uint64_t held_back = 0;
    if (limit_->should_log(uv_now(loop_), held_back)) {
        spdlog::warn("[{}] limit max-sessions={} reached: refused {}{}", label_,
                     limit_->max_sessions(), peer,
                     held_back == 0
                         ? std::string()
                         : " (and " + std::to_string(held_back) + " more since the last line)");
    }
}

void Listener::close(std::function<void()> done) {
    if (!open_) {
        if (done) {
            done();
        }
        return;
    }
    open_ = false;
    on_done_ = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
}

void Listener::on_closed(uv_handle_t* h) {
    auto* self = static_cast<Listener*>(h->data);
    if (self->on_done_) {
        auto done = std::move(self->on_done_);
        done();
    }
}

} // namespace proxy::net
