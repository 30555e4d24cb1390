#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <proxy/app/matrix/cell_dial.h>
#include <proxy/app/matrix/command_template.h>

namespace proxy::app::matrix {

namespace {

std::string text(const nlohmann::json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
}

std::string read_small_file(const std::string& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec || size > 1024 * 1024) {
        return {};
    }
    std::ifstream in(path, std::ios::binary);
    std::string out(static_cast<std::size_t>(size), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<std::size_t>(in.gcount()));
    return out;
}

} // namespace

DialPlan plan_dial(const nlohmann::json& scenario, const DialEnvironment& env) {
    DialPlan plan;
    std::string dial = text(scenario, "dial");
    if (dial == "ip") {
        plan.host = env.lab_ip;
    } else if (dial == "host" && !text(scenario, "dial_host").empty()) {
        plan.host = text(scenario, "dial_host");
    } else {
        plan.host = env.lab_host;
    }
    std::vector<std::string> names;
    if (scenario.is_object() && scenario.contains("resolve") && scenario["resolve"].is_array()) {
        for (const auto& n : scenario["resolve"]) {
            if (n.is_string() && !n.get<std::string>().empty()) {
                names.push_back(n.get<std::string>());
            }
        }
    }
    std::vector<std::string> unresolved;
    for (const auto& n : names) {
        if (!env.resolves_to_lab || !env.resolves_to_lab(n)) {
            unresolved.push_back(n);
        }
    }
    if (unresolved.empty()) {
        return plan;
    }
    if (env.root) {
        plan.private_hosts = names;
        return plan;
    }
    std::string list;
    for (std::size_t i = 0; i < unresolved.size(); ++i) {
        list += (i == 0 ? "" : (i + 1 == unresolved.size() ? " and " : ", ")) + unresolved[i];
    }
    plan.not_judged = "the scenario dials " + list + ": map " +
                      (unresolved.size() == 1 ? "it" : "them") +
                      " to 127.0.0.1 in /etc/hosts, or run tlslab matrix as root";
    return plan;
}

bool resolves_to_loopback(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        return false;
    }
    bool all_loopback = true;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET && a->ai_addrlen >= sizeof(sockaddr_in)) {
            sockaddr_in in4{};
            std::memcpy(&in4, a->ai_addr, sizeof in4);
            all_loopback = all_loopback && (ntohl(in4.sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6 && a->ai_addrlen >= sizeof(sockaddr_in6)) {
            sockaddr_in6 in6{};
            std::memcpy(&in6, a->ai_addr, sizeof in6);
            all_loopback = all_loopback && IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr);
        } else {
            all_loopback = false;
        }
    }
    freeaddrinfo(found);
    return all_loopback;
}

std::string private_hosts_text(const std::string& base, const std::vector<std::string>& names) {
    std::string out = base;
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    out += "# tlslab matrix: names of the scenario (this driver's mount namespace only)\n";
    for (const auto& n : names) {
        out += "127.0.0.1 " + n + "\n";
    }
    return out;
}

std::string with_private_hosts(const std::string& command, const std::string& hosts_file) {
    return "unshare -m /bin/sh -c " +
           shell_quote("mount --bind " + shell_quote(hosts_file) +
                       " /etc/hosts && exec /bin/sh -c " + shell_quote(command));
}

std::optional<PrivateHostsFile> PrivateHostsFile::create(const std::vector<std::string>& names,
                                                         std::string& error) {
    std::error_code ec;
    auto dir = std::filesystem::temp_directory_path(ec);
    if (ec) {
        dir = "/tmp";
    }
    std::string tmpl = (dir / "tlslab-hosts-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    if (fd < 0) {
        error =
            "cannot create a private hosts file in " + dir.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    PrivateHostsFile file(tmpl);
    std::string content = private_hosts_text(read_small_file("/etc/hosts"), names);
    std::size_t written = 0;
    while (written < content.size()) {
        auto n = ::write(fd, content.data() + written, content.size() - written);
        if (n <= 0) {
            error = "cannot write " + tmpl + ": " + std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
        written += static_cast<std::size_t>(n);
    }
    ::fchmod(fd, 0644);
    ::close(fd);
    return file;
}

PrivateHostsFile::PrivateHostsFile(PrivateHostsFile&& other) noexcept
    : path_(std::move(other.path_)) {
    other.path_.clear();
}

PrivateHostsFile::~PrivateHostsFile() {
    if (!path_.empty()) {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
}

} // namespace proxy::app::matrix
