#include <catch2/catch.hpp>

#include <proxy/app/outputs/record_json.h>

TEST_CASE("the session record has every documented field; a masked password stays masked",
          "[app][records]") {
    proxy::SessionRecord r;
    r.id = 3;
    r.scenario = "expired";
    r.protocol = "tds7";
    r.outcome = proxy::Outcome::Alert;
    r.alert = proxy::TlsAlert{45, "certificate_expired", true};
    proxy::LoginSummary login;
    login.user_name = "lab";
    login.password_length = 12;
    r.login = login;
    auto j = proxy::app::to_json(r);
    for (const char* key : {"event",
                            "id",
                            "started",
                            "ended",
                            "duration_ms",
                            "client",
                            "scenario",
                            "protocol",
                            "client_prelogin",
                            "upstream_answer",
                            "client_answer",
                            "client_leg",
                            "upstream_leg",
                            "certificate_shown",
                            "upstream_certificate",
                            "bytes",
                            "login",
                            "outcome",
                            "alert",
                            "detail"}) {
        INFO(key);
        CHECK(j.contains(key));
    }
    CHECK(j["event"] == "session");
    CHECK(j["outcome"] == "alert");
    CHECK(j["alert"]["name"] == "certificate_expired");
    CHECK(j["login"]["password"].is_null());
    CHECK(j["login"]["password_length"] == 12);
    r.login->password = "s3cret";
    CHECK(proxy::app::to_json(r)["login"]["password"] == "s3cret");
}

TEST_CASE("message records name their session and kind", "[app][records]") {
    proxy::MessageRecord m;
    m.session_id = 9;
    m.kind = "error";
    m.from_client = false;
    m.text = "boom";
    m.number = 50000;
    auto j = proxy::app::to_json(m);
    CHECK(j["event"] == "message");
    CHECK(j["session"] == 9);
    CHECK(j["from"] == "server");
    CHECK(j["number"] == 50000);
}
