#pragma once

// Theory of operation
// -------------------
// Session is the libuv half of one connection: it owns the client's TCP handle (and, for the
// proxy, the upstream's), the timers a machine asks for, and the machine. It turns libuv callbacks
// into Events, hands them to the machine, and carries out the Actions that come back. It decides
// nothing.
//
// Lifetime (libuv: memory may go only after the close callback): every handle the session
// opens is counted; closing calls uv_close on each; each close callback counts down; at zero
// the registry destroys the session. Nothing is freed in a read or write callback. Write
// requests own their bytes until their callback runs (UV_ECANCELED while closing is normal).
//
// Backpressure, per direction: while the write queue of the side a connection's bytes go to is
// above kHighWatermark, reading from that connection stops; it resumes below kLowWatermark. A close
// that flushes waits for the queue (uv_shutdown), bounded by a linger timer so a client that never
// reads cannot pin the session.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <uv.h>

#include <proxy/core/session/machine.h>
#include <proxy/net/session_limit.h>

namespace proxy::net {

class SessionRegistry;

// SessionHooks: what a listener gives each session besides its machine.
struct SessionHooks {
    std::optional<sockaddr_storage> upstream; // where ConnectUpstream connects
    std::function<void(std::shared_ptr<const SessionRecord>)> on_record;
    std::function<void(std::shared_ptr<const MessageRecord>)> on_message;
};

class Session {
  public:
    static constexpr std::size_t kHighWatermark = std::size_t{1024} * 1024;
    static constexpr std::size_t kLowWatermark = std::size_t{256} * 1024;
    static constexpr std::uint64_t kLingerMs = 2000;
    // The read block every session of a loop thread reads into (on_alloc).
    static constexpr std::size_t kReadBlock = std::size_t{64} * 1024;
    // Timer ids below zero belong to the shell; machines use positive ones.
    static constexpr int kLingerTimer = -1;

    Session(uv_loop_t* loop, SessionRegistry& registry, std::uint64_t id, std::string label);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session();

    // accept takes the pending connection from `listener`; false (and the session closes
    // itself) if that fails.
    bool accept(uv_stream_t* listener);
    // adopt takes a connected socket accepted on another loop (worker_loops.h) and owns it from
    // here on, also when it fails (false: the session closes itself).
    bool adopt(int fd);
    void start(std::unique_ptr<Machine> machine, SessionHooks hooks = {});
    void close(const std::string& reason);
    // hold: the session keeps its listener's --max-sessions place until it is destroyed (after
    // the close callback of its last handle).
    void hold(SessionSlot slot) { slot_ = std::move(slot); }

    std::uint64_t id() const { return id_; }
    const std::string& peer() const { return peer_; }
    const sockaddr_storage& peer_address() const { return peer_addr_; }
    // original_destination: where the client meant to go before a redirect (transparent mode).
    std::expected<sockaddr_storage, std::string> original_destination() const;
    // is_upstream_source: `addr` is the local end of this session's upstream connection.
    bool is_upstream_source(const sockaddr* addr) const;
    const std::string& label() const { return label_; }
    bool closing() const { return closing_; }
    std::chrono::system_clock::time_point started() const { return started_; }

  private:
    struct Timer {
        uv_timer_t handle;
        Session* owner;
        int id;
    };
    struct Conn {
        uv_tcp_t tcp{};
        Session* owner = nullptr;
        Side side = Side::Client;
        bool open = false; // the handle is initialised and not yet closing
        bool reading = false;
        bool paused = false; // reading stopped: its destination's write queue is backed up
        bool eof = false;
        bool shutdown_sent = false; // uv_shutdown issued (half-close or closing)
        bool shutdown_done = false;
        uv_shutdown_t shutdown_req{};
    };
    struct WriteReq {
        uv_write_t req;
        std::vector<std::uint8_t> bytes;
        Conn* conn;
    };

    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_timer(uv_timer_t* handle);
    static void on_tcp_closed(uv_handle_t* h);
    static void on_connect(uv_connect_t* req, int status);
    void connect_upstream();
    void half_close(Side side);
    static void shutdown(Conn& c);
    static void on_timer_closed(uv_handle_t* h);
    Conn* conn_of(const uv_stream_t* s);
    // opened: the client's socket is this session's; read its address. accepted: it was not.
    bool opened(int rc, const char* what);

    void dispatch(const Event& event);
    void run(Actions actions);
    void send(Side side, std::vector<std::uint8_t> bytes);
    // write: `bytes` to `side`: straight to the socket when nothing is queued before them
    // (uv_try_write: no request, no copy), the rest queued (owned: `bytes` is moved into the
    // request when given as a vector, else copied).
    void write(Side side, std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>* owned);
    Conn& conn(Side side) { return side == Side::Client ? client_ : server_; }
    void begin_close(bool flush);
    void close_handles();
    void start_timer(int id, std::uint64_t ms);
    void update_reading();
    void log(LogLevel level, const std::string& text) const;

    uv_loop_t* loop_;
    SessionRegistry& registry_;
    std::uint64_t id_;
    std::string label_;
    std::string peer_;
    sockaddr_storage peer_addr_{};
    std::optional<sockaddr_storage> upstream_local_; // our end of the upstream connection
    std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    std::unique_ptr<Machine> machine_;
    std::span<const std::uint8_t> received_; // the read being dispatched (action::Relay)
    SessionHooks hooks_;
    uv_connect_t connect_req_{};
    bool reset_client_ = false;
    Conn client_;
    Conn server_;
    bool closing_ = false;
    bool handles_closing_ = false;
    int shutdowns_pending_ = 0;
    std::map<int, Timer> timers_;
    int open_handles_ = 0;
    SessionSlot slot_; // a place under the listener's --max-sessions, given back on destruction
};

// SessionRegistry owns the live sessions and destroys each once its handles are closed.
class SessionRegistry {
  public:
    Session& create(uv_loop_t* loop, std::string label);
    // share_ids_with: this registry's sessions take their ids from the same counter as
    // `other`'s (the registries of several loops, see worker_loops.h); call before any create().
    void share_ids_with(const SessionRegistry& other) { next_id_ = other.next_id_; }
    void destroy(std::uint64_t id);
    // find: the live session `id`, or null once it is destroyed.
    Session* find(std::uint64_t id);
    void close_all(const std::string& reason);
    // close_where closes the live sessions `pred` picks; returns how many.
    std::size_t close_where(const std::function<bool(const Session&)>& pred,
                            const std::string& reason);
    void for_each(const std::function<void(const Session&)>& fn) const;
    std::size_t size() const { return sessions_.size(); }
    // from_own_upstream: `peer` is the local end of one of our own upstream connections, i.e. a
    // redirect rule sent tlslab's connection to the server back to tlslab (a loop).
    bool from_own_upstream(const sockaddr* peer) const;
    // Called after every destroy(): lets a shutting-down app notice the last session going.
    std::function<void()> on_empty;

    // Once this many sessions were alive at once, the registry asks the allocator to give freed
    // memory back to the system when the last of them is gone (release_free_memory).
    static constexpr std::size_t kTrimAfterPeak = 64;

  private:
    std::map<std::uint64_t, std::unique_ptr<Session>> sessions_;
    std::shared_ptr<std::atomic<std::uint64_t>> next_id_ =
        std::make_shared<std::atomic<std::uint64_t>>(1);
    std::size_t peak_since_trim_ = 0; // the most sessions alive at once since the last trim
};

} // namespace proxy::net
