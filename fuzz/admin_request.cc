// admin_request: the admin API's request bodies and ids (proxy/app/admin/admin_requests.h):
// the JSON body parser, then the rule validation (RuleBook::add) and the rule's JSON form, as
// POST /rules and PUT /listeners/{id}/scenario read them; and parse_id for /rules/{id},
// /sessions/{id} and ?after=.
//
// Input: byte 0 even: a request body; odd: an id's text.

#include <proxy/app/admin/admin_requests.h>
#include <proxy/app/lab/rule_book.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    std::string_view text = fuzz::as_text(fuzz::Bytes(data + 1, size - 1));
    if ((data[0] & 1) != 0) {
        std::uint64_t id = proxy::app::parse_id(text);
        if (id != 0) {
            fuzz::check(std::to_string(id).size() <= text.size(), "an id is its digits");
        }
        return 0;
    }
    auto body = proxy::app::parse_json_body(text);
    if (!body) {
        return 0;
    }
    // What the server sends back is dumped with invalid UTF-8 replaced.
    (void)body->dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    proxy::app::RuleBook rules;
    auto rule = rules.add(*body);
    if (!rule) {
        fuzz::check(!rule.error().empty(), "an error says what is wrong");
        return 0;
    }
    auto j = proxy::app::to_json(*rule);
    (void)j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    fuzz::check(rules.all().size() == 1, "the rule is kept");
    (void)rules.match(proxy::app::RuleStage::Accept, "l", "127.0.0.1", std::nullopt, std::nullopt);
    // A "count" rule is used up by its last match and leaves the book by itself.
    fuzz::check(rules.remove(rule->id) || rules.all().empty(), "the rule can be removed");
    return 0;
}
