// scenario_toml: the scenario loader (TOML text -> Scenario), which reads files users write and
// the bodies of `tlslab scenarios` commands: toml++ parsing and every key's validation.
//
// Input: the text of one scenario file.

#include <scenarios/catalogue.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(fuzz::Bytes(data, size));
    auto s = scenarios::parse_scenario(text, "fuzz.toml");
    if (!s) {
        fuzz::check(!s.error().empty(), "an error says what is wrong");
        return 0;
    }
    scenarios::Catalogue catalogue;
    (void)catalogue.add_text(text, "fuzz.toml");
    return 0;
}
