#include <proxy/core/tls/tls_keylog.h>

namespace proxy {

namespace {

std::function<void(std::string_view)>& sink() {
    static std::function<void(std::string_view)> s;
    return s;
}

void on_keylog(const SSL* /*ssl*/, const char* line) {
    if (sink()) {
        sink()(line);
    }
}

} // namespace

void set_keylog_sink(std::function<void(std::string_view line)> s) {
    sink() = std::move(s);
}

void install_keylog(SSL_CTX* ctx) {
    if (sink()) {
        SSL_CTX_set_keylog_callback(ctx, on_keylog);
    }
}

} // namespace proxy
