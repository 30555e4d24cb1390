#include <proxy/app/report/report_diff.h>

namespace proxy::app::report {

std::expected<Diff, std::string> diff_reports(const nlohmann::json& /*old_report*/,
                                              const nlohmann::json& /*new_report*/,
                                              const DiffOptions& /*options*/) {
    return std::unexpected("not built yet");
}
std::string render_diff_text(const Diff& /*diff*/) {
    return {};
}
std::string render_diff_html(const Diff& /*diff*/) {
    return {};
}

} // namespace proxy::app::report
