#pragma once

// The options `tlslab proxy` and `tlslab lab` share, and what each turns into: the lab's set-up
// (names, extra scenarios), the proxy timeouts, where records go, and the admin API. Each
// add_*_options documents a group in a command's help; the *_from functions read the parsed
// arguments back.

#include <expected>
#include <memory>
#include <string>

#include <cxxopts.hpp>

#include <proxy/app/admin/admin_server.h>
#include <proxy/app/commands/cli.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/session_limit.h>

namespace proxy::app {

// --hostname, --scenarios, the three proxy timeouts and the limits.
void add_lab_options(cxxopts::Options& options);
LabOptions lab_options_from(const CommandLine& cl, const cxxopts::ParseResult& args);
void apply_timeouts(ProxyEndpoint::Config& c, const cxxopts::ParseResult& args);

// The limits a user sets (docs/limits.md): --max-sessions per listener (0: unlimited) and
// --max-message-bytes. add_limit_options is part of add_lab_options; `tlslab serve` adds it alone.
struct Limits {
    std::size_t max_sessions = net::SessionLimit::kDefaultMaxSessions;
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};
void add_limit_options(cxxopts::Options& options);
// limits_from: an error (for exit code 2) when --max-message-bytes cannot be read.
std::expected<Limits, std::string> limits_from(const cxxopts::ParseResult& args);
// parse_byte_size: "65536", "64K", "16M", "1G" (binary multiples, KiB/MiB/GiB also read).
std::expected<std::size_t, std::string> parse_byte_size(const std::string& text);

// --threads N: the event loops sessions run on, each on its own thread (worker_loops.h); the
// default is one per core this process may use; `note` is added to the help text.
void add_threads_option(cxxopts::Options& options, const std::string& note = "");
std::expected<std::size_t, std::string> threads_from(const cxxopts::ParseResult& args,
                                                     std::size_t default_threads);

// "Records": --events, --reveal-secrets, --record-messages, --keylog, --pcap.
void add_output_options(cxxopts::Options& options);
OutputOptions output_options_from(const cxxopts::ParseResult& args);

// "Admin API": --admin, --admin-token, --admin-allow-remote.
void add_admin_options(cxxopts::Options& options);
// start_admin: no server (a null pointer) without --admin; an error for a bad address or one
// that cannot be bound.
std::expected<std::unique_ptr<AdminServer>, std::string>
start_admin(const cxxopts::ParseResult& args, net::LoopBridge& bridge, LabState& state);

} // namespace proxy::app
