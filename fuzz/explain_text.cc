// explain_text: `tlslab explain`'s pasted text (any error message a user pastes): the match
// against the built-in knowledge base, which normalises the text first; and
// KnowledgeBase::parse, which reads a knowledge file (JSON).
//
// Input: byte 0 even: pasted text; odd: a knowledge file.

#include <proxy/app/explain/knowledge_base.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    std::string_view text = fuzz::as_text(fuzz::Bytes(data + 1, size - 1));
    namespace explain = proxy::app::explain;
    if ((data[0] & 1) == 0) {
        const auto& kb = explain::KnowledgeBase::builtin();
        auto matches = kb.match(text);
        for (std::size_t i = 1; i < matches.size(); ++i) {
            fuzz::check(matches[i - 1].score >= matches[i].score, "matches best first");
        }
        return 0;
    }
    if (auto kb = explain::KnowledgeBase::parse(text)) {
        (void)kb->match("login failed for user 'sa'");
    }
    return 0;
}
