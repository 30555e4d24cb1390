#pragma once

#include <nlohmann/json.hpp>

#include <certs/certificate_info.h>
#include <proxy/core/session/session_record.h>
#include <scenarios/scenario.h>

namespace proxy::app {

// The JSON forms of what tlslab reports: one object per line in --events files, and the bodies
// of the admin API later. Field names are the record's vocabulary; absent facts are null.
nlohmann::json to_json(const SessionRecord& r);
nlohmann::json to_json(const MessageRecord& m);
nlohmann::json to_json(const certs::CertificateInfo& c);
nlohmann::json to_json(const scenarios::Scenario& s);

} // namespace proxy::app
