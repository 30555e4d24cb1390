// How a matrix cell dials the lab: {host} from the scenario's dial, and for names the scenario
// needs resolved, a private /etc/hosts (as root) or a cell not judged, with what to do.

#include <set>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <proxy/app/matrix/cell_dial.h>
#include <proxy/app/matrix/child_process.h>

using namespace proxy::app::matrix;
using nlohmann::json;

namespace {

DialEnvironment env(std::set<std::string> resolvable, bool root) {
    DialEnvironment e;
    e.lab_host = "lab.example";
    e.lab_ip = "127.0.0.1";
    e.resolves_to_lab = [resolvable](const std::string& n) {
        return resolvable.contains(n);
    };
    e.root = root;
    return e;
}

json scenario(const std::string& dial, json dial_host, json resolve) {
    return {{"name", "x"}, {"dial", dial}, {"dial_host", dial_host}, {"resolve", resolve}};
}

} // namespace

TEST_CASE("the host a cell dials follows the scenario's dial", "[matrix]") {
    auto by_name = plan_dial(scenario("name", nullptr, json::array()), env({}, false));
    CHECK(by_name.host == "lab.example");
    CHECK(by_name.private_hosts.empty());
    CHECK_FALSE(by_name.not_judged);
    auto by_ip = plan_dial(scenario("ip", nullptr, json::array()), env({}, false));
    CHECK(by_ip.host == "127.0.0.1");
    auto by_host = plan_dial(scenario("host", "sql01.corp.example", {"sql01.corp.example"}),
                             env({"sql01.corp.example"}, false));
    CHECK(by_host.host == "sql01.corp.example");
    CHECK(by_host.private_hosts.empty()); // it resolves here already: nothing to do
    CHECK_FALSE(by_host.not_judged);
    // no scenario JSON (a sanity cell), or a malformed one: the lab's name
    CHECK(plan_dial(json::object(), env({}, false)).host == "lab.example");
    CHECK(plan_dial(json::array(), env({}, false)).host == "lab.example");
    CHECK(plan_dial(scenario("host", 5, 7), env({}, false)).host == "lab.example");
}

TEST_CASE("a name that does not resolve: a private hosts file as root, else not judged",
          "[matrix]") {
    json s = scenario("host", "aglistener.corp.example",
                      {"aglistener.corp.example", "sql-replica.lab.test"});
    auto as_root = plan_dial(s, env({"sql-replica.lab.test"}, true));
    CHECK(as_root.host == "aglistener.corp.example");
    CHECK(as_root.private_hosts ==
          std::vector<std::string>{"aglistener.corp.example", "sql-replica.lab.test"});
    CHECK_FALSE(as_root.not_judged);

    auto user = plan_dial(s, env({"sql-replica.lab.test"}, false));
    CHECK(user.private_hosts.empty());
    REQUIRE(user.not_judged);
    CHECK(*user.not_judged == "the scenario dials aglistener.corp.example: map it to 127.0.0.1 "
                              "in /etc/hosts, or run tlslab matrix as root");
    auto neither = plan_dial(s, env({}, false));
    REQUIRE(neither.not_judged);
    CHECK(*neither.not_judged == "the scenario dials aglistener.corp.example and "
                                 "sql-replica.lab.test: map them to 127.0.0.1 in /etc/hosts, "
                                 "or run tlslab matrix as root");
    // a routing target with dial by name: the cell dials the lab's name, the target resolves
    auto routed = plan_dial(scenario("name", nullptr, {"sql-replica.lab.test"}), env({}, true));
    CHECK(routed.host == "lab.example");
    CHECK(routed.private_hosts == std::vector<std::string>{"sql-replica.lab.test"});
}

TEST_CASE("the private hosts file keeps the machine's entries and adds the names", "[matrix]") {
    CHECK(private_hosts_text("127.0.0.1 localhost", {"sql01", "sql01.corp.example"}) ==
          "127.0.0.1 localhost\n"
          "# tlslab matrix: names of the scenario (this driver's mount namespace only)\n"
          "127.0.0.1 sql01\n127.0.0.1 sql01.corp.example\n");
    CHECK(private_hosts_text("", {"a"}).ends_with("\n127.0.0.1 a\n"));
}

TEST_CASE("the wrapped command sees the names, and runs with its words unchanged", "[matrix]") {
    std::string error;
    auto file = PrivateHostsFile::create({"sql01.corp.example"}, error);
    REQUIRE(file);
    std::string wrapped = with_private_hosts(
        "getent hosts sql01.corp.example; printf '%s|' 'two words' \"it's\" '$HOME'", file->path());
    CHECK(wrapped.starts_with("unshare -m /bin/sh -c "));
    if (::geteuid() != 0) {
        WARN("not root: the private /etc/hosts is not run here");
        return;
    }
    auto r = run_command(wrapped, std::chrono::seconds(20));
    INFO(r.err);
    CHECK(r.out == "127.0.0.1       sql01.corp.example\ntwo words|it's|$HOME|");
    // the machine's own /etc/hosts is untouched
    auto outside =
        run_command("getent hosts sql01.corp.example || echo none", std::chrono::seconds(20));
    CHECK(outside.out == "none\n");
}

TEST_CASE("a private hosts file exists while its owner lives", "[matrix]") {
    std::string error;
    std::string path;
    {
        auto file = PrivateHostsFile::create({"sql01.corp.example"}, error);
        REQUIRE(file);
        path = file->path();
        auto r = run_command("tail -n 1 " + path, std::chrono::seconds(10));
        CHECK(r.out == "127.0.0.1 sql01.corp.example\n");
    }
    auto gone =
        run_command("test -e " + path + " && echo there || echo gone", std::chrono::seconds(10));
    CHECK(gone.out == "gone\n");
}

TEST_CASE("loopback names resolve to the lab, others do not", "[matrix]") {
    CHECK(resolves_to_loopback("localhost"));
    CHECK(resolves_to_loopback("127.0.0.1"));
    CHECK_FALSE(resolves_to_loopback("name-that-does-not-exist.invalid"));
    CHECK_FALSE(resolves_to_loopback("192.0.2.1")); // TEST-NET-1: not the lab
}
