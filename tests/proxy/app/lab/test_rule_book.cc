#include <catch2/catch.hpp>

#include <proxy/app/lab/rule_book.h>

using nlohmann::json;
using proxy::app::RuleBook;
using proxy::app::RuleStage;

TEST_CASE("rules validate their body", "[app][rules]") {
    RuleBook book;
    CHECK_THAT(book.add(json::array()).error(), Catch::Contains("JSON object"));
    CHECK_THAT(book.add({{"count", 1}}).error(), Catch::Contains("scenario is required"));
    CHECK_THAT(book.add({{"scenario", "x"}}).error(), Catch::Contains("exactly one"));
    CHECK_THAT(book.add({{"scenario", "x"}, {"count", 1}, {"sni", "a"}}).error(),
               Catch::Contains("exactly one"));
    CHECK_THAT(book.add({{"scenario", "x"}, {"count", 0}}).error(), Catch::Contains("above 0"));
    CHECK_THAT(book.add({{"scenario", "x"}, {"count", -3}}).error(), Catch::Contains("above 0"));
    CHECK_THAT(book.add({{"scenario", "x"}, {"sni", 5}}).error(), Catch::Contains("sni must be"));
    CHECK_THAT(book.add({{"scenario", "x"}, {"count", 1}, {"colour", "red"}}).error(),
               Catch::Contains("unknown field 'colour'"));
    CHECK(book.all().empty());
}

TEST_CASE("a count rule hits exactly N connections, then is gone", "[app][rules]") {
    RuleBook book;
    auto r = book.add({{"scenario", "expired"}, {"count", 2}});
    REQUIRE(r);
    CHECK(book.match(RuleStage::Accept, "valid", "127.0.0.1", {}, {}) == "expired");
    CHECK(book.match(RuleStage::Accept, "valid", "127.0.0.1", {}, {}) == "expired");
    CHECK_FALSE(book.match(RuleStage::Accept, "valid", "127.0.0.1", {}, {}));
    CHECK(book.all().empty());
}

TEST_CASE("matchers apply at their own stage, listener filters apply", "[app][rules]") {
    RuleBook book;
    REQUIRE(book.add({{"scenario", "a"}, {"client_address", "10.1.1.1"}}));
    REQUIRE(book.add({{"scenario", "b"}, {"prelogin_version", "19.2"}, {"listener", "valid"}}));
    REQUIRE(book.add({{"scenario", "c"}, {"sni", "db.lab.test"}}));
    CHECK(book.match(RuleStage::Accept, "valid", "10.1.1.1", {}, {}) == "a");
    CHECK_FALSE(book.match(RuleStage::Accept, "valid", "10.1.1.2", {}, {}));
    CHECK(book.match(RuleStage::Prelogin, "valid", "x", std::string("19.2.2.0"), {}) == "b");
    CHECK_FALSE(book.match(RuleStage::Prelogin, "other", "x", std::string("19.2.2.0"), {}));
    CHECK_FALSE(book.match(RuleStage::Prelogin, "valid", "x", std::string("18.6.2.0"), {}));
    CHECK(book.match(RuleStage::ClientHello, "any", "x", {}, std::string("db.lab.test")) == "c");
    CHECK_FALSE(book.match(RuleStage::Accept, "any", "x", {}, std::string("db.lab.test")));
    CHECK(book.all()[2].hits == 1);
    CHECK(book.remove(book.all()[0].id));
    CHECK_FALSE(book.remove(999));
    CHECK_FALSE(book.match(RuleStage::Accept, "valid", "10.1.1.1", {}, {}));
}
