// tds_login7: decode_login7 (the client's LOGIN7, strings, SSPI and FeatureExt) and its round
// trip through encode_login7, plus the password (de)obfuscation.
//
// Input: a LOGIN7 payload (all packets joined, without packet headers).

#include <tds/login7.h>

#include "fuzz_support.h"

namespace {

bool same(const tds::Login7& a, const tds::Login7& b) {
    if (a.features.size() != b.features.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.features.size(); ++i) {
        if (a.features[i].id != b.features[i].id || a.features[i].data != b.features[i].data) {
            return false;
        }
    }
    return a.tds_version == b.tds_version && a.packet_size == b.packet_size &&
           a.option_flags1 == b.option_flags1 && a.option_flags2 == b.option_flags2 &&
           a.type_flags == b.type_flags && a.client_lcid == b.client_lcid &&
           a.host_name == b.host_name && a.user_name == b.user_name && a.password == b.password &&
           a.app_name == b.app_name && a.server_name == b.server_name &&
           a.library_name == b.library_name && a.language == b.language &&
           a.database == b.database && a.attach_db_file == b.attach_db_file &&
           a.change_password == b.change_password && a.client_id == b.client_id && a.sspi == b.sspi;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    auto wire = tds::obfuscate_password(in);
    fuzz::check(tds::deobfuscate_password(wire) == std::vector<std::uint8_t>(in.begin(), in.end()),
                "password obfuscation round trip");

    auto login = tds::decode_login7(in);
    if (!login) {
        return 0;
    }
    (void)tds::to_string(login->auth_kind());
    (void)login->feature(tds::feature_id::kTerminator);
    // The offsets of LOGIN7 are 16-bit: a decoded login whose variable part would not fit one
    // message (strings re-used by several offsets) cannot be written back.
    std::size_t variable = login->sspi.size();
    for (const auto* s : {&login->host_name, &login->user_name, &login->password, &login->app_name,
                          &login->server_name, &login->library_name, &login->language,
                          &login->database, &login->attach_db_file, &login->change_password}) {
        variable += s->size() * 2;
    }
    for (const auto& f : login->features) {
        variable += f.data.size() + 5;
    }
    if (variable > 16 * 1024) {
        return 0;
    }
    auto once = tds::decode_login7(tds::encode_login7(*login));
    fuzz::check(once.has_value(), "encode_login7 output decodes");
    auto twice = tds::decode_login7(tds::encode_login7(*once));
    fuzz::check(twice.has_value() && same(*once, *twice), "LOGIN7 round trip");
    return 0;
}
