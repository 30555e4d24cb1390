#pragma once

// Command templates of the driver contract: {host} {port} {ca} {protocol} {scenario} {probes}
// replaced by their values, each shell-quoted, so the command runs under /bin/sh -c whatever
// the values hold. An unknown {word} is an error (a typo must not run a half-made command).

#include <expected>
#include <map>
#include <string>

namespace proxy::app::matrix {

std::string shell_quote(const std::string& value);

std::expected<std::string, std::string>
expand_template(const std::string& tmpl, const std::map<std::string, std::string>& values);

} // namespace proxy::app::matrix
