#pragma once

// Text for the report pages (report.html, the diff's page): escaped for HTML text and
// attribute values, and always valid UTF-8, whatever a driver printed.

#include <string>
#include <string_view>

namespace proxy::app::report {

// append_escaped: `s` with & < > " ' escaped; an invalid UTF-8 byte and a control character
// other than tab, line feed and carriage return become U+FFFD.
void append_escaped(std::string& out, std::string_view s);
std::string escaped(std::string_view s);

} // namespace proxy::app::report
