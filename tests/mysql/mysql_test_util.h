#pragma once

// Shared helpers of the mysql codec tests: byte vectors from hex, and the captured sessions in
// tests/mysql/vectors (one framed packet a line: direction, kind, hex; see vectors/README.md).

#include <cstdint>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <support/hex.h>

namespace mysql_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(std::string_view text) {
    return support::from_hex(text);
}

inline Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

struct CapturedPacket {
    char direction = 'S'; // 'C' client, 'S' server
    std::string kind;     // greeting, handshake_response, ok, err, eof, column, ...
    Bytes frame;          // header and payload as on the wire
    std::uint8_t sequence() const { return frame.at(3); }
    Bytes payload() const { return Bytes(frame.begin() + 4, frame.end()); }
};

inline std::vector<CapturedPacket> load_vectors(const std::string& name) {
    // (appended piecewise: GCC 12 at -O2 misreads `std::string(...) + "/" + name`, bug 105329)
    std::string path = MYSQL_VECTORS_DIR;
    path += '/';
    path += name;
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("missing vector file " + path);
    }
    std::vector<CapturedPacket> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream fields(line);
        CapturedPacket p;
        std::string direction;
        std::string text;
        fields >> direction >> p.kind >> text;
        p.direction = direction.at(0);
        p.frame = hex(text);
        out.push_back(std::move(p));
    }
    return out;
}

inline const std::vector<std::string>& vector_files() {
    static const std::vector<std::string> files = {
        "mariadb10.11_cli_query.hex",         "mariadb10.11_cli_db_password.hex",
        "mariadb10.11_cli_ssl_request.hex",   "mariadb10.11_raw_eof.hex",
        "mariadb10.11_raw_deprecate_eof.hex", "mariadb10.11_raw_no_session_track.hex",
        "mysql8.0_docs_greeting.hex",
    };
    return files;
}

// Every captured packet of one kind, from every vector file.
inline std::vector<CapturedPacket> all_of_kind(const std::string& kind) {
    std::vector<CapturedPacket> out;
    for (const auto& file : vector_files()) {
        for (auto& p : load_vectors(file)) {
            if (p.kind == kind) {
                out.push_back(std::move(p));
            }
        }
    }
    return out;
}

} // namespace mysql_test
