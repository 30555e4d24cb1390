#pragma once

// How a matrix cell addresses the lab: the host its driver dials ({host}) and, for a scenario
// that needs DNS names resolved to the lab (`tlslab scenarios --json`: dial "host" and its
// dial_host, the `resolve` list), how those names get there.
//
// Theory of operation. plan_dial reads the scenario's JSON: dial "name" -> the lab's host name,
// "ip" -> the lab's address, "host" -> dial_host. A name of `resolve` that already resolves to
// a loopback address on this machine needs nothing. Otherwise, as root, the driver's command
// runs in a mount namespace of its own whose /etc/hosts is a private copy with "127.0.0.1 NAME"
// lines (with_private_hosts: `unshare -m` + `mount --bind`; the machine's /etc/hosts is never
// changed); not as root, the cell is not judged, with what the user can do about it.
// The resolver and the root check are parameters, so the choice is testable without either.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace proxy::app::matrix {

struct DialEnvironment {
    std::string lab_host = "localhost";                      // {host} of scenarios dialled by name
    std::string lab_ip = "127.0.0.1";                        // of scenarios dialled by address
    std::function<bool(const std::string&)> resolves_to_lab; // the name reaches the lab here
    bool root = false;                                       // may unshare and mount
};

struct DialPlan {
    std::string host;                       // {host}
    std::vector<std::string> private_hosts; // map these to 127.0.0.1 for the command
    std::optional<std::string> not_judged;  // the cell cannot run here, and why
};

DialPlan plan_dial(const nlohmann::json& scenario, const DialEnvironment& env);

// getaddrinfo: does `name` resolve, and only to loopback addresses (127/8, ::1)?
bool resolves_to_loopback(const std::string& name);

// The private hosts file: `base` (the machine's /etc/hosts), then "127.0.0.1 NAME" per name.
std::string private_hosts_text(const std::string& base, const std::vector<std::string>& names);

// `command` (a /bin/sh -c string) run with hosts_file bind-mounted over /etc/hosts in a private
// mount namespace.
std::string with_private_hosts(const std::string& command, const std::string& hosts_file);

// A private hosts file on disk for one cell; removed when it goes out of scope.
class PrivateHostsFile {
  public:
    static std::optional<PrivateHostsFile> create(const std::vector<std::string>& names,
                                                  std::string& error);
    PrivateHostsFile(PrivateHostsFile&& other) noexcept;
    PrivateHostsFile& operator=(PrivateHostsFile&&) = delete;
    PrivateHostsFile(const PrivateHostsFile&) = delete;
    PrivateHostsFile& operator=(const PrivateHostsFile&) = delete;
    ~PrivateHostsFile();
    const std::string& path() const { return path_; }

  private:
    explicit PrivateHostsFile(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

} // namespace proxy::app::matrix
