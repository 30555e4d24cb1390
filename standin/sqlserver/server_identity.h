#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tds/sql_types.h>

namespace standin::sqlserver {

// ServerIdentity is who the stand-in says it is: the answers of @@VERSION, @@SERVERNAME,
// SERVERPROPERTY and LOGINACK. SQL Server 2022 RTM by default.
struct ServerIdentity {
    std::string server_name = "tlslab";
    std::string machine_name = "tlslab";
    std::string version_text; // @@VERSION; built from the fields below when empty
    std::uint8_t major = 16;
    std::uint8_t minor = 0;
    std::uint16_t build = 1000;
    std::uint16_t revision = 6;
    std::string product_level = "RTM";
    std::string edition = "Developer Edition (64-bit)";
    std::int64_t edition_id = -2117995310; // Developer
    std::int32_t engine_edition = 3;       // Enterprise, Developer
    std::vector<std::string> databases = {"master", "tempdb", "model", "msdb", "lab"};
    // The clock GETDATE() and friends read (UTC). Injected so tests can fix time.
    std::function<tds::DateTime()> now_utc;

    std::string product_version() const; // "16.0.1000.6"
    std::string version() const;         // @@VERSION
};

// system_clock_utc: the real clock as a tds::DateTime.
tds::DateTime system_clock_utc();

} // namespace standin::sqlserver
