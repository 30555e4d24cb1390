#include <netinet/in.h>

#include <spdlog/spdlog.h>

#include <proxy/net/listener.h>

namespace proxy::net {

namespace {
constexpr int kBacklog = 511;
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
    Session& session = self->registry_.create(self->loop_, self->label_);
    if (!session.accept(server)) {
        return;
    }
    session.start(self->factory_(SessionInfo{session.id(), session.peer()}), self->hooks_);
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
