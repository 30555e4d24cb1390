#pragma once

// The FATAL ErrorResponses a PostgreSQL server sends in its startup phase, as bytes, in its own
// words: the proxy's adapter and the serve session refuse the same things the same way.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxy {

// host_of: the client's address without the port, as PostgreSQL names the host in its errors
// ("127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1").
std::string host_of(const std::string& address);

// A FATAL ErrorResponse (S and V FATAL, C sqlstate, M message, D detail when given).
std::vector<std::uint8_t> postgres_fatal(std::string_view sqlstate, std::string_view message,
                                         std::string_view detail = {});
// 28000: a hostssl-only pg_hba.conf and a StartupMessage in clear.
std::vector<std::uint8_t> no_pg_hba_entry_without_encryption(const std::string& client_address,
                                                             const std::string& user,
                                                             const std::string& database);
// 08P01: bytes behind an SSLRequest before its answer (CVE-2021-23214).
std::vector<std::uint8_t> unencrypted_data_after_ssl_request();

} // namespace proxy
