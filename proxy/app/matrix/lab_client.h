#pragma once

// LabClient: what the matrix needs from a lab, through its admin API (the same API whether the
// matrix started the lab in-process or a user points it at a running one with --admin): the
// lab CA, the scenarios, the listeners, and per listener its live sessions and the records of
// the sessions that ended after a given one.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
class Client;
}

namespace proxy::app::matrix {

struct ListenerSessions {
    std::size_t live = 0;
    nlohmann::json records = nlohmann::json::array(); // oldest first
};

class LabClient {
  public:
    // connect: HOST:PORT of the admin API; `token` as --admin-token, empty for none.
    static std::expected<std::unique_ptr<LabClient>, std::string>
    connect(const std::string& address, const std::string& token);
    ~LabClient();
    LabClient(const LabClient&) = delete;
    LabClient& operator=(const LabClient&) = delete;

    std::expected<nlohmann::json, std::string> lab_info();
    std::expected<nlohmann::json, std::string> scenarios();
    std::expected<nlohmann::json, std::string> listeners();
    std::expected<ListenerSessions, std::string> sessions_of(const std::string& listener,
                                                             std::uint64_t after);
    const std::string& address() const { return address_; }

  private:
    LabClient() = default;
    std::expected<nlohmann::json, std::string> get(const std::string& path);
    std::string address_;
    std::unique_ptr<httplib::Client> client_;
};

} // namespace proxy::app::matrix
