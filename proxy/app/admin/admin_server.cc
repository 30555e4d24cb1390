#include <arpa/inet.h>
#include <array>

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <proxy/app/admin/admin_requests.h>
#include <proxy/app/admin/admin_server.h>

namespace proxy::app {

namespace {

bool is_loopback(const std::string& host) {
    if (host == "localhost") {
        return true;
    }
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    in6_addr a6{};
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void send(httplib::Response& res, const ApiReply& reply) {
    res.status = reply.status;
    res.set_content(reply.body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                    "application/json");
}

ApiReply unavailable() {
    return {503, {{"error", "the lab is not answering (stopping?)"}}};
}

using Digest = std::array<unsigned char, 32>;

// sha256 of a followed by b; nullopt if OpenSSL could not compute it.
std::optional<Digest> sha256(std::string_view a, std::string_view b) {
    Digest d{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
              EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
              EVP_DigestFinal_ex(ctx, d.data(), &len) == 1 && len == d.size();
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return std::nullopt;
    }
    return d;
}

} // namespace

bool bearer_matches(std::string_view authorization, std::string_view token) {
    auto got = sha256(authorization, {});
    auto want = sha256("Bearer ", token);
    if (!got || !want) {
        return false; // a digest that cannot be computed matches nothing
    }
    return CRYPTO_memcmp(got->data(), want->data(), got->size()) == 0;
}

std::expected<std::unique_ptr<AdminServer>, std::string>
AdminServer::start(const Config& config, net::LoopBridge& bridge, LabState& state) {
    if (!config.allow_remote && !is_loopback(config.listen.host)) {
        return std::unexpected("--admin " + config.listen.to_string() +
                               " is not a loopback address (add --admin-allow-remote to allow it)");
    }
    std::unique_ptr<AdminServer> admin(new AdminServer());
    admin->server_ = std::make_unique<httplib::Server>();
    auto& svr = *admin->server_;
    net::LoopBridge* b = &bridge;
    LabState* s = &state;
    std::string token = config.token;

    svr.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
        if (!token.empty() && !bearer_matches(req.get_header_value("Authorization"), token)) {
            send(res, {401, {{"error", "missing or wrong bearer token"}}});
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    auto on_loop = [b](auto fn) {
        return b->call(std::move(fn)).value_or(unavailable());
    };
    auto body_of = [](const httplib::Request& req) {
        return parse_json_body(req.body);
    };
    const ApiReply bad_json{400, {{"error", "the body is not valid JSON"}}};

    svr.Get("/scenarios", [=](const httplib::Request&, httplib::Response& res) {
        send(res, on_loop([s] { return s->scenarios(); }));
    });
    svr.Get("/listeners", [=](const httplib::Request&, httplib::Response& res) {
        send(res, on_loop([s] { return s->listeners(); }));
    });
    svr.Put(R"(/listeners/([^/]+)/scenario)",
            [=](const httplib::Request& req, httplib::Response& res) {
                auto body = body_of(req);
                if (!body) {
                    send(res, bad_json);
                    return;
                }
                std::string id = req.matches[1];
                send(res, on_loop([s, id, json_body = *body] {
                         return s->set_listener_scenario(id, json_body);
                     }));
            });
    svr.Get("/rules", [=](const httplib::Request&, httplib::Response& res) {
        send(res, on_loop([s] { return s->rules(); }));
    });
    svr.Post("/rules", [=](const httplib::Request& req, httplib::Response& res) {
        auto body = body_of(req);
        if (!body) {
            send(res, bad_json);
            return;
        }
        send(res, on_loop([s, json_body = *body] { return s->add_rule(json_body); }));
    });
    svr.Delete(R"(/rules/(\d+))", [=](const httplib::Request& req, httplib::Response& res) {
        std::uint64_t id = parse_id(req.matches[1].str());
        send(res, on_loop([s, id] { return s->delete_rule(id); }));
    });
    svr.Get("/lab", [=](const httplib::Request&, httplib::Response& res) {
        send(res, on_loop([s] { return s->lab_info(); }));
    });
    svr.Get("/sessions", [=](const httplib::Request& req, httplib::Response& res) {
        // ?listener=ID[&after=SESSION]: that listener's live sessions and its whole records
        // newer than SESSION (what tlslab matrix polls per cell).
        if (req.has_param("listener")) {
            std::string listener = req.get_param_value("listener");
            std::uint64_t after =
                req.has_param("after") ? parse_id(req.get_param_value("after")) : 0;
            send(res, on_loop([s, listener, after] { return s->sessions_of(listener, after); }));
            return;
        }
        send(res, on_loop([s] { return s->sessions(); }));
    });
    svr.Get(R"(/sessions/(\d+))", [=](const httplib::Request& req, httplib::Response& res) {
        std::uint64_t id = parse_id(req.matches[1].str());
        send(res, on_loop([s, id] { return s->session(id); }));
    });
    svr.Get("/metrics", [=](const httplib::Request&, httplib::Response& res) {
        send(res, on_loop([s] { return s->metrics(); }));
    });
    svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (res.body.empty()) {
            send(res,
                 {res.status,
                  {{"error", std::to_string(res.status) + " for " + req.method + " " + req.path}}});
        }
    });

    int port = config.listen.port;
    if (port == 0) {
        port = svr.bind_to_any_port(config.listen.host);
        if (port < 0) {
            return std::unexpected("cannot listen on " + config.listen.to_string());
        }
    } else if (!svr.bind_to_port(config.listen.host, port)) {
        return std::unexpected("cannot listen on " + config.listen.to_string() + " (in use?)");
    }
    admin->address_ =
        net::HostPort{config.listen.host, static_cast<std::uint16_t>(port)}.to_string();
    admin->thread_ = std::thread([&svr] { svr.listen_after_bind(); });
    return admin;
}

void AdminServer::stop() {
    if (server_) {
        server_->stop();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

AdminServer::~AdminServer() {
    stop();
}

} // namespace proxy::app
