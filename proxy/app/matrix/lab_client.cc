#include <httplib.h>

#include <proxy/app/matrix/lab_client.h>
#include <proxy/net/address.h>

namespace proxy::app::matrix {

std::expected<std::unique_ptr<LabClient>, std::string>
LabClient::connect(const std::string& address, const std::string& token) {
    auto where = net::parse_host_port(address);
    if (!where) {
        return std::unexpected("--admin " + where.error());
    }
    std::unique_ptr<LabClient> c(new LabClient());
    c->address_ = address;
    c->client_ = std::make_unique<httplib::Client>(where->host, where->port);
    c->client_->set_connection_timeout(5, 0);
    c->client_->set_read_timeout(15, 0);
    if (!token.empty()) {
        c->client_->set_bearer_token_auth(token);
    }
    return c;
}

LabClient::~LabClient() = default;

std::expected<nlohmann::json, std::string> LabClient::get(const std::string& path) {
    auto res = client_->Get(path);
    if (!res) {
        return std::unexpected("the lab's admin API at " + address_ + " did not answer GET " +
                               path + ": " + httplib::to_string(res.error()));
    }
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status != 200) {
        std::string why =
            !body.is_discarded() && body.contains("error") && body["error"].is_string()
                ? body["error"].get<std::string>()
                : res->body.substr(0, 200);
        return std::unexpected("GET " + path + ": " + std::to_string(res->status) + " " + why);
    }
    if (body.is_discarded()) {
        return std::unexpected("GET " + path + ": the answer is not JSON");
    }
    return body;
}

std::expected<nlohmann::json, std::string> LabClient::lab_info() {
    return get("/lab");
}
std::expected<nlohmann::json, std::string> LabClient::scenarios() {
    return get("/scenarios");
}
std::expected<nlohmann::json, std::string> LabClient::listeners() {
    return get("/listeners");
}

std::expected<ListenerSessions, std::string> LabClient::sessions_of(const std::string& listener,
                                                                    std::uint64_t after) {
    auto body = get("/sessions?listener=" + httplib::detail::encode_query_param(listener) +
                    "&after=" + std::to_string(after));
    if (!body) {
        return std::unexpected(body.error());
    }
    ListenerSessions s;
    if (body->contains("live") && (*body)["live"].is_number_unsigned()) {
        s.live = (*body)["live"].get<std::size_t>();
    }
    if (body->contains("records") && (*body)["records"].is_array()) {
        s.records = (*body)["records"];
    }
    return s;
}

} // namespace proxy::app::matrix
