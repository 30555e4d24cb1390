#include <algorithm>
#include <array>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <proxy/core/session/session_record.h>
#include <proxy/net/address.h>
#include <proxy/net/original_destination.h>
#include <proxy/net/session.h>

namespace proxy::net {

namespace {

std::string uv_message(int status) {
    return uv_strerror(status);
}

} // namespace

Session::Session(uv_loop_t* loop, SessionRegistry& registry, std::uint64_t id, std::string label)
    : loop_(loop), registry_(registry), id_(id), label_(std::move(label)) {
    client_.owner = this;
    client_.side = Side::Client;
    server_.owner = this;
    server_.side = Side::Server;
}

Session::~Session() = default;

Session::Conn* Session::conn_of(const uv_stream_t* s) {
    if (s == reinterpret_cast<const uv_stream_t*>(&client_.tcp)) {
        return &client_;
    }
    if (s == reinterpret_cast<const uv_stream_t*>(&server_.tcp)) {
        return &server_;
    }
    return nullptr;
}

bool Session::accept(uv_stream_t* listener) {
    uv_tcp_init(loop_, &client_.tcp);
    client_.tcp.data = this;
    client_.open = true;
    ++open_handles_;
    return opened(uv_accept(listener, reinterpret_cast<uv_stream_t*>(&client_.tcp)), "accept");
}

bool Session::adopt(int fd) {
    uv_tcp_init(loop_, &client_.tcp);
    client_.tcp.data = this;
    client_.open = true;
    ++open_handles_;
    int rc = uv_tcp_open(&client_.tcp, fd);
    if (rc != 0) {
        ::close(fd); // not the handle's: uv_tcp_open took nothing
    }
    return opened(rc, "taking over the accepted connection");
}

bool Session::opened(int rc, const char* what) {
    if (rc != 0) {
        log(LogLevel::Warn, std::string(what) + " failed: " + uv_message(rc));
        closing_ = true;
        close_handles();
        return false;
    }
    uv_tcp_nodelay(&client_.tcp, 1);
    sockaddr_storage peer{};
    int len = sizeof peer;
    if (uv_tcp_getpeername(&client_.tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
        peer_ = format_address(reinterpret_cast<sockaddr*>(&peer));
        peer_addr_ = peer;
    } else {
        // A client that resets right after connecting takes its address with it: the kernel no
        // longer knows the peer once the socket is reset, and libuv's accept does not keep it.
        peer_ = "unknown (reset before accept)";
    }
    return true;
}

void Session::start(std::unique_ptr<Machine> machine, SessionHooks hooks) {
    machine_ = std::move(machine);
    hooks_ = std::move(hooks);
    client_.reading = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&client_.tcp), on_alloc, on_read);
    dispatch(event::Started{});
}

void Session::close(const std::string& reason) {
    if (closing_) {
        return;
    }
    log(LogLevel::Debug, "closing: " + reason);
    // The machine learns why first, so it can emit its record; then the handles go.
    dispatch(event::Stopping{reason});
    begin_close(false);
}

void Session::dispatch(const Event& event) {
    if (closing_ || !machine_) {
        return;
    }
    run(machine_->handle(event));
}

void Session::run(Actions actions) {
    for (auto& a : actions) {
        if (auto* send_action = std::get_if<action::Send>(&a)) {
            send(send_action->side, std::move(send_action->bytes));
        } else if (auto* relay = std::get_if<action::Relay>(&a)) {
            if (received_.empty()) {
                log(LogLevel::Error, "a relay outside a read: nothing to relay (a machine bug)");
            } else {
                write(relay->side, received_, nullptr);
            }
        } else if (auto* close_action = std::get_if<action::Close>(&a)) {
            reset_client_ = close_action->reset;
            begin_close(close_action->flush && !close_action->reset);
        } else if (std::holds_alternative<action::ConnectUpstream>(a)) {
            connect_upstream();
        } else if (auto* half = std::get_if<action::HalfClose>(&a)) {
            half_close(half->side);
        } else if (auto* rec = std::get_if<action::Record>(&a)) {
            if (hooks_.on_record) {
                hooks_.on_record(rec->record);
            }
        } else if (auto* msg = std::get_if<action::Message>(&a)) {
            if (hooks_.on_message) {
                hooks_.on_message(msg->message);
            }
        } else if (auto* start = std::get_if<action::StartTimer>(&a)) {
            start_timer(start->timer, start->ms);
        } else if (auto* cancel = std::get_if<action::CancelTimer>(&a)) {
            if (auto it = timers_.find(cancel->timer); it != timers_.end()) {
                uv_timer_stop(&it->second.handle);
            }
        } else if (auto* line = std::get_if<action::Log>(&a)) {
            log(line->level, line->text);
        }
    }
}

void Session::log(LogLevel level, const std::string& text) const {
    auto lvl = level == LogLevel::Debug  ? spdlog::level::debug
               : level == LogLevel::Info ? spdlog::level::info
               : level == LogLevel::Warn ? spdlog::level::warn
                                         : spdlog::level::err;
    spdlog::log(lvl, "[{}#{} {}] {}", label_, id_, peer_.empty() ? "?" : peer_, text);
}

void Session::on_alloc(uv_handle_t* /*h*/, std::size_t /*suggested*/, uv_buf_t* buf) {
    // One block per loop thread, shared by every session of the loop: libuv reads into it and
    // calls on_read at once, and every read is handed to the machine (which copies what it
    // keeps) before the next allocation. An idle session holds no read buffer at all.
    thread_local std::array<char, kReadBlock> block;
    *buf = uv_buf_init(block.data(), static_cast<unsigned>(block.size()));
}

void Session::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Session*>(s->data);
    Conn* c = self->conn_of(s);
    if (c == nullptr || self->closing_) {
        return;
    }
    if (nread > 0) {
        auto bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buf->base),
                                                   static_cast<std::size_t>(nread));
        self->received_ = bytes;
        self->dispatch(event::BytesReceived{c->side, bytes});
        self->received_ = {};
        return;
    }
    if (nread == 0) {
        return; // EAGAIN: not EOF
    }
    c->eof = true;
    uv_read_stop(s);
    c->reading = false;
    std::string detail = nread == UV_EOF ? "" : uv_message(static_cast<int>(nread));
    self->dispatch(event::PeerClosed{c->side, detail});
}

void Session::send(Side side, std::vector<std::uint8_t> bytes) {
    write(side, bytes, &bytes);
}

void Session::write(Side side, std::span<const std::uint8_t> bytes,
                    std::vector<std::uint8_t>* owned) {
    Conn& c = conn(side);
    if (!c.open || bytes.empty()) {
        return;
    }
    auto* stream = reinterpret_cast<uv_stream_t*>(&c.tcp);
    if (uv_stream_get_write_queue_size(stream) == 0 && !c.shutdown_sent) {
        // Nothing queued before these bytes: the socket takes what it can now.
        uv_buf_t now = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                                   static_cast<unsigned>(bytes.size()));
        int n = uv_try_write(stream, &now, 1);
        if (n == static_cast<int>(bytes.size())) {
            return;
        }
        if (n > 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(n));
            owned = nullptr; // what is left is copied
        }
        // n < 0: EAGAIN, or an error (a peer that reset): the queued write below meets it too
        // and reports it through on_write, as every write failure is (PeerClosed).
    }
    auto* req =
        new WriteReq{uv_write_t{},
                     owned != nullptr ? std::move(*owned)
                                      : std::vector<std::uint8_t>(bytes.begin(), bytes.end()),
                     &c};
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->bytes.data()),
                               static_cast<unsigned>(req->bytes.size()));
    req->req.data = req;
    int rc = uv_write(&req->req, stream, &buf, 1, on_write);
    if (rc == 0) {
        update_reading();
        return;
    }
    delete req;
    std::string why = "write to " + std::string(to_string(side)) + " failed: " + uv_message(rc);
    log(LogLevel::Warn, why);
    // Through close(), so the machine hears Stopping and emits the session's record: a bare
    // begin_close lost it. uv_write fails at once with EPIPE on a side already shut down
    // (HalfClose); under scripts/soak's load every such PostgreSQL session had no record.
    close(why);
}

void Session::on_write(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Session* self = w->conn->owner;
    Side side = w->conn->side;
    delete w;
    if (status < 0) {
        if (status != UV_ECANCELED && !self->closing_) {
            self->log(LogLevel::Debug, "write to " + std::string(to_string(side)) +
                                           " failed: " + uv_message(status));
            self->dispatch(event::PeerClosed{side, uv_message(status)});
        }
        return;
    }
    self->update_reading();
}

void Session::update_reading() {
    if (closing_) {
        return;
    }
    auto queued = [](Conn& c) {
        return c.open ? uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c.tcp)) : 0;
    };
    // Per direction: bytes read from one side go to the other (to the same side when there is no
    // upstream, as in serve). Stop reading a side only while its destination is backed up; the
    // other direction keeps flowing, so a peer that must write before it reads on (an echo, a
    // server streaming results) can never wedge the relay.
    for (Conn* src : {&client_, &server_}) {
        if (!src->open || src->eof) {
            continue;
        }
        Conn& dst = src == &client_ && server_.open ? server_ : client_;
        std::size_t backlog = queued(dst);
        bool pause = src->paused ? backlog > kLowWatermark : backlog > kHighWatermark;
        if (pause == src->paused) {
            continue;
        }
        src->paused = pause;
        auto* stream = reinterpret_cast<uv_stream_t*>(&src->tcp);
        if (pause && src->reading) {
            uv_read_stop(stream);
            src->reading = false;
        } else if (!pause && !src->reading) {
            uv_read_start(stream, on_alloc, on_read);
            src->reading = true;
        }
    }
}

void Session::start_timer(int id, std::uint64_t ms) {
    auto [it, inserted] = timers_.try_emplace(id);
    Timer& t = it->second;
    if (inserted) {
        uv_timer_init(loop_, &t.handle);
        t.owner = this;
        t.id = id;
        t.handle.data = &t;
        ++open_handles_;
    }
    uv_timer_start(&t.handle, on_timer, ms, 0);
}

void Session::on_timer(uv_timer_t* handle) {
    auto* t = static_cast<Timer*>(handle->data);
    Session* self = t->owner;
    if (self->closing_) {
        if (t->id == kLingerTimer) {
            self->log(LogLevel::Debug, "peer did not take the last bytes in time");
            self->close_handles();
        }
        return;
    }
    self->dispatch(event::TimerFired{t->id});
}

void Session::begin_close(bool flush) {
    if (closing_) {
        return;
    }
    closing_ = true;
    for (Conn* c : {&client_, &server_}) {
        if (c->open && c->reading) {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
            c->reading = false;
        }
    }
    if (flush) {
        // uv_shutdown completes once every queued write has been written.
        for (Conn* c : {&client_, &server_}) {
            if (!c->open) {
                continue;
            }
            shutdown(*c);
            if (c->shutdown_sent && !c->shutdown_done) {
                ++shutdowns_pending_;
            }
        }
        if (shutdowns_pending_ > 0) {
            start_timer(kLingerTimer, kLingerMs);
            return;
        }
    }
    close_handles();
}

void Session::shutdown(Conn& c) {
    if (c.shutdown_sent || !c.open) {
        return;
    }
    c.shutdown_req.data = &c;
    if (uv_shutdown(&c.shutdown_req, reinterpret_cast<uv_stream_t*>(&c.tcp), on_shutdown) == 0) {
        c.shutdown_sent = true;
    }
}

void Session::on_shutdown(uv_shutdown_t* req, int /*status*/) {
    auto* c = static_cast<Conn*>(req->data);
    Session* self = c->owner;
    c->shutdown_done = true;
    if (self->closing_ && !self->handles_closing_ && --self->shutdowns_pending_ == 0) {
        self->close_handles();
    }
}

void Session::half_close(Side side) {
    // After the queued writes: no more bytes to that side; reading from it goes on.
    shutdown(conn(side));
}

void Session::connect_upstream() {
    if (!hooks_.upstream || server_.open) {
        dispatch(event::ConnectFailed{"no upstream configured"});
        return;
    }
    uv_tcp_init(loop_, &server_.tcp);
    server_.tcp.data = this;
    server_.open = true;
    ++open_handles_;
    connect_req_.data = this;
    int rc = uv_tcp_connect(&connect_req_, &server_.tcp,
                            reinterpret_cast<const sockaddr*>(&*hooks_.upstream), on_connect);
    if (rc != 0) {
        dispatch(event::ConnectFailed{uv_message(rc)});
        return;
    }
    // The kernel bound our end at connect(): remember it, so a connection that comes back to a
    // transparent listener from it is known as a loop.
    sockaddr_storage local{};
    int len = sizeof local;
    if (uv_tcp_getsockname(&server_.tcp, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
        upstream_local_ = local;
    }
}

std::expected<sockaddr_storage, std::string> Session::original_destination() const {
    uv_os_fd_t fd = -1;
    if (!client_.open || uv_fileno(reinterpret_cast<const uv_handle_t*>(&client_.tcp), &fd) != 0) {
        return std::unexpected("the client's socket is closed");
    }
    return query_original_destination(fd);
}

bool Session::is_upstream_source(const sockaddr* addr) const {
    return upstream_local_ &&
           same_endpoint(reinterpret_cast<const sockaddr*>(&*upstream_local_), addr);
}

void Session::on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<Session*>(req->data);
    if (self->closing_) {
        return; // UV_ECANCELED while closing, or too late to matter
    }
    if (status != 0) {
        self->dispatch(event::ConnectFailed{uv_message(status)});
        return;
    }
    uv_tcp_nodelay(&self->server_.tcp, 1);
    self->server_.reading = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&self->server_.tcp), on_alloc, on_read);
    self->dispatch(event::Connected{});
}

void Session::close_handles() {
    if (handles_closing_) {
        return;
    }
    handles_closing_ = true;
    closing_ = true;
    for (Conn* c : {&client_, &server_}) {
        if (c->open) {
            c->open = false;
            if (c == &client_ && reset_client_) {
                uv_tcp_close_reset(&c->tcp, on_tcp_closed); // the scenario asked for a RST
            } else {
                uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_tcp_closed);
            }
        }
    }
    for (auto& [id, t] : timers_) {
        uv_close(reinterpret_cast<uv_handle_t*>(&t.handle), on_timer_closed);
    }
    if (open_handles_ == 0) {
        registry_.destroy(id_);
    }
}

void Session::on_tcp_closed(uv_handle_t* h) {
    auto* self = static_cast<Session*>(h->data);
    if (--self->open_handles_ == 0) {
        self->registry_.destroy(self->id_); // nothing of *self is touched after this
    }
}

void Session::on_timer_closed(uv_handle_t* h) {
    Session* self = static_cast<Timer*>(h->data)->owner;
    if (--self->open_handles_ == 0) {
        self->registry_.destroy(self->id_);
    }
}

Session& SessionRegistry::create(uv_loop_t* loop, std::string label) {
    std::uint64_t id = next_id_->fetch_add(1, std::memory_order_relaxed);
    auto [it, inserted] =
        sessions_.emplace(id, std::make_unique<Session>(loop, *this, id, std::move(label)));
    peak_since_trim_ = std::max(peak_since_trim_, sessions_.size());
    return *it->second;
}

Session* SessionRegistry::find(std::uint64_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void SessionRegistry::destroy(std::uint64_t id) {
    sessions_.erase(id);
    if (sessions_.empty() && peak_since_trim_ >= kTrimAfterPeak) {
        // free() keeps what the sessions of a burst freed inside glibc's heap (only the top of
        // the heap is returned), so VmRSS stayed at its peak: 650 MiB after 5,000 sessions had
        // closed (scripts/soak). Once the last session is gone, hand the free pages back.
        peak_since_trim_ = 0;
#if defined(__GLIBC__)
        malloc_trim(0);
#endif
    }
    if (sessions_.empty() && on_empty) {
        on_empty();
    }
}

void SessionRegistry::close_all(const std::string& reason) {
    std::vector<Session*> live;
    live.reserve(sessions_.size());
    for (auto& [id, s] : sessions_) {
        live.push_back(s.get());
    }
    for (Session* s : live) {
        s->close(reason);
    }
}

} // namespace proxy::net

namespace proxy::net {

std::size_t SessionRegistry::close_where(const std::function<bool(const Session&)>& pred,
                                         const std::string& reason) {
    std::vector<Session*> picked;
    for (auto& [id, s] : sessions_) {
        if (pred(*s)) {
            picked.push_back(s.get());
        }
    }
    for (Session* s : picked) {
        s->close(reason);
    }
    return picked.size();
}

bool SessionRegistry::from_own_upstream(const sockaddr* peer) const {
    for (const auto& [id, s] : sessions_) {
        if (s->is_upstream_source(peer)) {
            return true;
        }
    }
    return false;
}

void SessionRegistry::for_each(const std::function<void(const Session&)>& fn) const {
    for (const auto& [id, s] : sessions_) {
        fn(*s);
    }
}

} // namespace proxy::net
