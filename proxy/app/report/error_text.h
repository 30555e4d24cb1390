#pragma once

// A driver's error text with the parts that differ from run to run reduced to placeholders, so
// that two runs of the same cell compare equal when only those parts changed (tlslab diff's
// "same verdict, different error text" group).
//
// Theory of operation. One pass over the text, left to right; white space collapses to one
// space and trailing space goes. Where a word starts, these forms are tried in this order and
// the first that matches is replaced:
//   a path under a temporary directory (/tmp/..., /var/folders/...)  -> <tmp>
//   a UUID, 8-4-4-4-12 hex digits (JDBC's ClientConnectionId)        -> <id>
//   a date with an optional time and zone, or a time of day          -> <time>
//   0x and 9 or more hex digits, an address (0x80090325 stays)       -> <addr>
//   16 or more hex digits                                            -> <hex>
//   a number with a unit of time ("15000ms", "2.5 s", "30 seconds")  -> <duration>
//   the port of HOST:PORT (127.0.0.1:41234, [::1]:5432)              -> <port>
//   a number after port, lport or rport ("port 41234")               -> <port>
//   a number after id, pid, connection, thread, session, ... or a
//   camelCase ...Id ("connection id 17", "pid=4242")                 -> <id>
// Every other number stays: error codes, TLS versions and errno values are what the driver
// says. Pure and bounds-checked: any byte string is accepted.

#include <string>

namespace proxy::app::report {

// normalise_error_text replaces the parts of a driver's error that differ from run to run
// (ports, connection and process ids, long hex values and addresses, dates and times,
// durations, temporary paths) with placeholders and collapses white space, so that two runs'
// texts compare equal when only those parts differ.
std::string normalise_error_text(const std::string& text);

} // namespace proxy::app::report
