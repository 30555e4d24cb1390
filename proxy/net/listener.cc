#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

#include <spdlog/spdlog.h>

#include <proxy/net/listener.h>

namespace proxy::net {

namespace {
// The kernel's accept queue: as long as the system allows (net.core.somaxconn, 4096 on current
// kernels); 511 overflowed under scripts/soak's bursts of 500 new connections a second.
constexpr int kBacklog = SOMAXCONN;

// A connection on its way to another loop: its socket and its --max-sessions place. Should the
// hand-over never run (that loop is shutting down and drops its tasks), both are given back.
struct HandedConnection {
    HandedConnection(int socket, std::optional<SessionSlot> place)
        : fd(socket), slot(std::move(place)) {}
    HandedConnection(const HandedConnection&) = delete;
    HandedConnection& operator=(const HandedConnection&) = delete;
    ~HandedConnection() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    int release() { return std::exchange(fd, -1); }

    int fd;
    std::optional<SessionSlot> slot;
};
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
    std::size_t loops = 1 + (self->transparent_ ? 0 : self->handoffs_.size());
    std::size_t target = self->next_loop_++ % loops;
    ++self->given_[target];
    if (target > 0) {
        self->hand_off(server, std::move(slot), self->handoffs_[target - 1]);
        return;
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

void Listener::set_handoffs(std::vector<Handoff> handoffs) {
    handoffs_ = std::move(handoffs);
    given_.assign(1 + handoffs_.size(), 0);
    next_loop_ = 0;
}

void Listener::hand_off(uv_stream_t* server, std::optional<SessionSlot> slot, const Handoff& to) {
    // Accepted here (libuv accepts only into a handle of the listener's loop) and duplicated:
    // the copy goes to the worker, the original closes with this loop's handle.
    auto* tcp = new uv_tcp_t{};
    uv_tcp_init(loop_, tcp);
    int fd = -1;
    int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp));
    uv_os_fd_t raw = -1;
    if (rc == 0) {
        rc = uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &raw);
    }
    if (rc == 0) {
        fd = ::fcntl(raw, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            rc = uv_translate_sys_error(errno);
        }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    if (rc != 0) {
        spdlog::warn("[{}] accept failed: {}", label_, uv_strerror(rc));
        return; // the place under --max-sessions is given back with `slot`
    }
    auto held = std::make_shared<HandedConnection>(fd, std::move(slot));
    WorkerLoop* worker = to.worker;
    worker->bridge().post(
        [worker, held, hooks = to.hooks, factory = factory_, label = label_]() mutable {
            Session& session = worker->registry().create(worker->loop(), label);
            if (held->slot) {
                session.hold(std::move(*held->slot));
            }
            if (!session.adopt(held->release())) {
                return;
            }
            SessionInfo info{session.id(), session.peer(), std::nullopt};
            session.start(factory(info), std::move(hooks));
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
