// tds_prelogin: Prelogin::parse (client request and server answer), its accessors, the in-place
// ENCRYPTION patch and without() (the proxy's rewrites), and PreloginBuilder.
//
// Input: a PRELOGIN payload (without the packet header).

#include <tds/prelogin.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    auto parsed = tds::Prelogin::parse(in);
    if (!parsed) {
        return 0;
    }
    tds::Prelogin p = *parsed;
    fuzz::check(std::vector<std::uint8_t>(in.begin(), in.end()) == p.bytes(), "lossless bytes");
    for (const auto& o : p.options()) {
        auto d = p.option_data(o.token);
        fuzz::check(d.has_value(), "listed option has data");
    }
    auto version = p.version();
    if (version) {
        (void)version->to_string();
    }
    auto encryption = p.encryption();
    (void)p.instance();
    (void)p.instance_status();
    (void)p.thread_id();
    (void)p.mars();
    (void)p.fedauth_required();

    // The proxy removes options it does not relay (NONCEOPT, FEDAUTHREQUIRED, ...).
    for (std::uint8_t token : {tds::prelogin_token::kNonceOpt, tds::prelogin_token::kEncryption,
                               tds::prelogin_token::kFedAuthRequired}) {
        auto shorter = tds::Prelogin::parse(p.without(token));
        fuzz::check(shorter.has_value(), "without() gives a valid PRELOGIN");
        fuzz::check(!shorter->option_data(token).has_value(), "without() removes the option");
        fuzz::check(shorter->options().size() <= p.options().size(), "without() only removes");
    }
    if (encryption) {
        fuzz::check(p.set_encryption(0x03), "set_encryption on a present option");
        fuzz::check(p.encryption() == std::optional<std::uint8_t>(0x03), "set_encryption sets");
        fuzz::check(p.bytes().size() == in.size(), "set_encryption patches in place");
    }

    // Rebuild the known options with the builder and read them back.
    tds::PreloginBuilder b;
    if (version) {
        b.version(*version);
    }
    if (encryption) {
        b.encryption(*encryption);
    }
    auto rebuilt = tds::Prelogin::parse(b.build());
    fuzz::check(rebuilt.has_value(), "builder output parses");
    if (version) {
        auto v = rebuilt->version();
        fuzz::check(v && v->major == version->major && v->minor == version->minor &&
                        v->build == version->build && v->sub_build == version->sub_build,
                    "version round trip");
    }
    if (encryption) {
        fuzz::check(rebuilt->encryption() == encryption, "encryption round trip");
    }
    return 0;
}
