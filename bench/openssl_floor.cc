// openssl_floor: what OpenSSL itself costs for the TLS work of one MITM login, with no proxy
// around it: the floor under scripts/bench's "proxy CPU per MITM login" and "memory per idle
// MITM session" rows.
//
// Per login, in memory (no sockets, no event loop, no records): the proxy's client leg, a
// server-role TLS 1.3 handshake with the given leaf (as `tlslab proxy --scenario valid` shows
// it), and its upstream leg, a client-role handshake that verifies the server against the CA and
// the name and resumes the session of the login before (tlslab's session store; haproxy's
// server session reuse). Only the CPU of the proxy's own SSL calls is counted (the thread's CPU
// clock around each call); the peers (the database client, the server) run in the same thread
// uncounted. Then both proxy-side SSL objects are made idle as tlslab makes them (empty memory
// BIOs, SSL_free_buffers) and kept: the heap they hold (mallinfo2) is the memory floor.
//
// Usage: openssl_floor --cert LEAF.pem --key LEAF.key --ca CA.pem [--n N]
// Prints one JSON object: {"logins": N, "cpu_ms_per_login": ..., "kib_per_idle_session": ...}.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <memory>
#include <string>
#include <string_view>
#include <time.h>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using Ssl = std::unique_ptr<SSL, SslFree>;
using Ctx = std::unique_ptr<SSL_CTX, CtxFree>;
using Session = std::unique_ptr<SSL_SESSION, SessionFree>;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "openssl_floor: %s\n", what.c_str());
    ERR_print_errors_fp(stderr);
    std::exit(1);
}

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The proxy side's calls are timed; the peer's are not.
struct Meter {
    double seconds = 0;
    template <typename F> auto operator()(F&& f) {
        double t0 = thread_cpu_seconds();
        auto r = f();
        seconds += thread_cpu_seconds() - t0;
        return r;
    }
};

BIO* memory_bio() {
    BIO* b = BIO_new(BIO_s_mem());
    if (b == nullptr) {
        die("BIO_new");
    }
    return b;
}

// Moves whatever `from` wrote into `to`'s read BIO.
void pump(SSL* from, SSL* to) {
    std::vector<char> buf(1 << 16);
    BIO* out = SSL_get_wbio(from);
    BIO* in = SSL_get_rbio(to);
    int n = 0;
    while ((n = BIO_read(out, buf.data(), static_cast<int>(buf.size()))) > 0) {
        BIO_write(in, buf.data(), n);
    }
}

void attach(SSL* s) {
    SSL_set_bio(s, memory_bio(), memory_bio());
}

// Handshake between the proxy-side object (metered) and its peer, both in memory.
void handshake(SSL* proxy_side, SSL* peer, Meter& meter, bool proxy_is_client) {
    for (int round = 0; round < 16; ++round) {
        if (proxy_is_client) {
            meter([&] { return SSL_do_handshake(proxy_side); });
            pump(proxy_side, peer);
            SSL_do_handshake(peer);
            pump(peer, proxy_side);
        } else {
            SSL_do_handshake(peer);
            pump(peer, proxy_side);
            meter([&] { return SSL_do_handshake(proxy_side); });
            pump(proxy_side, peer);
        }
        if (SSL_is_init_finished(proxy_side) != 0 && SSL_is_init_finished(peer) != 0) {
            return;
        }
    }
    die("the handshake did not finish");
}

// What tlslab does to an idle leg (TlsEndpoint::release_empty_bios).
void make_idle(SSL* s) {
    SSL_set0_rbio(s, memory_bio());
    SSL_set0_wbio(s, memory_bio());
    SSL_free_buffers(s);
}

Session g_last_session; // the upstream leg's session store: the newest ticket
int keep_session(SSL*, SSL_SESSION* s) {
    g_last_session.reset(s);
    return 1;
}

Ctx context(const SSL_METHOD* method) {
    Ctx ctx(SSL_CTX_new(method));
    if (!ctx) {
        die("SSL_CTX_new");
    }
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

void use_leaf(SSL_CTX* ctx, const char* cert, const char* key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        die(std::string("cannot load ") + cert + " / " + key);
    }
}

} // namespace

int main(int argc, char** argv) {
    const char* cert = nullptr;
    const char* key = nullptr;
    const char* ca = nullptr;
    int n = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        if (a == "--cert") {
            cert = argv[i + 1];
        } else if (a == "--key") {
            key = argv[i + 1];
        } else if (a == "--ca") {
            ca = argv[i + 1];
        } else if (a == "--n") {
            n = std::atoi(argv[i + 1]);
        } else {
            die("unknown option " + std::string(a));
        }
    }
    if (cert == nullptr || key == nullptr || ca == nullptr || n < 1 || n > 100000) {
        die("usage: openssl_floor --cert LEAF.pem --key LEAF.key --ca CA.pem [--n 1..100000]");
    }
    // The proxy's two contexts, as tlslab makes them.
    Ctx client_leg = context(TLS_server_method());
    use_leaf(client_leg.get(), cert, key);
    SSL_CTX_set_session_cache_mode(client_leg.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(client_leg.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(client_leg.get(), 0);
    Ctx upstream_leg = context(TLS_client_method());
    if (SSL_CTX_load_verify_locations(upstream_leg.get(), ca, nullptr) != 1) {
        die(std::string("cannot load ") + ca);
    }
    SSL_CTX_set_verify(upstream_leg.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(upstream_leg.get(),
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(upstream_leg.get(), keep_session);
    // The peers: a database client that validates nothing (its cost is not counted) and a
    // server that issues one ticket per connection, as the stand-in does with --tls-resumption.
    Ctx database_client = context(TLS_client_method());
    Ctx server = context(TLS_server_method());
    use_leaf(server.get(), cert, key);
    SSL_CTX_set_num_tickets(server.get(), 1);

    std::vector<Ssl> kept;
    kept.reserve(static_cast<std::size_t>(n) * 2);
    Meter meter;
    std::size_t held_bytes = 0;
    int resumed = 0;
    for (int i = 0; i < n; ++i) {
        const std::size_t before = mallinfo2().uordblks;
        Ssl front(SSL_new(client_leg.get()));
        Ssl client(SSL_new(database_client.get()));
        Ssl back(SSL_new(upstream_leg.get()));
        Ssl upstream(SSL_new(server.get()));
        if (!front || !client || !back || !upstream) {
            die("SSL_new");
        }
        for (SSL* s : {front.get(), client.get(), back.get(), upstream.get()}) {
            attach(s);
        }
        SSL_set_accept_state(front.get());
        SSL_set_connect_state(client.get());
        SSL_set_accept_state(upstream.get());
        SSL_set_connect_state(back.get());
        SSL_set1_host(back.get(), "localhost");
        std::string sni = "localhost";
        SSL_ctrl(back.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni.data());
        if (g_last_session) {
            SSL_set_session(back.get(), g_last_session.get());
        }
        handshake(front.get(), client.get(), meter, false);
        handshake(back.get(), upstream.get(), meter, true);
        if (SSL_get_verify_result(back.get()) != X509_V_OK) {
            die("the upstream leg did not verify the server");
        }
        resumed += SSL_session_reused(back.get());
        // The server's ticket arrives with its first bytes; the proxy reads them.
        char byte = 'x';
        SSL_write(upstream.get(), &byte, 1);
        pump(upstream.get(), back.get());
        meter([&] { return SSL_read(back.get(), &byte, 1); });
        make_idle(front.get());
        make_idle(back.get());
        client.reset();
        upstream.reset();
        held_bytes += mallinfo2().uordblks - before;
        kept.push_back(std::move(front));
        kept.push_back(std::move(back));
    }
    std::printf("{\"logins\": %d, \"resumed\": %d, \"cpu_ms_per_login\": %.3f, "
                "\"kib_per_idle_session\": %.1f}\n",
                n, resumed, meter.seconds * 1e3 / n, static_cast<double>(held_bytes) / 1024.0 / n);
    return 0;
}
