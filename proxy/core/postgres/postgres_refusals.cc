#include <pg/messages.h>
#include <proxy/core/postgres/postgres_refusals.h>

namespace proxy {

std::string host_of(const std::string& address) {
    if (!address.empty() && address.front() == '[') {
        auto end = address.find(']');
        return end == std::string::npos ? address : address.substr(1, end - 1);
    }
    auto colon = address.rfind(':');
    if (colon != std::string::npos && address.find(':') == colon) {
        return address.substr(0, colon);
    }
    return address;
}

std::vector<std::uint8_t> postgres_fatal(std::string_view sqlstate, std::string_view message,
                                         std::string_view detail) {
    return pg::encode(pg::error_response(pg::error("FATAL", sqlstate, message, detail)));
}

std::vector<std::uint8_t> no_pg_hba_entry_without_encryption(const std::string& client_address,
                                                             const std::string& user,
                                                             const std::string& database) {
    return postgres_fatal("28000", "no pg_hba.conf entry for host \"" + host_of(client_address) +
                                       "\", user \"" + user + "\", database \"" + database +
                                       "\", no encryption");
}

std::vector<std::uint8_t> unencrypted_data_after_ssl_request() {
    return postgres_fatal("08P01", "received unencrypted data after SSL request",
                          "This could be either a client-software bug or evidence of an attempted "
                          "man-in-the-middle attack.");
}

} // namespace proxy
