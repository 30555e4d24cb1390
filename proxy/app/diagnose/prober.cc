// The prober (see prober.h): sockets with deadlines, the protocols' pre-TLS negotiation through
// the project's codecs, and OpenSSL client handshakes over memory BIOs.

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>
#include <pg/messages.h>
#include <proxy/app/diagnose/prober.h>
#include <tds/packet.h>
#include <tds/prelogin.h>

namespace proxy::app::diagnose {

namespace {

using Clock = std::chrono::steady_clock;

// How long the baseline connection is watched after its handshake for a reset.
constexpr int kLingerMs = 300;

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            close_fd();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close_fd(); }
    int get() const { return fd_; }

  private:
    void close_fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int fd_;
};

enum class IoError : std::uint8_t { Timeout, Reset, Closed, Other };

Outcome outcome_of(IoError e) {
    switch (e) {
    case IoError::Timeout:
        return Outcome::Timeout;
    case IoError::Reset:
        return Outcome::Reset;
    case IoError::Closed:
        return Outcome::Closed;
    case IoError::Other:
        return Outcome::Failed;
    }
    return Outcome::Failed;
}

std::string io_words(IoError e) {
    switch (e) {
    case IoError::Timeout:
        return "no answer before the timeout";
    case IoError::Reset:
        return "connection reset by the server";
    case IoError::Closed:
        return "connection closed by the server";
    case IoError::Other:
        return "socket error";
    }
    return "socket error";
}

// Conn: one TCP connection with a deadline for everything done on it.
struct Conn {
    Fd fd;
    Clock::time_point deadline;
    std::vector<std::uint8_t> pending; // bytes read but not consumed

    int remaining_ms() const {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        return static_cast<int>(std::max<long long>(0, left.count()));
    }

    std::optional<IoError> send_all(std::span<const std::uint8_t> bytes) {
        std::size_t off = 0;
        while (off < bytes.size()) {
            ssize_t n = ::send(fd.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return errno == ECONNRESET || errno == EPIPE ? IoError::Reset : IoError::Other;
            }
            off += static_cast<std::size_t>(n);
        }
        return std::nullopt;
    }

    // read_some appends what arrives to `pending`.
    std::optional<IoError> read_some() {
        for (;;) {
            pollfd p{fd.get(), POLLIN, 0};
            int rc = ::poll(&p, 1, remaining_ms());
            if (rc < 0 && errno == EINTR) {
                continue;
            }
            if (rc == 0) {
                return IoError::Timeout;
            }
            if (rc < 0) {
                return IoError::Other;
            }
            std::uint8_t buf[16384];
            ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                return errno == ECONNRESET ? IoError::Reset : IoError::Other;
            }
            if (n == 0) {
                return IoError::Closed;
            }
            pending.insert(pending.end(), buf, buf + n);
            return std::nullopt;
        }
    }

    std::expected<std::vector<std::uint8_t>, IoError> read_exact(std::size_t n) {
        while (pending.size() < n) {
            if (auto e = read_some()) {
                return std::unexpected(*e);
            }
        }
        std::vector<std::uint8_t> out(pending.begin(), pending.begin() + static_cast<long>(n));
        pending.erase(pending.begin(), pending.begin() + static_cast<long>(n));
        return out;
    }
};

std::expected<Conn, std::string> connect_to(const ProbeOptions& o) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(o.port);
    if (int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        return std::unexpected("cannot resolve " + o.host + ": " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, freeaddrinfo);
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        Conn c;
        c.deadline =
            Clock::now() + std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));
        c.fd = Fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol));
        if (c.fd.get() < 0) {
            last = std::strerror(errno);
            continue;
        }
        int rc = ::connect(c.fd.get(), a->ai_addr, a->ai_addrlen);
        if (rc < 0 && errno != EINPROGRESS) {
            last = std::strerror(errno);
            continue;
        }
        pollfd p{c.fd.get(), POLLOUT, 0};
        rc = ::poll(&p, 1, c.remaining_ms());
        int err = 0;
        socklen_t len = sizeof err;
        if (rc <= 0) {
            last = "connect timed out";
            continue;
        }
        ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            last = std::strerror(err);
            continue;
        }
        int one = 1;
        ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return c;
    }
    return std::unexpected(last);
}

bool is_ip(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// ---- TLS ---------------------------------------------------------------------------------------

enum class Framing : std::uint8_t { Raw, TdsPrelogin };

struct TlsSettings {
    int min_version = TLS1_VERSION;
    int max_version = TLS1_3_VERSION;
    int security_level = 0;
    bool sni = true;
    std::string sigalgs; // "" OpenSSL's list
    std::string alpn;    // "" none
    std::string ciphers = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
};

// After a completed handshake: bytes to send as application data, and what came back.
struct AppExchange {
    std::vector<std::uint8_t> send;
    std::vector<std::uint8_t> received;
    // complete: true when `received` holds a whole answer
    std::function<bool(const std::vector<std::uint8_t>&)> complete;
};

int g_handshake_index = -1;

void on_info(const SSL* ssl, int where, int ret) {
    if ((where & SSL_CB_READ_ALERT) != 0) {
        auto* h = static_cast<Handshake*>(SSL_get_ex_data(ssl, g_handshake_index));
        if (h != nullptr && h->alert.empty()) {
            h->alert = SSL_alert_desc_string_long(ret);
        }
    }
}

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (out.empty()) {
            out = buf;
        }
    }
    return out;
}

std::vector<std::uint8_t> alpn_wire(const std::string& proto) {
    std::vector<std::uint8_t> w(proto.size() + 1);
    w[0] = static_cast<std::uint8_t>(proto.size());
    for (std::size_t i = 0; i < proto.size(); ++i) {
        w[i + 1] = static_cast<std::uint8_t>(proto[i]);
    }
    return w;
}

std::string key_exchange(SSL* ssl) {
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    if (c == nullptr) {
        return "";
    }
    int kx = SSL_CIPHER_get_kx_nid(c);
    EVP_PKEY* tmp = nullptr;
    std::string group;
    int bits = 0;
    if (SSL_get_peer_tmp_key(ssl, &tmp) == 1 && tmp != nullptr) {
        certs::EvpPkeyPtr owned(tmp);
        bits = EVP_PKEY_get_bits(tmp);
        char name[80] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(tmp, name, sizeof name, &len) == 1) {
            group = name;
        } else if (EVP_PKEY_get_base_id(tmp) == EVP_PKEY_X25519) {
            group = "X25519";
        } else if (EVP_PKEY_get_base_id(tmp) == EVP_PKEY_X448) {
            group = "X448";
        }
    }
    ERR_clear_error();
    if (kx == NID_kx_rsa) {
        return "RSA";
    }
    if (kx == NID_kx_dhe) {
        return "DHE " + std::to_string(bits);
    }
    if (kx == NID_kx_ecdhe) {
        return "ECDHE " + group;
    }
    if (kx == NID_kx_any) { // TLS 1.3
        return "(EC)DHE " + (group.empty() ? std::to_string(bits) : group);
    }
    return OBJ_nid2sn(kx);
}

// tls_handshake: a client handshake on `conn`, framed as `framing`.
Handshake tls_handshake(Conn& conn, Framing framing, const TlsSettings& s,
                        const std::string& server_name, std::string label, std::string purpose,
                        AppExchange* app = nullptr, int linger_ms = 0) {
    Handshake h;
    h.label = std::move(label);
    h.purpose = std::move(purpose);
    ERR_clear_error();
    certs::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        h.outcome = Outcome::Failed;
        h.error = openssl_errors();
        return h;
    }
    SSL_CTX_set_security_level(ctx.get(), s.security_level);
    SSL_CTX_set_min_proto_version(ctx.get(), s.min_version);
    SSL_CTX_set_max_proto_version(ctx.get(), s.max_version);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    if (!s.ciphers.empty()) {
        SSL_CTX_set_cipher_list(ctx.get(), s.ciphers.c_str());
    }
    if (!s.sigalgs.empty()) {
        SSL_CTX_set1_sigalgs_list(ctx.get(), s.sigalgs.c_str());
    }
    ERR_clear_error();
    certs::SslPtr ssl(SSL_new(ctx.get()));
    if (g_handshake_index < 0) {
        g_handshake_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    }
    SSL_set_ex_data(ssl.get(), g_handshake_index, &h);
    SSL_set_info_callback(ssl.get(), on_info);
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), rbio, wbio); // the SSL owns both
    SSL_set_connect_state(ssl.get());
    if (s.sni && !server_name.empty() && !is_ip(server_name)) {
        // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
        SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(server_name.c_str()));
    }
    if (!s.alpn.empty()) {
        auto w = alpn_wire(s.alpn);
        SSL_set_alpn_protos(ssl.get(), w.data(), static_cast<unsigned>(w.size()));
    }
    std::uint8_t packet_id = 1;
    // flush: what OpenSSL wrote, onto the wire (in PRELOGIN packets for TDS 7.x).
    auto flush = [&]() -> std::optional<IoError> {
        std::vector<std::uint8_t> out;
        std::uint8_t buf[16384];
        int n = 0;
        while ((n = BIO_read(wbio, buf, sizeof buf)) > 0) {
            out.insert(out.end(), buf, buf + n);
        }
        if (out.empty()) {
            return std::nullopt;
        }
        if (framing == Framing::Raw) {
            return conn.send_all(out);
        }
        constexpr std::size_t kChunk = tds::kDefaultPacketLen - tds::kHeaderLen;
        std::vector<std::uint8_t> wire;
        for (std::size_t off = 0; off < out.size(); off += kChunk) {
            std::size_t len = std::min(kChunk, out.size() - off);
            tds::PacketHeader hdr;
            hdr.type = static_cast<std::uint8_t>(tds::PacketType::PreLogin);
            hdr.status =
                off + len == out.size() ? tds::status::kEndOfMessage : tds::status::kNormal;
            hdr.packet_id = packet_id++;
            auto p = tds::make_packet(hdr, std::span(out).subspan(off, len));
            wire.insert(wire.end(), p.bytes.begin(), p.bytes.end());
        }
        return conn.send_all(wire);
    };
    // feed: what arrived, into OpenSSL (unwrapped from TDS packets for TDS 7.x).
    auto feed = [&]() -> bool {
        if (framing == Framing::Raw) {
            if (!conn.pending.empty()) {
                BIO_write(rbio, conn.pending.data(), static_cast<int>(conn.pending.size()));
                conn.pending.clear();
            }
            return true;
        }
        while (conn.pending.size() >= tds::kHeaderLen) {
            auto hdr = tds::parse_header(conn.pending);
            if (!hdr) {
                return false;
            }
            if (conn.pending.size() < hdr->length) {
                break;
            }
            BIO_write(rbio, conn.pending.data() + tds::kHeaderLen,
                      static_cast<int>(hdr->length - tds::kHeaderLen));
            conn.pending.erase(conn.pending.begin(), conn.pending.begin() + hdr->length);
        }
        return true;
    };
    auto start = Clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    };
    feed();
    for (;;) {
        int rc = SSL_do_handshake(ssl.get());
        if (auto e = flush()) {
            h.outcome = outcome_of(*e);
            h.error = io_words(*e);
            h.elapsed_ms = elapsed();
            return h;
        }
        if (rc == 1) {
            break;
        }
        int err = SSL_get_error(ssl.get(), rc);
        if (err != SSL_ERROR_WANT_READ) {
            h.outcome = Outcome::Failed;
            h.error = openssl_errors();
            if (h.error.empty() && err == SSL_ERROR_SYSCALL) {
                h.outcome = Outcome::Closed;
                h.error = "connection closed by the server";
            }
            h.elapsed_ms = elapsed();
            return h;
        }
        if (auto e = conn.read_some()) {
            h.outcome = outcome_of(*e);
            h.error = io_words(*e);
            h.elapsed_ms = elapsed();
            // an alert may have arrived with the close: let OpenSSL read it
            return h;
        }
        if (!feed()) {
            h.outcome = Outcome::Failed;
            h.error = "the server's answer is not TDS packets";
            h.elapsed_ms = elapsed();
            return h;
        }
    }
    h.elapsed_ms = elapsed();
    h.outcome = Outcome::Ok;
    h.version = SSL_get_version(ssl.get());
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl.get())) {
        h.cipher = SSL_CIPHER_get_name(c);
    }
    h.key_exchange = key_exchange(ssl.get());
    int sig_nid = NID_undef;
    if (SSL_get_peer_signature_nid(ssl.get(), &sig_nid) == 1 && sig_nid != NID_undef) {
        h.signature_hash = OBJ_nid2sn(sig_nid);
    }
    ERR_clear_error();
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl.get(), &alpn, &alpn_len);
    if (alpn != nullptr) {
        h.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    }
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get())) {
        for (int i = 0; i < sk_X509_num(chain); ++i) {
            unsigned char* der = nullptr;
            int len = i2d_X509(sk_X509_value(chain, i), &der);
            if (len > 0) {
                h.chain.emplace_back(der, der + len);
                OPENSSL_free(der);
            }
        }
    }
    if (app == nullptr && linger_ms > 0) {
        // Does the connection survive the handshake? (A reset sent right after a TLS 1.3
        // server flight arrives after the client has finished.) Session tickets may come.
        auto until = Clock::now() + std::chrono::milliseconds(linger_ms);
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            if (left.count() <= 0) {
                break;
            }
            pollfd p{conn.fd.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            std::uint8_t buf[4096];
            ssize_t n = ::recv(conn.fd.get(), buf, sizeof buf, 0);
            if (n < 0 && errno == ECONNRESET) {
                h.outcome = Outcome::Reset;
                h.error = "connection reset right after the handshake";
                return h;
            }
            if (n == 0) {
                h.outcome = Outcome::Closed;
                h.error = "connection closed right after the handshake";
                return h;
            }
            if (n < 0) {
                break;
            }
        }
    }
    if (app != nullptr && framing == Framing::Raw) {
        SSL_write(ssl.get(), app->send.data(), static_cast<int>(app->send.size()));
        if (!flush()) {
            for (int rounds = 0; rounds < 50; ++rounds) {
                std::uint8_t buf[16384];
                int n = SSL_read(ssl.get(), buf, sizeof buf);
                if (n > 0) {
                    app->received.insert(app->received.end(), buf, buf + n);
                    if (app->complete && app->complete(app->received)) {
                        break;
                    }
                    continue;
                }
                if (SSL_get_error(ssl.get(), n) != SSL_ERROR_WANT_READ || flush() ||
                    conn.read_some()) {
                    break;
                }
                feed();
            }
        }
        ERR_clear_error();
    }
    return h;
}

// ---- the protocols' negotiation --------------------------------------------------------------

std::vector<std::uint8_t> tds_prelogin_packet() {
    tds::PreloginVersion v{18, 0, 0, 0};
    const std::uint8_t thread[4] = {0, 0, 0, 0};
    auto payload = tds::PreloginBuilder()
                       .version(v)
                       .encryption(0x01)
                       .instance_ok()
                       .add(tds::prelogin_token::kThreadId, thread)
                       .mars(false)
                       .build();
    tds::PacketHeader hdr;
    hdr.type = static_cast<std::uint8_t>(tds::PacketType::PreLogin);
    hdr.status = tds::status::kEndOfMessage;
    hdr.packet_id = 1;
    return tds::make_packet(hdr, payload).bytes;
}

// tds_prelogin: send PRELOGIN, read the answer (one message, possibly several packets).
std::expected<tds::Prelogin, std::string> tds_prelogin(Conn& c) {
    if (auto e = c.send_all(tds_prelogin_packet())) {
        return std::unexpected(io_words(*e));
    }
    std::vector<std::uint8_t> payload;
    for (;;) {
        auto head = c.read_exact(tds::kHeaderLen);
        if (!head) {
            return std::unexpected(io_words(head.error()));
        }
        auto hdr = tds::parse_header(*head);
        if (!hdr) {
            return std::unexpected("the answer is not a TDS packet");
        }
        auto body = c.read_exact(hdr->length - tds::kHeaderLen);
        if (!body) {
            return std::unexpected(io_words(body.error()));
        }
        payload.insert(payload.end(), body->begin(), body->end());
        if (hdr->end_of_message()) {
            break;
        }
        if (payload.size() > 64 * 1024) {
            return std::unexpected("PRELOGIN answer too long");
        }
    }
    auto pre = tds::Prelogin::parse(payload);
    if (!pre) {
        return std::unexpected("PRELOGIN answer does not parse: " +
                               std::string(tds::to_string(pre.error())));
    }
    return *pre;
}

std::expected<char, std::string> pg_ssl_request(Conn& c) {
    pg::StartupPacket req;
    req.kind = pg::StartupKind::SslRequest;
    req.code = pg::kSslRequestCode;
    if (auto e = c.send_all(pg::encode_startup(req))) {
        return std::unexpected(io_words(*e));
    }
    auto b = c.read_exact(1);
    if (!b) {
        return std::unexpected(io_words(b.error()));
    }
    return static_cast<char>(b->front());
}

std::expected<mysql::Handshake, std::string> mysql_greeting(Conn& c) {
    mysql::PacketReader reader(1 << 20);
    for (;;) {
        reader.feed(c.pending);
        c.pending.clear();
        auto p = reader.next();
        if (!p) {
            return std::unexpected("the greeting is not a MySQL packet");
        }
        if (*p) {
            c.pending = reader.take_buffered();
            const auto& payload = (*p)->payload;
            if (!payload.empty() && payload.front() == 0xFF) {
                auto err = mysql::decode_err(payload);
                return std::unexpected("the server sent an error: " +
                                       (err ? std::to_string(err->code) + " " + err->message
                                            : std::string("(unreadable)")));
            }
            auto hs = mysql::decode_handshake(payload);
            if (!hs) {
                return std::unexpected("the greeting does not parse");
            }
            return *hs;
        }
        if (auto e = c.read_some()) {
            return std::unexpected(io_words(*e));
        }
    }
}

constexpr std::uint32_t kMysqlClientCaps = mysql::cap::LongPassword | mysql::cap::LongFlag |
                                           mysql::cap::Protocol41 | mysql::cap::Transactions |
                                           mysql::cap::SecureConnection | mysql::cap::PluginAuth;

std::optional<std::string> mysql_ssl_request(Conn& c) {
    mysql::SslRequest r;
    r.capabilities = kMysqlClientCaps | mysql::cap::Ssl;
    r.max_packet_size = 16 * 1024 * 1024;
    r.character_set = 45; // utf8mb4_general_ci
    if (auto e = c.send_all(mysql::frame(1, mysql::encode_ssl_request(r)))) {
        return io_words(*e);
    }
    return std::nullopt;
}

// ---- the probe plan ----------------------------------------------------------------------------

struct Transport {
    enum class Kind : std::uint8_t { Tds7, Tds8, PgRequest, PgDirect, Mysql } kind;
};

class Prober {
  public:
    explicit Prober(const ProbeOptions& o) : o_(o) {}

    // open: a connection made ready for a ClientHello over `t`; nullopt on a failure, which
    // is written into `h`.
    std::optional<Conn> open(Transport t, Handshake& h) {
        auto c = connect_to(o_);
        if (!c) {
            h.outcome = Outcome::NotAttempted;
            h.error = "connect: " + c.error();
            return std::nullopt;
        }
        switch (t.kind) {
        case Transport::Kind::Tds7: {
            auto pre = tds_prelogin(*c);
            if (!pre) {
                h.outcome = Outcome::NotAttempted;
                h.error = "PRELOGIN: " + pre.error();
                return std::nullopt;
            }
            break;
        }
        case Transport::Kind::PgRequest: {
            auto a = pg_ssl_request(*c);
            if (!a || *a != 'S') {
                h.outcome = Outcome::NotAttempted;
                h.error = a ? std::string("SSLRequest answered '") + *a + "'" : a.error();
                return std::nullopt;
            }
            break;
        }
        case Transport::Kind::Mysql: {
            auto g = mysql_greeting(*c);
            if (!g) {
                h.outcome = Outcome::NotAttempted;
                h.error = g.error();
                return std::nullopt;
            }
            if (auto e = mysql_ssl_request(*c)) {
                h.outcome = Outcome::NotAttempted;
                h.error = *e;
                return std::nullopt;
            }
            break;
        }
        case Transport::Kind::Tds8:
        case Transport::Kind::PgDirect:
            break;
        }
        return std::move(*c);
    }

    Handshake run(Transport t, const TlsSettings& s, std::string label, std::string purpose,
                  AppExchange* app = nullptr, int linger_ms = 0) {
        Handshake h;
        h.label = label;
        h.purpose = purpose;
        auto c = open(t, h);
        if (!c) {
            return h;
        }
        Framing f = t.kind == Transport::Kind::Tds7 ? Framing::TdsPrelogin : Framing::Raw;
        return tls_handshake(*c, f, s, o_.server_name, std::move(label), std::move(purpose), app,
                             linger_ms);
    }

    std::string alpn_for(Transport t) const {
        switch (t.kind) {
        case Transport::Kind::Tds8:
            return "tds/8.0";
        case Transport::Kind::PgRequest:
        case Transport::Kind::PgDirect:
            return "postgresql";
        case Transport::Kind::Tds7:
        case Transport::Kind::Mysql:
            return "";
        }
        return "";
    }

    // The TLS series on one transport: baseline first (its chain is the one analysed).
    void tls_series(Transport t, Observations& obs, AppExchange* app) {
        TlsSettings base;
        base.alpn = alpn_for(t);
        obs.handshakes.push_back(run(t, base, "baseline",
                                     "any version, security level 0, SNI, ALPN as the protocol's",
                                     app, kLingerMs));
        Outcome b = obs.handshakes.back().outcome;
        if (b == Outcome::Timeout || b == Outcome::NotAttempted) {
            return; // a stalling server would make every probe wait its timeout
        }
        static const std::pair<int, const char*> kVersions[] = {
            {TLS1_VERSION, "tls1.0"},
            {TLS1_1_VERSION, "tls1.1"},
            {TLS1_2_VERSION, "tls1.2"},
            {TLS1_3_VERSION, "tls1.3"},
        };
        for (const auto& [v, label] : kVersions) {
            TlsSettings s = base;
            s.min_version = v;
            s.max_version = v;
            obs.handshakes.push_back(
                run(t, s, label, std::string(label) + " only, security level 0"));
        }
        TlsSettings modern;
        modern.alpn = base.alpn;
        modern.security_level = 2;
        modern.min_version = TLS1_2_VERSION;
        modern.ciphers = "DEFAULT:@SECLEVEL=2";
        obs.handshakes.push_back(
            run(t, modern, "seclevel2", "a current client: TLS 1.2+, OpenSSL security level 2"));
        if (!is_ip(o_.server_name)) {
            TlsSettings nosni = base;
            nosni.sni = false;
            obs.handshakes.push_back(run(t, nosni, "no-sni", "without SNI"));
        }
        TlsSettings few = base;
        few.sigalgs = "RSA+SHA256:RSA-PSS+SHA256:ECDSA+SHA256:ed25519";
        obs.handshakes.push_back(
            run(t, few, "few-sigalgs", "a short signature_algorithms list (4 entries)"));
    }

    Observations run_all() {
        Observations obs;
        obs.protocol = o_.protocol;
        obs.host = o_.host;
        obs.port = o_.port;
        obs.server_name = o_.server_name;
        auto first = connect_to(o_);
        if (!first) {
            obs.connect_error = first.error();
            return obs;
        }
        obs.connected = true;
        switch (o_.protocol) {
        case Protocol::Tds:
            tds_plan(std::move(*first), obs);
            break;
        case Protocol::Postgres:
            pg_plan(std::move(*first), obs);
            break;
        case Protocol::Mysql:
            mysql_plan(std::move(*first), obs);
            break;
        }
        return obs;
    }

  private:
    void tds_plan(Conn first, Observations& obs) {
        auto pre = tds_prelogin(first);
        if (pre) {
            obs.tds.prelogin_answered = true;
            obs.tds.encryption = pre->encryption();
            if (auto v = pre->version()) {
                obs.tds.server_version = v->to_string();
            }
        } else {
            obs.tds.prelogin_error = pre.error();
        }
        // TDS 8.0: TLS first with ALPN tds/8.0.
        obs.tds.strict_tried = true;
        TlsSettings strict;
        strict.alpn = "tds/8.0";
        Handshake s = run(Transport{Transport::Kind::Tds8}, strict, "tds8",
                          "TDS 8.0 strict: TLS first, ALPN tds/8.0");
        obs.tds.strict_ok = s.outcome == Outcome::Ok;
        obs.tds.strict_alpn = s.alpn;
        bool tls_after_prelogin =
            obs.tds.prelogin_answered && obs.tds.encryption.value_or(0x01) != 0x02;
        if (obs.tds.strict_ok) {
            for (auto [v, label] : {std::pair{TLS1_2_VERSION, "tds8-tls1.2"},
                                    std::pair{TLS1_3_VERSION, "tds8-tls1.3"}}) {
                TlsSettings only = strict;
                only.min_version = v;
                only.max_version = v;
                Handshake h = run(Transport{Transport::Kind::Tds8}, only, label,
                                  "TDS 8.0 strict, one TLS version");
                if (h.outcome == Outcome::Ok) {
                    obs.tds.strict_versions.push_back(h.version);
                }
            }
        }
        if (tls_after_prelogin) {
            tls_series(Transport{Transport::Kind::Tds7}, obs, nullptr);
        } else if (obs.tds.strict_ok) {
            tls_series(Transport{Transport::Kind::Tds8}, obs, nullptr);
        }
        obs.handshakes.push_back(std::move(s));
    }

    void pg_plan(Conn first, Observations& obs) {
        auto a = pg_ssl_request(first);
        obs.postgres.ssl_answer = a ? *a : 0;
        // StartupMessage after TLS: the authentication the server asks for.
        pg::StartupPacket startup;
        startup.kind = pg::StartupKind::Startup;
        startup.code = pg::kProtocol30;
        startup.parameters = {{"user", "tlslab_diagnose"},
                              {"database", "postgres"},
                              {"application_name", "tlslab diagnose"}};
        AppExchange app;
        app.send = pg::encode_startup(startup);
        app.complete = [](const std::vector<std::uint8_t>& r) {
            if (r.size() < 5) {
                return false;
            }
            std::uint32_t len = (std::uint32_t{r[1]} << 24) | (std::uint32_t{r[2]} << 16) |
                                (std::uint32_t{r[3]} << 8) | r[4];
            return r.size() >= len + 1;
        };
        if (obs.postgres.ssl_answer == 'S') {
            tls_series(Transport{Transport::Kind::PgRequest}, obs, &app);
            read_auth_request(app.received, obs.postgres);
        }
        obs.postgres.direct_tried = true;
        TlsSettings direct;
        direct.alpn = "postgresql";
        Handshake d = run(Transport{Transport::Kind::PgDirect}, direct, "pg-direct",
                          "direct SSL (TLS first, ALPN postgresql)");
        obs.postgres.direct_ok = d.outcome == Outcome::Ok;
        obs.postgres.direct_alpn = d.alpn;
        if (obs.postgres.ssl_answer != 'S' && obs.postgres.direct_ok) {
            tls_series(Transport{Transport::Kind::PgDirect}, obs, nullptr);
        }
        obs.handshakes.push_back(std::move(d));
    }

    static void read_auth_request(const std::vector<std::uint8_t>& r, PostgresNegotiation& pg) {
        if (r.size() < 9) {
            return;
        }
        std::uint32_t len = (std::uint32_t{r[1]} << 24) | (std::uint32_t{r[2]} << 16) |
                            (std::uint32_t{r[3]} << 8) | r[4];
        if (len < 4 || r.size() < len + 1) {
            return;
        }
        if (r[0] == 'E') {
            pg.auth_request = "error";
            return;
        }
        if (r[0] != 'R') {
            return;
        }
        std::uint32_t code = (std::uint32_t{r[5]} << 24) | (std::uint32_t{r[6]} << 16) |
                             (std::uint32_t{r[7]} << 8) | r[8];
        switch (code) {
        case 0:
            pg.auth_request = "none (trust)";
            break;
        case 3:
            pg.auth_request = "cleartext password";
            break;
        case 5:
            pg.auth_request = "MD5";
            break;
        case 10: {
            pg.auth_request = "SASL";
            std::string cur;
            for (std::size_t i = 9; i < len + 1; ++i) {
                if (r[i] == 0) {
                    if (cur.empty()) {
                        break;
                    }
                    pg.sasl_mechanisms.push_back(cur);
                    cur.clear();
                } else {
                    cur += static_cast<char>(r[i]);
                }
            }
            break;
        }
        default:
            pg.auth_request = "code " + std::to_string(code);
            break;
        }
    }

    void mysql_plan(Conn first, Observations& obs) {
        auto g = mysql_greeting(first);
        if (!g) {
            obs.mysql.plaintext_message = g.error();
            return;
        }
        obs.mysql.greeting = true;
        obs.mysql.server_version = g->server_version;
        obs.mysql.mariadb = g->is_mariadb();
        obs.mysql.client_ssl = (g->capabilities & mysql::cap::Ssl) != 0;
        // A login in clear on this first connection: is plaintext refused (error 3159)?
        mysql::HandshakeResponse resp;
        resp.capabilities = kMysqlClientCaps;
        resp.max_packet_size = 16 * 1024 * 1024;
        resp.character_set = 45;
        resp.user = "tlslab_diagnose";
        resp.auth_plugin = "mysql_native_password";
        obs.mysql.plaintext_tried = true;
        if (!first.send_all(mysql::frame(1, mysql::encode_handshake_response(resp)))) {
            mysql::PacketReader reader(1 << 20);
            for (int i = 0; i < 10; ++i) {
                reader.feed(first.pending);
                first.pending.clear();
                auto p = reader.next();
                if (!p) {
                    break;
                }
                if (*p) {
                    const auto& payload = (*p)->payload;
                    if (!payload.empty() && payload.front() == 0xFF) {
                        if (auto err = mysql::decode_err(payload)) {
                            obs.mysql.plaintext_error = err->code;
                            obs.mysql.plaintext_message = err->message;
                        }
                    }
                    break;
                }
                if (first.read_some()) {
                    break;
                }
            }
        }
        if (obs.mysql.client_ssl) {
            tls_series(Transport{Transport::Kind::Mysql}, obs, nullptr);
        }
    }

    ProbeOptions o_;
};

} // namespace

Observations probe(const ProbeOptions& options) {
    ProbeOptions o = options;
    if (o.server_name.empty()) {
        o.server_name = o.host;
    }
    return Prober(o).run_all();
}

} // namespace proxy::app::diagnose
