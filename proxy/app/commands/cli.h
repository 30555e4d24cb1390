#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>

namespace proxy::app {

// Options every subcommand accepts, before or after the command name.
struct GlobalOptions {
    std::filesystem::path state_dir; // --state-dir, default $XDG_STATE_HOME/tlslab
    std::string log_level = "info";  // --log-level trace|debug|info|warn|error|off
};

// CommandLine is argv split into the global options, the command name and the command's own
// arguments (program name first, as cxxopts expects).
struct CommandLine {
    GlobalOptions global;
    std::string command;
    std::vector<std::string> args;
    bool help = false;
    bool version = false;
};

// split_command_line separates global options from the rest; errors are for the user.
std::expected<CommandLine, std::string> split_command_line(int argc, char** argv);

// add_global_options documents the global options in a subcommand's help.
void add_global_options(cxxopts::Options& options);

// parse_command runs a subcommand's cxxopts parser over its arguments.
cxxopts::ParseResult parse_command(cxxopts::Options& options, const std::vector<std::string>& args);

// setup_logging sends readable log lines to stderr at the requested level.
std::expected<void, std::string> setup_logging(const std::string& level);

} // namespace proxy::app
